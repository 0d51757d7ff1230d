// The published `noodlenet` package (packages/noodlenet/scripts/pack.ts): the tarball holds both entries with their
// types and kernel workers and none of the workspace's sources; unpacked outside the repository, with only the
// dependencies it declares beside it (linked from the workspace's install), `noodlenet/node` starts a node in a
// plain `node` process (no tsx) that runs a kernel on its worker pool (and one on Dawn, where there is a Vulkan
// driver for it), `noodlenet/browser` bundled by a Vite app runs one in its Web Worker in Chromium, and the .d.ts
// files type-check a consumer.

import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../../web/test/support/browser.js'
import { CHROMIUM_PATH } from './support/chromium.js'

const run = promisify(execFile)
const WORKSPACE = fileURLToPath(new URL('../../', import.meta.url))
/** Chromium's software Vulkan driver, which Dawn takes when the machine has no GPU (decisions/0007). */
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json'
const DECLARING_PACKAGES = ['packages/noodlenet', 'shared', 'node', 'packages/webrtc', 'packages/webgpu']

/** The part of Vite's API used here (node/ does not depend on Vite; packages/noodlenet does). */
interface ViteApi {
  build(config: Record<string, unknown>): Promise<unknown>
  preview(config: Record<string, unknown>): Promise<{ resolvedUrls: { local: string[] } | null; close(): Promise<void> }>
}

interface Packed {
  tarball: string
  size: number
  files: string[]
}

interface Manifest {
  name: string
  exports: Record<string, unknown>
  files: string[]
  dependencies: Record<string, string>
  optionalDependencies?: Record<string, string>
}

let dir: string
let packed: Packed
/** The tarball unpacked: `<dir>/package`. */
let unpacked: string
let manifest: Manifest
/** A consumer project whose node_modules/noodlenet is the unpacked package. */
let consumer: string

/** Where the workspace's install has `name` for the package that declares it. */
async function installed(name: string): Promise<string> {
  for (const declaring of DECLARING_PACKAGES) {
    try {
      return await realpath(join(WORKSPACE, declaring, 'node_modules', name))
    } catch {}
  }
  throw new Error(`${name} is not installed for any of ${DECLARING_PACKAGES.join(', ')}`)
}

async function link(target: string, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  await symlink(target, path, 'dir')
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noodlenet-pack-test-'))
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'packages/noodlenet/scripts/pack.ts', join(dir, 'out')], {
    cwd: WORKSPACE,
    timeout: 110_000,
    maxBuffer: 16 * 1024 * 1024,
  })
  packed = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Packed
  await run('tar', ['xzf', packed.tarball, '-C', dir])
  unpacked = join(dir, 'package')
  manifest = JSON.parse(await readFile(join(unpacked, 'package.json'), 'utf8')) as Manifest
  // Only what the package declares, so an undeclared import fails to resolve.
  const declared = { ...manifest.dependencies, ...manifest.optionalDependencies }
  for (const name of Object.keys(declared)) await link(await installed(name), join(unpacked, 'node_modules', name))
  consumer = join(dir, 'consumer')
  await link(unpacked, join(consumer, 'node_modules', 'noodlenet'))
  await link(await realpath(join(WORKSPACE, 'node_modules/@types/node')), join(consumer, 'node_modules/@types/node'))
  await writeFile(join(consumer, 'package.json'), '{ "type": "module" }\n')
}, 120_000)

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

