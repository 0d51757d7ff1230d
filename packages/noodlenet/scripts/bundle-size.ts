// The size of what a web app ships when it embeds `noodlenet/browser`: the browser entry bundled on its own with
// Vite (every dependency inside, minified, es2022), gzipped. The budget, BUNDLE_BUDGET_GZIP_BYTES, holds the entry
// chunk: what every page that embeds the package loads. Chunks loaded on demand (the WebGPU kernels where there is
// a GPU) and the kernel worker script are reported beside it. CI checks it (web/test/bundle-size.test.ts);
// `pnpm bench bundle` reports it. Run directly for a report:
//   node --import tsx packages/noodlenet/scripts/bundle-size.ts

import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build, type Rolldown } from 'vite'

/** The budget (libp2p holds its core to ~95 KB; ours adds noise, yamux, gossipsub, WebRTC and socket.io). */
export const BUNDLE_BUDGET_GZIP_BYTES = 300 * 1024

const ENTRY = fileURLToPath(new URL('../src/browser/index.ts', import.meta.url))

export interface BundleSize {
  /** The entry chunk, minified and gzipped: what every embedding page loads. */
  entryBytes: number
  entryGzipBytes: number
  /** Minified bytes of all JavaScript chunks and worker scripts. */
  bytes: number
  /** The same, gzipped chunk by chunk (what a server sends). */
  gzipBytes: number
  chunks: number
  /** The largest packages by rendered size (before minification), to see what to cut. */
  largest: Array<{ module: string; bytes: number }>
}

export async function measureBrowserBundle(): Promise<BundleSize> {
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    resolve: { conditions: ['browser', 'module', 'import', 'default'] },
    build: {
      write: false,
      target: 'es2022',
      minify: true,
      lib: { entry: ENTRY, formats: ['es'], fileName: 'noodlenet' },
    },
  })
  const outputs = (Array.isArray(result) ? result : [result]) as Rolldown.RolldownOutput[]
  let bytes = 0
  let gzipBytes = 0
  let entryBytes = 0
  let entryGzipBytes = 0
  let chunks = 0
  const modules = new Map<string, number>()
  for (const output of outputs) {
    for (const item of output.output) {
      // Worker scripts come out as assets.
      const code = item.type === 'chunk' ? Buffer.from(item.code) : item.fileName.endsWith('.js') ? Buffer.from(item.source) : undefined
      if (code === undefined) continue
      chunks++
      const gzipped = gzipSync(code, { level: 9 }).byteLength
      bytes += code.byteLength
      gzipBytes += gzipped
      if (item.type === 'chunk' && item.isEntry) {
        entryBytes += code.byteLength
        entryGzipBytes += gzipped
      }
      if (item.type !== 'chunk') continue
      for (const [id, info] of Object.entries(item.modules)) {
        const name = packageOf(id)
        modules.set(name, (modules.get(name) ?? 0) + info.renderedLength)
      }
    }
  }
  const largest = [...modules.entries()]
    .map(([module, size]) => ({ module, bytes: size }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 12)
  return { entryBytes, entryGzipBytes, bytes, gzipBytes, chunks, largest }
}

/** `…/node_modules/.pnpm/x@1/node_modules/@scope/name/…` → `@scope/name`; our own files by folder. */
function packageOf(id: string): string {
  const inModules = id.split('/node_modules/').at(-1)
  if (inModules !== undefined && inModules !== id) {
    const parts = inModules.split('/')
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
  }
  const ours = /\/(shared|packages\/[^/]+)\/src\//.exec(id)
  return ours === null ? id : ours[1]
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const size = await measureBrowserBundle()
  const kb = (n: number): string => `${(n / 1024).toFixed(1)} KB`
  console.log(
    `noodlenet/browser entry: ${kb(size.entryBytes)} minified, ${kb(size.entryGzipBytes)} gzip (budget ${kb(BUNDLE_BUDGET_GZIP_BYTES)}); ` +
      `all ${size.chunks} chunks and workers: ${kb(size.gzipBytes)} gzip`,
  )
  for (const { module, bytes } of size.largest) console.log(`  ${module.padEnd(40)} ${kb(bytes)} rendered`)
  process.exitCode = size.entryGzipBytes <= BUNDLE_BUDGET_GZIP_BYTES ? 0 : 1
}
