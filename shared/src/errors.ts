// Errors are values with codes. Every error a user can meet carries a code a program can switch on and a
// sentence a person can act on; nothing else crosses the wire or reaches the CLI.

export type NoodleErrorCode =
  | 'CONFIG_INVALID'
  | 'FRAME_TOO_LARGE'
  | 'FRAME_MALFORMED'
  | 'FRAME_INVALID'
  | 'REQUEST_TIMEOUT'
  | 'REQUEST_ABORTED'
  | 'PROTOCOL_UNSUPPORTED'
  | 'PEER_UNREACHABLE'
  | 'STREAM_CLOSED'
  | 'HANDLER_FAILED'
  | 'KEY_INVALID'
  | 'NOT_STARTED'
  // Signalling (packages/webrtc's SignalingClient): not registered with the server right now.
  | 'SIGNALING_UNAVAILABLE'
  // The security gate's denials (shared/src/security).
  | 'CAPABILITY_MISSING'
  | 'CAPABILITY_MALFORMED'
  | 'CAPABILITY_EXPIRED'
  | 'CAPABILITY_NOT_YET_VALID'
  | 'CAPABILITY_WRONG_AUDIENCE'
  | 'CAPABILITY_BAD_SIGNATURE'
  | 'CAPABILITY_REVOKED'
  | 'CAPABILITY_ESCALATION'
  | 'CAPABILITY_UNTRUSTED_ROOT'
  | 'POLICY_DENIED'
  | 'RATE_LIMITED'
  | 'AUDIT_CORRUPT'
  | 'AUDIT_WRITE_FAILED'
  // Tasks (shared/src/scheduler, shared/src/exec).
  | 'TASK_INPUT_INVALID'
  | 'TASK_ABORTED'
  | 'TASK_INVALID'
  | 'TASK_UNPLACEABLE'
  | 'TASK_DEADLINE_EXCEEDED'
  | 'TASK_BUSY'
  // Recovery (shared/src/scheduler: lease.ts, retry.ts, breaker.ts; docs/RECOVERY.md).
  | 'LEASE_EXPIRED'
  | 'RETRY_BUDGET_EXHAUSTED'
  | 'TASK_SHED'
  | 'QUORUM_FAILED'
  // Executors (shared/src/exec): a task that ran and did not finish well; the node itself is fine.
  | 'TASK_TIMEOUT'
  | 'TASK_FAILED'
  | 'KERNEL_CRASHED'
  | 'KERNEL_UNKNOWN'
  // Custom WebAssembly kernels (shared/src/exec/wasm-kernel.ts).
  | 'WASM_INVALID'
  | 'WASM_IMPORTS_FORBIDDEN'
  | 'WASM_MEMORY_LIMIT'
  | 'WASM_TRAP'
  // Custom WGSL kernels (packages/webgpu's `wgsl` kernel): the shader the caller sent does not compile.
  | 'WGSL_INVALID'
  | 'GPU_UNAVAILABLE'
  | 'GPU_DEVICE_LOST'
  | 'GPU_FAILED'
  // Routing (shared/src/routing): a request that travels hop by hop through other peers (docs/ROUTING.md).
  | 'NO_ROUTE'
  | 'TTL_EXPIRED'
  | 'ROUTE_LOOP'
  | 'ROUTE_FORGED'
  | 'ROUTE_REPLAYED'

export class NoodleError extends Error {
  override readonly name = 'NoodleError'
  readonly code: NoodleErrorCode
  /** What the person who sees this should do about it. */
  readonly hint: string
  /** For TASK_BUSY and RATE_LIMITED: how long to wait before asking the same peer again (ms). */
  readonly retryAfterMs?: number

  constructor(code: NoodleErrorCode, message: string, hint = '', options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options)
    this.code = code
    this.hint = hint
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs
  }

  /** The one-line form for logs and the CLI: the message, then what to do. */
  get sentence(): string {
    return this.hint === '' ? this.message : `${this.message}. ${this.hint}`
  }

  toJSON(): { code: NoodleErrorCode; message: string; retryAfterMs?: number } {
    return this.retryAfterMs === undefined
      ? { code: this.code, message: this.sentence }
      : { code: this.code, message: this.sentence, retryAfterMs: this.retryAfterMs }
  }
}

export function isNoodleError(err: unknown, code?: NoodleErrorCode): err is NoodleError {
  return err instanceof NoodleError && (code === undefined || err.code === code)
}
