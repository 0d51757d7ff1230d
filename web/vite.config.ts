// The web app's build. `pnpm --filter @noodlenet/web build` writes web/dist, which the signalling server serves.

import { defineConfig } from 'vite'

export default defineConfig({
  root: import.meta.dirname,
  // libp2p, noise and yamux are most of the bundle (~190 KB gzip, budget 300 KB): one chunk is fine.
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 800 },
})
