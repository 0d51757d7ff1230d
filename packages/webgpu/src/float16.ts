// webgpu-utils reads Float16Array when it is imported (its f16 type table); Node 20 has none (Node 24 does, behind
// no flag; browsers have it). Installed only where missing, before webgpu-utils is first imported in Node.

import { Float16Array } from '@petamoriken/float16'

const scope = globalThis as { Float16Array?: unknown }
if (typeof scope.Float16Array !== 'function') scope.Float16Array = Float16Array
