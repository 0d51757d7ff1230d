// The entry of every browser kernel worker (a module Web Worker): serves the built-in kernels on the worker's own
// global scope. Bundled by Vite from web-worker-pool.ts's `new Worker(new URL('./kernel-worker.ts', import.meta.url))`.

import { serveKernels } from '@noodlenet/shared/exec/kernel-worker'
import { workerScopePort } from './worker-scope-port.js'

serveKernels(workerScopePort())
