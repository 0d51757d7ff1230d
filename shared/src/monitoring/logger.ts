// Structured logging: JSON lines through pino, with the seed's levels DEBUG..CRITICAL, a `component` field on
// every line and a `traceId` field that task frames carry across peers so one task can be followed end to end.
// Where lines go is the platform's business (stderr on Node, the console in browsers): it passes a sink.

import { pino } from 'pino'

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

const PINO_LEVELS = { debug: 20, info: 30, warning: 40, error: 50, critical: 60 } as const
type PinoLevel = keyof typeof PINO_LEVELS

export type Logger = pino.Logger<PinoLevel, boolean>

/** Where log lines go: anything with write(line). */
export interface LogSink {
  write(line: string): void
}

export interface LoggerOptions {
  level: LogLevel
  component: string
  sink?: LogSink
  /** Fields on every line (for example the peer id once it is known). */
  base?: Record<string, unknown>
}

/** Every logger made here can reach its root: pino children inherit from their parent's object. */
const ROOT = Symbol('noodlenet.rootLogger')

const levelName = (label: string) => ({ level: label.toUpperCase() })

/** An `err` field as plain JSON, the same in Node and browsers: `{ type, message, stack }`, the error's own fields
 *  (code, hint…) and its cause, nested. Values that are not Errors pass unchanged. pino's browser build has no `err`
 *  serializer of its own, and JSON.stringify turns an Error into `{}`. */
function serializeError(value: unknown): unknown {
  if (!(value instanceof Error)) return value
  const out: Record<string, unknown> = { type: value.constructor.name, message: value.message, stack: value.stack }
  for (const [key, field] of Object.entries(value)) if (!(key in out)) out[key] = serializeError(field)
  if (value.cause !== undefined) out.cause = serializeError(value.cause)
  return out
}

export function createLogger(options: LoggerOptions): Logger {
  const sink = options.sink
  const root = pino<PinoLevel, boolean>(
    {
      level: options.level.toLowerCase(),
      customLevels: PINO_LEVELS,
      useOnlyCustomLevels: true,
      base: {},
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: levelName },
      serializers: { err: serializeError },
      // pino's browser build ignores `formatters` above and takes its own; without it browser lines have numeric levels.
      browser: {
        formatters: { level: levelName },
        // The browser build applies `serializers` only when told to (`true`: also an Error passed as the first argument).
        serialize: true,
        ...(sink === undefined ? {} : { asObject: true, write: (o: object) => sink.write(`${JSON.stringify(o)}\n`) }),
      },
    },
    sink === undefined ? undefined : (sink as pino.DestinationStream),
  )
  Object.defineProperty(root, ROOT, { value: root })
  return root.child({ component: options.component, ...options.base })
}

/** A logger for one component: every line it writes says which (replacing the parent's component, not adding a
 *  second `component` key as a plain pino child would). */
export function componentLogger(parent: Logger, component: string): Logger {
  const root = (parent as Logger & { [ROOT]?: Logger })[ROOT] ?? parent
  const { component: _replaced, ...bindings } = parent.bindings()
  return root.child({ ...bindings, component })
}

/** A logger whose lines carry the trace id of the request or task being handled. */
export function tracedLogger(parent: Logger, traceId: string): Logger {
  return parent.child({ traceId })
}

/** Trace ids: a random per-process prefix and a counter. Unique across peers without drawing random bytes per
 *  request (a trace id is made for every request served, so it is on the hot path). */
const TRACE_PREFIX = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('')
let traceCounter = 0

/** A fresh trace id: 32 hex characters. */
export function newTraceId(): string {
  traceCounter = (traceCounter + 1) % Number.MAX_SAFE_INTEGER
  return TRACE_PREFIX + traceCounter.toString(16).padStart(16, '0')
}
