// Makes the publishable `noodlenet` tarball (docs/decisions/0008-packaging.md): builds dist/ (scripts/build.ts) into
// a staging folder, writes the published package.json there (exports for ./node and ./browser, the files, and as
// dependencies exactly the registry packages dist/ imports, at the ranges the workspace declares), adds the README
// and runs `npm pack`. Nothing is written inside the repository.
//   node --import tsx packages/noodlenet/scripts/pack.ts [OUT_DIR]   (default: a new folder under the OS temp dir)
// Prints one JSON line: the tarball's path, its size and its files.

import { execFile } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { isBuiltin } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { buildPackage } from './build.js'

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url))
const WORKSPACE_DIR = join(PACKAGE_DIR, '../..')
/** The workspace packages bundled into dist/: their dependencies are the candidates for the packed package's. */
const BUNDLED_PACKAGES = ['packages/noodlenet', 'shared', 'node', 'packages/webrtc', 'packages/webgpu']

interface Manifest {
  name: string
  version: string
  description?: string
  license?: string
  engines?: Record<string, string>
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
}

export interface PackResult {
  tarball: string
  /** The staging folder `npm pack` packed (the package as it unpacks). */
  staging: string
  size: number
  unpackedSize: number
  files: string[]
  manifest: Record<string, unknown>
}

const readManifest = async (dir: string): Promise<Manifest> => JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Manifest

/** `@scope/name/sub/path.js` → `@scope/name`; `name/sub` → `name`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
}

/** Import and export statements (which the bundler writes at the start of a line, unlike an example in a bundled
 *  comment), and dynamic imports, of a specifier that is not relative. */
export const BARE_IMPORT =
  /^(?:import|export)\b[^\n]*?\bfrom\s*["']([^"'./][^"']*)["']|^import\s*["']([^"'./][^"']*)["']|\bimport\(\s*["']([^"'./][^"']*)["']\s*\)/gm

/** The registry packages a built file imports (statically, dynamically or in a type). */
export function importedPackages(code: string): Set<string> {
  const names = new Set<string>()
  for (const match of code.matchAll(BARE_IMPORT)) {
    const specifier = match[1] ?? match[2] ?? match[3]
    if (!isBuiltin(specifier)) names.add(packageName(specifier))
  }
  return names
}

/** dependencies / optionalDependencies of the packed package: each package dist/ imports, at the range a bundled
 *  workspace package declares for it (optional where the workspace has it optional). */
async function dependenciesOf(imported: Set<string>): Promise<Pick<Manifest, 'dependencies' | 'optionalDependencies'>> {
  const declared = new Map<string, { range: string; optional: boolean }>()
  for (const dir of BUNDLED_PACKAGES) {
    const manifest = await readManifest(join(WORKSPACE_DIR, dir))
    for (const [name, range] of Object.entries(manifest.optionalDependencies ?? {})) declared.set(name, { range, optional: true })
    for (const [name, range] of Object.entries(manifest.dependencies ?? {})) {
      if (!declared.has(name)) declared.set(name, { range, optional: false })
    }
  }
  const dependencies: Record<string, string> = {}
  const optionalDependencies: Record<string, string> = {}
  for (const name of [...imported].sort()) {
    const found = declared.get(name)
    if (found === undefined || found.range.startsWith('workspace:')) {
      throw new Error(`dist/ imports ${name}, which no bundled workspace package declares: add it to the package.json that uses it`)
    }
    ;(found.optional ? optionalDependencies : dependencies)[name] = found.range
  }
  return { dependencies, optionalDependencies }
}

/** The files' exports: `types` first, as TypeScript reads the conditions in order. */
const EXPORTS = {
  './node': { types: './dist/node/index.d.mts', import: './dist/node/index.mjs' },
  './browser': { types: './dist/browser/index.d.ts', import: './dist/browser/index.js' },
  './browser/stores': { types: './dist/browser/stores.d.ts', import: './dist/browser/stores.js' },
  './package.json': './package.json',
}

export async function packPackage(outDir?: string): Promise<PackResult> {
  const out = outDir ?? (await mkdtemp(join(tmpdir(), 'noodlenet-pack-')))
  const staging = join(out, 'package')
  await mkdir(staging, { recursive: true })
  const files = await buildPackage(staging)
  const imported = new Set<string>()
  for (const file of files) for (const name of importedPackages(await readFile(join(staging, file), 'utf8'))) imported.add(name)

  const source = await readManifest(PACKAGE_DIR)
  const root = await readManifest(WORKSPACE_DIR)
  const manifest = {
    name: source.name,
    version: source.version,
    description: source.description,
    license: source.license,
    type: 'module',
    exports: EXPORTS,
    files: ['dist', 'README.md'],
    // The Node entry installs Node 20 shims when loaded; the browser entry has no side effects.
    sideEffects: ['./dist/node/*'],
    engines: root.engines,
    ...(await dependenciesOf(imported)),
  }
  await writeFile(join(staging, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  await copyFile(join(PACKAGE_DIR, 'README.md'), join(staging, 'README.md'))

  const { stdout } = await promisify(execFile)('npm', ['pack', '--json', '--pack-destination', out], { cwd: staging })
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> }>
  return {
    tarball: join(out, packed.filename),
    staging,
    size: packed.size,
    unpackedSize: packed.unpackedSize,
    files: packed.files.map((file) => file.path).sort(),
    manifest,
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await packPackage(process.argv[2])
  console.log(JSON.stringify(result))
}
