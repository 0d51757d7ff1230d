// Builds the publishable `noodlenet` package's dist/ with tsdown (docs/decisions/0008-packaging.md): JavaScript and
// bundled .d.ts for `noodlenet/node` and `noodlenet/browser`. The workspace's own packages (@noodlenet/*) are not
// published, so they are bundled in; every other package stays an import, a dependency of the packed package.
// The workers are files of their own beside each entry, found where the code names them by URL: on Node the pool's
// `./kernel-worker.mjs` and Dawn's child process `./dawn-host.mjs`; in browsers `./kernel-worker.js` and
// `./gpu-worker.js`, each with everything it imports inside.
//   node --import tsx packages/noodlenet/scripts/build.ts OUT_DIR   (writes OUT_DIR/dist)

import { existsSync } from 'node:fs'
import { readdir, readFile, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type InlineConfig, type Rolldown } from 'tsdown'

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url))

/** The workspace's packages: bundled, never dependencies of the packed package. */
const WORKSPACE_PACKAGE = /^@noodlenet\//

/** A bare specifier naming a registry package (not `node:fs`, `#subpath`, `./file` or an absolute path), other
 *  than ours and tsx's loader (see noTsxLoader). */
function isThirdParty(id: string): boolean {
  return /^(@[\w-][\w.-]*\/)?[\w-][\w.-]*(\/|$)/.test(id) && !id.startsWith('node:') && !WORKSPACE_PACKAGE.test(id) && id !== 'tsx/esm/api'
}

/** The workspace's worker entries (node/src/exec/kernel-worker.mjs, webgpu's dawn-host.mjs) register tsx before
 *  importing TypeScript (docs/decisions/0002); built, they are JavaScript already, so the loader is a no-op here
 *  and the package does not depend on tsx. The module such an entry imports only to run it (`await
 *  import('./dawn-host.ts')`) is marked as having side effects: packages/webgpu says `"sideEffects": false`, and
 *  Rolldown would drop it. */
const noTsxLoader = {
  name: 'noodlenet:no-tsx-loader',
  async resolveId(this: Rolldown.PluginContext, id: string, importer: string | undefined) {
    if (id === 'tsx/esm/api') return '\0no-tsx-loader'
    if (importer === undefined || !importer.endsWith('.mjs') || !/^\.\/[\w-]+\.ts$/.test(id)) return null
    // Run for its side effects even in a package that says `"sideEffects": false` (packages/webgpu).
    const resolved = await this.resolve(id, importer, { skipSelf: true })
    return resolved === null ? null : { id: resolved.id, moduleSideEffects: true }
  },
  load: (id: string) => (id === '\0no-tsx-loader' ? 'export function register() {}' : null),
}

/** Finds the worker scripts the bundled code starts by URL, `new URL('./NAME.EXT', import.meta.url)` (a Node
 *  worker's or child process's `.mjs` entry; a browser Worker's `.ts` module), and records each source as an entry
 *  of a build of its own. In browser code the reference becomes the built `./NAME.js` (in the workspace Vite bundles
 *  the `.ts` itself). */
function workerScripts(extension: '.mjs' | '.ts', found: Map<string, string>) {
  const reference = new RegExp(`new URL\\('\\./([\\w-]+)\\${extension}', import\\.meta\\.url\\)`, 'g')
  return {
    name: 'noodlenet:worker-scripts',
    transform(code: string, id: string) {
      if (id.includes('/node_modules/') || !code.includes('import.meta.url')) return null
      let rewritten = false
      const out = code.replace(reference, (match, name: string) => {
        const path = join(dirname(id), `${name}${extension}`)
        if (!existsSync(path)) return match // an example in a comment
        found.set(name, path)
        if (extension === '.mjs') return match
        rewritten = true
        return `new URL('./${name}.js', import.meta.url)`
      })
      return rewritten ? out : null
    },
  }
}

/** Declarations from tsc over this package and the workspace sources it bundles (tsconfig.build.json). */
const DTS = { tsconfig: join(PACKAGE_DIR, 'tsconfig.build.json'), eager: true }

/** What every build shares; `platform` picks the resolve conditions (webrtc's `#rtc-peer-factory`), target and
 *  extension (`.mjs` on Node, where the pool names `./kernel-worker.mjs`). */
function common(platform: 'node' | 'browser', outDir: string): InlineConfig {
  return {
    cwd: PACKAGE_DIR,
    outDir: join(outDir, 'dist', platform),
    platform,
    target: platform === 'node' ? 'node20' : 'es2022',
    fixedExtension: platform === 'node',
    format: 'esm',
    config: false,
    logLevel: 'warn',
    clean: false,
    treeshake: true,
    deps: { neverBundle: (id: string) => isThirdParty(id), alwaysBundle: [WORKSPACE_PACKAGE] },
  }
}

/** Builds `outDir/dist/{node,browser}`; returns the files written, relative to outDir. */
export async function buildPackage(outDir: string): Promise<string[]> {
  const dist = join(outDir, 'dist')
  await rm(dist, { recursive: true, force: true })
  const nodeWorkers = new Map<string, string>()
  const nodeEntry = { index: join(PACKAGE_DIR, 'src/node/index.ts') }
  await build({ ...common('node', outDir), entry: nodeEntry, plugins: [workerScripts('.mjs', nodeWorkers)], dts: DTS })
  await build({ ...common('node', outDir), entry: Object.fromEntries(nodeWorkers), plugins: [noTsxLoader], dts: false })

  const browserWorkers = new Map<string, string>()
  const browserEntries = { index: join(PACKAGE_DIR, 'src/browser/index.ts'), stores: join(PACKAGE_DIR, 'src/browser/stores.ts') }
  await build({ ...common('browser', outDir), entry: browserEntries, plugins: [workerScripts('.ts', browserWorkers)], dts: DTS })
  // A browser worker is loaded by URL, where nothing resolves its imports: everything it needs is inside it.
  const selfContained = { alwaysBundle: [/./], onlyBundle: false as const }
  await build({ ...common('browser', outDir), entry: Object.fromEntries(browserWorkers), deps: selfContained, dts: false })
  return (await readdir(dist, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(outDir.length + 1))
    .sort()
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2]
  if (out === undefined) throw new Error('usage: build.ts OUT_DIR')
  for (const file of await buildPackage(out)) console.log(`${file}  ${(await readFile(join(out, file))).byteLength} bytes`)
}