describe('npm pack of packages/noodlenet', () => {
  it('holds both entries, their bundled types and kernel workers, and no workspace sources', async () => {
    expect(packed.files).toEqual(
      expect.arrayContaining([
        'README.md',
        'package.json',
        'dist/node/index.mjs',
        'dist/node/index.d.mts',
        'dist/node/kernel-worker.mjs',
        'dist/node/dawn-host.mjs',
        'dist/browser/index.js',
        'dist/browser/index.d.ts',
        'dist/browser/stores.js',
        'dist/browser/stores.d.ts',
        'dist/browser/kernel-worker.js',
        'dist/browser/gpu-worker.js',
      ]),
    )
    expect(packed.files.filter((file) => !file.startsWith('dist/') && !['README.md', 'package.json'].includes(file))).toEqual([])
    expect(packed.files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.endsWith('.d.mts'))).toEqual([])
    expect(packed.size).toBeLessThan(1024 * 1024)

    expect(manifest.name).toBe('noodlenet')
    expect(manifest.exports).toMatchObject({
      './node': { types: './dist/node/index.d.mts', import: './dist/node/index.mjs' },
      './browser': { types: './dist/browser/index.d.ts', import: './dist/browser/index.js' },
    })
    // `types` first: TypeScript takes the first condition that matches.
    expect(Object.keys(manifest.exports['./node'] as object)[0]).toBe('types')

    // The workspace's packages are inside, not dependencies; the registry ones are, at the workspace's ranges.
    const all = { ...manifest.dependencies, ...manifest.optionalDependencies }
    expect(Object.keys(all).filter((name) => name.startsWith('@noodlenet/') || name === 'tsx')).toEqual([])
    const shared = JSON.parse(await readFile(join(WORKSPACE, 'shared/package.json'), 'utf8')) as Manifest
    for (const name of ['libp2p', '@chainsafe/libp2p-noise', '@chainsafe/libp2p-yamux', 'valibot', 'cborg']) {
      expect(manifest.dependencies[name], name).toBe(shared.dependencies[name])
    }
    for (const name of ['@libp2p/tcp', '@libp2p/websockets', 'simple-peer', '@roamhq/wrtc', 'ws'])
      expect(manifest.dependencies).toHaveProperty(name)
    expect(manifest.optionalDependencies).toHaveProperty('webgpu')

    for (const file of packed.files.filter((name) => name.startsWith('dist/'))) {
      const code = await readFile(join(unpacked, file), 'utf8')
      expect(code, file).not.toMatch(/(from|import)\s*\(?\s*["'](@noodlenet\/|tsx)/)
    }
  })

  it('the browser entry names worker files that are in the package and need no resolver', async () => {
    const entry = await readFile(join(unpacked, 'dist/browser/index.js'), 'utf8')
    const workers = [...entry.matchAll(/new Worker\(new URL\("\.\/([\w-]+\.js)", import\.meta\.url\)/g)].map((match) => match[1]).sort()
    expect(workers).toEqual(['gpu-worker.js', 'kernel-worker.js'])
    for (const worker of workers) {
      const code = await readFile(join(unpacked, 'dist/browser', worker), 'utf8')
      // Loaded by URL: only relative imports (its own chunks), no package names (the bundler writes import
      // statements at the start of a line; bundled comments hold examples of others).
      expect(code, worker).not.toMatch(/^(import|export)\b[^\n]*?\bfrom\s*["'][^."'/]|^import\s*["'][^."'/]|\bimport\(\s*["'][^."'/]/m)
    }
  })

  it('dist/node starts a node in a plain node process and runs a kernel on its worker pool', async () => {
    await writeFile(
      join(consumer, 'run-echo.mjs'),
      `import { createNode } from 'noodlenet/node'
const node = await createNode({ config: { network: { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false }, monitoring: { logLevel: 'WARNING' } } })
const stages = []
const output = await node.run('echo', { hello: 'packed' }, { onProgress: (p) => stages.push(p.stage) })
console.log(JSON.stringify({ output, stages, kernels: node.profile().kernels, peer: node.peerId.toString() }))
await node.stop()
`,
    )
    const { stdout, stderr } = await run(process.execPath, ['run-echo.mjs'], { cwd: consumer, timeout: 30_000 })
    expect(stderr).toBe('')
    const result = JSON.parse(stdout) as { output: unknown; stages: string[]; kernels: string[]; peer: string }
    expect(result.output).toEqual({ hello: 'packed' })
    expect(result.stages).toEqual(['queued', 'placed', 'done'])
    expect(result.kernels).toEqual(expect.arrayContaining(['echo', 'matmul', 'saxpy']))
    expect(result.peer).toMatch(/^12D3KooW/)
  })

  it.skipIf(!existsSync(SWIFTSHADER))('dist/node runs a GPU kernel on Dawn in its child process (SwiftShader here)', async () => {
    await writeFile(
      join(consumer, 'run-gpu.mjs'),
      `import { createNode } from 'noodlenet/node'
const node = await createNode({ config: { network: { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false }, scheduler: { gpu: 'any' }, monitoring: { logLevel: 'WARNING' } } })
const { output, backend } = await node.tasks.submit('matmul', { a: [[1, 2], [3, 4]], b: [[5, 6], [7, 8]] }, { requires: { gpu: true } })
console.log(JSON.stringify({ output, backend }))
await node.stop()
`,
    )
    const { stdout } = await run(process.execPath, ['run-gpu.mjs'], { cwd: consumer, timeout: 45_000 })
    expect(JSON.parse(stdout)).toEqual({
      output: [
        [19, 22],
        [43, 50],
      ],
      backend: 'webgpu',
    })
  })

  it.skipIf(!existsSync(CHROMIUM_PATH))('dist/browser, bundled by a Vite app, runs a kernel in its Web Worker in Chromium', async () => {
    const app = join(dir, 'web-app')
    await link(unpacked, join(app, 'node_modules', 'noodlenet'))
    await writeFile(join(app, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>\n')
    await writeFile(
      join(app, 'main.js'),
      `import { createNode } from 'noodlenet/browser'
try {
  const node = await createNode({ database: 'packed-noodlenet', gpu: false, config: { monitoring: { logLevel: 'WARNING' } } })
  const stages = []
  const output = await node.run('matmul', { a: [[1, 2]], b: [[3], [4]] }, { onProgress: (p) => stages.push(p.stage) })
  window.result = { output, stages }
  await node.stop()
} catch (err) {
  window.result = { error: String(err?.stack ?? err) }
}
`,
    )
    // The Vite the workspace builds browser code with (packages/noodlenet's).
    const vitePath = createRequire(join(WORKSPACE, 'packages/noodlenet/package.json')).resolve('vite')
    const vite = (await import(pathToFileURL(vitePath).href)) as ViteApi
    await vite.build({ root: app, configFile: false, logLevel: 'error', build: { outDir: join(app, 'dist'), target: 'es2022' } })
    const server = await vite.preview({
      root: app,
      configFile: false,
      logLevel: 'error',
      preview: { host: '127.0.0.1', port: 0 },
      build: { outDir: join(app, 'dist') },
    })
    const browser = await launchChromium()
    try {
      const page = await browser.newPage()
      await page.goto(server.resolvedUrls?.local[0] ?? '')
      await page.waitForFunction(() => (window as { result?: unknown }).result !== undefined, null, { timeout: 30_000 })
      expect(await page.evaluate(() => (window as { result?: unknown }).result)).toEqual({
        output: [[11]],
        stages: ['queued', 'placed', 'done'],
      })
    } finally {
      await browser.close()
      await server.close()
    }
  })

  it('the .d.ts files type-check a consumer, with moduleResolution bundler and node16', async () => {
    await writeFile(
      join(consumer, 'consumer.ts'),
      `import { createNode, type MapResult, type NoodleNode, type TaskProgress } from 'noodlenet/node'
import { createNode as createTabNode } from 'noodlenet/browser'

const node: NoodleNode = await createNode({ bootstrap: [], execute: false, config: { network: { mdns: false } } })
const stages: TaskProgress['stage'][] = []
const product: unknown = await node.run('matmul', { a: [[1]], b: [[2]] }, { signal: AbortSignal.timeout(1000), onProgress: (p) => stages.push(p.stage) })
for await (const result of node.map('echo', [1, 2], { onMapProgress: (done: number, total: number) => console.log(done, total) })) {
  const settled: MapResult = result
  console.log(settled.ok ? settled.output : settled.error.code)
}
console.log(product, createTabNode({ signaling: ['https://signal.example.org'], iceServers: [{ urls: 'stun:stun.example.org' }] }))
// @ts-expect-error: not an option (the options' type resolved)
await createNode({ bootstrapp: [] })
// @ts-expect-error: PeerId has no such method (types from the dependencies resolved; \`any\` would accept it)
node.peerId.noSuchMethod()
`,
    )
    const tsc = join(WORKSPACE, 'node_modules/typescript/bin/tsc')
    const check = async (module: string, moduleResolution: string) => {
      const config = join(consumer, `tsconfig.${moduleResolution}.json`)
      const compilerOptions = {
        target: 'es2022',
        module,
        moduleResolution,
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        lib: ['es2023', 'dom'],
        types: ['node'],
      }
      await writeFile(config, JSON.stringify({ compilerOptions, files: ['consumer.ts'] }))
      return run(process.execPath, [tsc, '-p', config], { cwd: consumer, timeout: 50_000 }).then(
        () => 'ok',
        (err: { stdout?: string }) => err.stdout ?? String(err),
      )
    }
    expect(await Promise.all([check('esnext', 'bundler'), check('node16', 'node16')])).toEqual(['ok', 'ok'])
  })
})
