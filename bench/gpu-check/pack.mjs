#!/usr/bin/env node
// Packs bench/gpu-check into one folder that runs on a Linux x86-64 GPU machine with no Node, no npm registry and no
// Vulkan loader: main.mjs and dawn-host.mjs (esbuild bundles; 'vitest' is vitest-shim.ts), the `webgpu` package's
// index.js and linux-x64 dawn.node, this machine's node binary (xz), Debian's libvulkan1 (.deb), and run.sh.
//
//   node bench/gpu-check/pack.mjs [OUTDIR]     (default .gpu-check, which .gitignore leaves out)
//   then, on the GPU machine:  bash OUTDIR/run.sh [RESULT.json]   (or: bash OUTDIR/run.sh --probe)

import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const LIBRARIES = ['libvulkan1', 'libglvnd0', 'libgl1', 'libglx0', 'libegl1', 'libopengl0', 'libgles2']
const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')
const out = resolve(process.argv[2] ?? join(root, '.gpu-check'))
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })

await build({
  entryPoints: { main: join(here, 'main.ts'), 'dawn-host': join(root, 'packages/webgpu/src/dawn-host.ts') },
  outdir: out,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['webgpu'],
  alias: { vitest: join(here, 'vitest-shim.ts') },
  // Bundled CommonJS (chai's dependencies) calls require(): give the ES module one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
})

const webgpu = dirname(createRequire(join(root, 'packages/webgpu/package.json')).resolve('webgpu'))
const target = join(out, 'node_modules/webgpu')
mkdirSync(join(target, 'dist/linux-x64'), { recursive: true })
for (const file of ['index.js', 'package.json']) copyFileSync(join(webgpu, file), join(target, file))
copyFileSync(join(webgpu, 'dist/linux-x64/dawn.node'), join(target, 'dist/linux-x64/dawn.node'))
execFileSync('xz', ['-T0', '-6', join(target, 'dist/linux-x64/dawn.node')])
copyFileSync(realpathSync(process.execPath), join(out, 'node'))
execFileSync('xz', ['-T0', '-6', join(out, 'node')])

// Debian's Vulkan loader and the GL dispatch libraries NVIDIA's Vulkan driver links (the GPU machine has the driver
// but maybe not these): downloaded only, never installed here.
const lists = join(out, '.apt-lists')
mkdirSync(join(lists, 'partial'), { recursive: true })
const apt = ['-oAPT::Architecture=amd64', '-oAPT::Architectures=amd64', `-oDir::State::Lists=${lists}`]
execFileSync('apt-get', [...apt, 'update', '-qq'], { stdio: 'inherit' })
execFileSync('apt-get', [...apt, 'download', '-qq', ...LIBRARIES], { cwd: out, stdio: 'inherit' })
rmSync(lists, { recursive: true, force: true })

writeFileSync(
  join(out, 'run.sh'),
  `#!/bin/bash
# Unpacks what pack.mjs carried and runs the GPU check: bash run.sh [RESULT.json]
set -euo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
unxz() { python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' "$1" "$2"; }
[ -x "$dir/node" ] || { unxz "$dir/node.xz" "$dir/node"; chmod +x "$dir/node"; }
dawn="$dir/node_modules/webgpu/dist/linux-x64/dawn.node"
[ -f "$dawn" ] || unxz "$dawn.xz" "$dawn"
# The machine's own Vulkan loader and GL libraries where it has them, else the carried ones (unpacked here, not into /).
if ! ldconfig -p | grep -q libvulkan.so.1; then
  mkdir -p "$dir/root" && for deb in "$dir"/*.deb; do dpkg -x "$deb" "$dir/root"; done
  export LD_LIBRARY_PATH="$dir/root/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# NVIDIA's driver mounted into a container keeps its Vulkan manifest outside the loader's search path.
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$icd" ] && [ -z "\${VK_DRIVER_FILES:-}" ]; then export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd; fi
if [ "\${1:-}" = --probe ]; then exec "$dir/node" "$dir/probe.mjs"; fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
exec "$dir/node" "$dir/main.mjs" "$@"
`,
  { mode: 0o755 },
)
// In-process: which adapter Dawn finds (run.sh --probe), for when the check says none.
writeFileSync(
  join(out, 'probe.mjs'),
  `const { create, globals } = await import('webgpu')
Object.assign(globalThis, globals)
for (const powerPreference of ['high-performance', 'low-power']) {
  const adapter = await create([]).requestAdapter({ powerPreference })
  console.log(powerPreference, adapter === null ? 'no adapter' : JSON.stringify(adapter.info))
}
process.exit(0)
`,
)
process.stdout.write(`${out}:\n${readdirSync(out).join('\n')}\n`)
