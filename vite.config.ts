// Root Vitest configuration: one project per package and runtime. shared/ runs twice, in Node and in headless
// Chromium (Vitest browser mode with Debian's chromium, see docs/NODE20.md and MACHINE notes in docs/TESTING.md).

import { playwright } from '@vitest/browser-playwright'
import { defineConfig } from 'vitest/config'

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'shared-node',
          include: ['shared/test/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['node/src/shims.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'shared-browser',
          include: ['shared/test/**/*.test.ts'],
          testTimeout: 30_000,
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({
              launchOptions: {
                executablePath: chromiumPath,
                args: [
                  '--no-sandbox',
                  '--no-first-run',
                  '--disable-background-networking',
                  '--disable-component-update',
                  '--disable-sync',
                  '--disable-quic',
                ],
              },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
      {
        test: {
          name: 'node',
          include: ['node/test/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['node/src/shims.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
})
