// Long CPU kernels share their thread with the worker's message loop: every slice (~20 ms) they check for
// cancellation, report progress and give the loop one turn, so an abort posted from the node (a message to the
// worker) is seen within a slice. Without the turn, a synchronous loop would never see its signal fire.

import { NoodleError } from '../../errors.js'
import type { KernelContext } from '../kernel.js'

const SLICE_MS = 20

export class KernelPacer {
  readonly #context: KernelContext
  readonly #kernel: string
  #sliceStart = performance.now()

  constructor(kernel: string, context: KernelContext) {
    this.#kernel = kernel
    this.#context = context
  }

  /** Cheap enough for an inner loop's outer level: true once a slice has passed since the last pause. */
  get due(): boolean {
    return performance.now() - this.#sliceStart >= SLICE_MS
  }

  /** Reports progress, yields one event-loop turn and throws TASK_ABORTED if the task was cancelled meanwhile. */
  async pause(fraction: number): Promise<void> {
    this.throwIfAborted()
    this.#context.progress(fraction)
    await nextTurn()
    this.throwIfAborted()
    this.#sliceStart = performance.now()
  }

  throwIfAborted(): void {
    if (this.#context.signal.aborted) throw taskAborted(this.#kernel, this.#context.signal.reason)
  }
}

/** The error every built-in kernel ends with when its signal fires (docs/KERNELS.md: TASK_ABORTED, not the RPC
 *  layer's REQUEST_ABORTED, because a task is cancelled by its own deadline or a cancel frame, not a stream). */
export function taskAborted(kernel: string, reason: unknown): NoodleError {
  const why = reason instanceof Error ? `: ${reason.message}` : typeof reason === 'string' ? `: ${reason}` : ''
  return new NoodleError('TASK_ABORTED', `${kernel} was cancelled${why}`, 'Submit the task again if you still need its result.', {
    cause: reason,
  })
}

/** One macrotask turn. A MessageChannel message, not setTimeout(0): browsers clamp nested timers to 4 ms, which
 *  would cost a fifth of every slice; messages already queued for this thread (an abort) run before ours. */
function nextTurn(): Promise<void> {
  if (typeof MessageChannel !== 'function') return new Promise((resolve) => setTimeout(resolve, 0))
  return new Promise((resolve) => {
    const channel = new MessageChannel()
    channel.port1.onmessage = () => {
      channel.port1.close()
      resolve()
    }
    channel.port2.postMessage(null)
  })
}
