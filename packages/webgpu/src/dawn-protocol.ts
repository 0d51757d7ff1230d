// The messages between DawnProcess (the node) and dawn-host.ts (the child process that holds the Dawn device), over
// Node's IPC channel with `serialization: 'advanced'` (structured clone: typed arrays cross intact).

import type { AdapterSummary } from './runner.js'

export type HostMessage =
  | { type: 'ready'; adapter: AdapterSummary; kernels: string[] }
  | { type: 'unavailable'; message: string }
  | { type: 'result'; id: number; output: unknown; ms: number }
  | { type: 'error'; id: number; error: WireError }

export type ParentMessage = { type: 'run'; id: number; kernel: string; input: unknown } | { type: 'cancel'; id: number; reason: string }

/** A NoodleError as data (Error objects do not survive IPC with their code). */
export interface WireError {
  code: string
  message: string
  hint: string
}
