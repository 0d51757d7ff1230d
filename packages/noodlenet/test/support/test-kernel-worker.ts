// A kernel worker entry for packages/noodlenet/test/executor.browser.test.ts: the built-in kernels plus the ones that
// misbehave on purpose (never part of BUILTIN_CPU_KERNELS).

import { serveKernels } from '@noodlenet/shared/exec/kernel-worker'
import { MISBEHAVING_KERNELS } from '../../../../shared/test/test-kernels.js'
import { workerScopePort } from '../../src/browser/exec/worker-scope-port.js'

serveKernels(workerScopePort(), MISBEHAVING_KERNELS)
