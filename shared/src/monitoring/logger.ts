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

export function createLogger(options: LoggerOptions): Logger {
  const sink = options.sink
  return pino<PinoLevel, true>(
    {
      level: options.level.toLowerCase(),
      customLevels: PINO_LEVELS,
      useOnlyCustomLevels: true,
      base: { component: options.component, ...options.base },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label.toUpperCase() }) },
      browser: sink === undefined ? undefined : { asObject: true, write: (o) => sink.write(`${JSON.stringify(o)}\n`) },
    },
    sink === undefined ? undefined : (sink as pino.DestinationStream),
  )
}

/** A logger for one component: every line it writes says which. */
export function componentLogger(parent: Logger, component: string): Logger {
  return parent.child({ component })
}

/** A logger whose lines carry the trace id of the request or task being handled. */
export function tracedLogger(parent: Logger, traceId: string): Logger {
  return parent.child({ traceId })
}

/** A fresh trace id: 16 random bytes, hex. */
export function newTraceId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
