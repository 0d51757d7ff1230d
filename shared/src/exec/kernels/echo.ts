// echo: returns its input unchanged. The smallest kernel there is: for round-trip tests and for measuring what the
// task path costs without any compute.

import type { CpuKernel } from '../kernel.js'

export type EchoInput = unknown
export type EchoOutput = unknown

export const echoKernel: CpuKernel<EchoInput, EchoOutput> = {
  name: 'echo',
  level: 'PUBLIC',
  summary: 'Returns its input unchanged.',
  // Anything the wire codec carries is a valid input; the frame cap already bounds its size.
  validate: (input) => input,
  run: (input) => input,
  estimateWork: () => 1,
  // Returning its input is all it does: a small one runs on the executor's thread, sparing the hop to a worker.
  inline: { maxInputBytes: 65_536 },
}
