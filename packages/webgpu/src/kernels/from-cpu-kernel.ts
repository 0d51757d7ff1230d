// A WGSL kernel is its CPU kernel's contract (name, level, summary, cost, validate: the same input and output) with
// another `run`. This builds one from the other, and ends a run whose task is already cancelled before it touches
// the device (a dispatch, once submitted, cannot be stopped).

import { type CpuKernel, type GpuKernel, taskAborted } from '@noodlenet/shared'

export function gpuKernelFor<I, O>(cpu: CpuKernel<I, O>, run: GpuKernel<I, O>['run']): GpuKernel<I, O> {
  return {
    name: cpu.name,
    level: cpu.level,
    summary: cpu.summary,
    estimateWork: cpu.estimateWork,
    validate: cpu.validate,
    run(device, input, context) {
      if (context.signal.aborted) return Promise.reject(taskAborted(cpu.name, context.signal.reason))
      return run(device, input, context)
    },
  }
}
