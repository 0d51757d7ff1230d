// Supervision: a component of the node that fails (the executor behind the task protocol, an event handler) is
// isolated and restarted with backoff instead of taking the node down. A supervised component is made by a factory;
// fail() stops it (best effort), hands its users `undefined` meanwhile, and makes a fresh one after a backoff that
// doubles with each failure and resets once a component has run for a while. guard() wraps an event handler so that
// its exception is logged and counted, never thrown into the emitter (in Node an exception in an EventTarget
// listener is an uncaught exception: the process dies).

import type { Logger } from '../monitoring/logger.js'
import type { NodeMetrics } from '../monitoring/node-metrics.js'

export interface SupervisorOptions {
  logger: Logger
  metrics?: Pick<NodeMetrics, 'componentFailures'>
  /** First restart delay (ms), doubled per failure up to maxMs; a component up for stableMs starts again from baseMs. */
  baseMs: number
  maxMs: number
  stableMs: number
}

export interface Stoppable {
  stop?(): Promise<void> | void
}

/** One supervised component. */
export interface Supervised<T> {
  /** The running component; undefined while it restarts (or when the factory made none). */
  readonly current: T | undefined
  /** Reports a failure of `instance` (stale reports about an instance already replaced are ignored). */
  fail(instance: T, err: unknown): void
  /** When the component will be back, if it is restarting (ms since the epoch). */
  readonly restartAt: number | undefined
  /** Stops it for good (no restart). */
  stop(): Promise<void>
}

class Component<T extends Stoppable> implements Supervised<T> {
  current: T | undefined
  restartAt: number | undefined
  failures = 0
  startedAt = 0
  timer: ReturnType<typeof setTimeout> | undefined
  stopped = false

  constructor(
    readonly name: string,
    readonly make: () => Promise<T | undefined>,
    readonly onChange: (current: T | undefined) => void,
    readonly supervisor: Supervisor,
  ) {}

  async start(): Promise<void> {
    this.current = await this.make()
    this.startedAt = Date.now()
    this.restartAt = undefined
    this.onChange(this.current)
  }

  fail(instance: T, err: unknown): void {
    if (this.stopped || instance !== this.current) return
    this.supervisor.restart(this, err)
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    const current = this.current
    this.current = undefined
    await stopQuietly(current)
  }
}

export class Supervisor {
  readonly #options: SupervisorOptions
  readonly #components = new Set<Component<Stoppable>>()

  constructor(options: SupervisorOptions) {
    this.#options = options
  }

  /** Makes the component now and keeps it running. `onChange` hears each new instance (and undefined while it is
   *  down). */
  async supervise<T extends Stoppable>(
    name: string,
    make: () => Promise<T | undefined>,
    onChange: (current: T | undefined) => void,
  ): Promise<Supervised<T>> {
    const component = new Component<T>(name, make, onChange, this)
    this.#components.add(component as unknown as Component<Stoppable>)
    await component.start()
    return component
  }

  /** `handler`, with its exceptions (thrown or rejected) caught, logged and counted against `name`. */
  guard<A extends unknown[]>(name: string, handler: (...args: A) => unknown): (...args: A) => void {
    return (...args: A) => {
      try {
        const result = handler(...args)
        if (result instanceof Promise) result.catch((err: unknown) => this.#report(name, err, 'handler failed; the node goes on'))
      } catch (err) {
        this.#report(name, err, 'handler failed; the node goes on')
      }
    }
  }

  /** Stops every supervised component (and pending restarts). */
  async stop(): Promise<void> {
    for (const component of this.#components) await component.stop()
    this.#components.clear()
  }

  /** @internal Isolates `component` and schedules its restart. */
  restart<T extends Stoppable>(component: Component<T>, err: unknown): void {
    const { baseMs, maxMs, stableMs } = this.#options
    if (Date.now() - component.startedAt > stableMs) component.failures = 0
    const delayMs = Math.min(maxMs, baseMs * 2 ** component.failures)
    component.failures++
    const broken = component.current
    component.current = undefined
    component.restartAt = Date.now() + delayMs
    component.onChange(undefined)
    this.#report(component.name, err, `component failed; restarting it in ${delayMs} ms`, { delayMs, failures: component.failures })
    void stopQuietly(broken)
    component.timer = setTimeout(() => {
      if (component.stopped) return
      component.start().then(
        () => this.#options.logger.info({ component: component.name }, 'component restarted'),
        (startErr: unknown) => this.restart(component, startErr),
      )
    }, delayMs)
    ;(component.timer as { unref?: () => void }).unref?.()
  }

  #report(name: string, err: unknown, msg: string, fields: Record<string, unknown> = {}): void {
    this.#options.metrics?.componentFailures.inc({ component: name })
    this.#options.logger.error({ component: name, err, ...fields }, msg)
  }
}

async function stopQuietly(component: Stoppable | undefined): Promise<void> {
  try {
    await component?.stop?.()
  } catch {
    // A broken component may fail to stop too; it is dropped either way.
  }
}
