// Structured logging as a specification: one JSON object per line, the levels DEBUG..CRITICAL by name, a
// `component` on every line, and loggers for a component or a trace that add their field to every line they write.

import { describe, expect, it } from 'vitest'
import { componentLogger, createLogger, LOG_LEVELS, type LogLevel, newTraceId, tracedLogger } from '../src/index.js'
import { MemorySink } from './test-platform.js'

function logger(level: LogLevel = 'DEBUG', base?: Record<string, unknown>) {
  const sink = new MemorySink()
  return { sink, log: createLogger({ level, component: 'node', sink, base }) }
}

describe('lines', () => {
  it('each call writes one line holding one JSON object', () => {
    const { sink, log } = logger()
    log.info('first')
    log.info('second\nwith a line break in the message')
    expect(sink.lines).toHaveLength(2)
    for (const line of sink.lines) {
      expect(line.endsWith('\n')).toBe(true)
      expect(line.slice(0, -1)).not.toContain('\n')
      expect(typeof JSON.parse(line)).toBe('object')
    }
    expect(sink.records()[1].msg).toBe('second\nwith a line break in the message')
  })

  it('a line has the level name, an ISO time, the component and the message', () => {
    const { sink, log } = logger()
    const before = Date.now()
    log.info('node started')
    const [record] = sink.records()
    expect(record).toMatchObject({ level: 'INFO', component: 'node', msg: 'node started' })
    expect(typeof record.time).toBe('string')
    const time = Date.parse(record.time as string)
    expect(time).toBeGreaterThanOrEqual(before - 1000)
    expect(time).toBeLessThanOrEqual(Date.now() + 1000)
  })

  it('fields passed with the message are on the line', () => {
    const { sink, log } = logger()
    log.warning({ peer: 'QmPeer', attempts: 3 }, 'dial failed')
    expect(sink.records()[0]).toMatchObject({ level: 'WARNING', peer: 'QmPeer', attempts: 3, msg: 'dial failed' })
  })

  it('base fields given at creation are on every line', () => {
    const { sink, log } = logger('DEBUG', { peerId: '12D3KooWExample' })
    log.info('one')
    log.error('two')
    expect(sink.records().map((record) => record.peerId)).toEqual(['12D3KooWExample', '12D3KooWExample'])
  })
})

describe('levels', () => {
  it('are named DEBUG, INFO, WARNING, ERROR and CRITICAL', () => {
    const { sink, log } = logger('DEBUG')
    log.debug('d')
    log.info('i')
    log.warning('w')
    log.error('e')
    log.critical('c')
    expect(sink.records().map((record) => record.level)).toEqual(['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'])
    expect(LOG_LEVELS).toEqual(['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'])
  })

  it.each(LOG_LEVELS)('at %s, lines below that level are dropped and the rest kept', (threshold) => {
    const { sink, log } = logger(threshold)
    log.debug('d')
    log.info('i')
    log.warning('w')
    log.error('e')
    log.critical('c')
    expect(sink.records().map((record) => record.level)).toEqual(LOG_LEVELS.slice(LOG_LEVELS.indexOf(threshold)))
  })

  it("child loggers filter at their parent's level", () => {
    const { sink, log } = logger('ERROR')
    const rpc = componentLogger(log, 'rpc')
    rpc.warning('dropped')
    tracedLogger(rpc, 'abc').info('dropped too')
    rpc.error('kept')
    expect(sink.records().map((record) => record.msg)).toEqual(['kept'])
  })
})

describe('component and trace loggers', () => {
  it('every line says which component wrote it', () => {
    const { sink, log } = logger()
    log.info('root')
    componentLogger(log, 'rpc').info('from rpc')
    componentLogger(log, 'presence').debug('from presence')
    expect(sink.records().map((record) => [record.component, record.msg])).toEqual([
      ['node', 'root'],
      ['rpc', 'from rpc'],
      ['presence', 'from presence'],
    ])
  })

  it('a component logger replaces the component: each line has exactly one component key', () => {
    const { sink, log } = logger('DEBUG', { peerId: '12D3KooWExample' })
    const rpc = componentLogger(log, 'rpc')
    rpc.info('one')
    tracedLogger(componentLogger(rpc, 'task'), 'trace-1').info('two')
    for (const line of sink.lines) expect(line.match(/"component":/g)).toHaveLength(1)
    expect(sink.records().map((record) => [record.component, record.peerId])).toEqual([
      ['rpc', '12D3KooWExample'],
      ['task', '12D3KooWExample'],
    ])
  })

  it('a traced logger adds the trace id and keeps the component', () => {
    const { sink, log } = logger()
    const traceId = newTraceId()
    const traced = tracedLogger(componentLogger(log, 'rpc'), traceId)
    traced.info({ protocol: '/noodlenet/test/1.0.0' }, 'handling request')
    traced.error('handler failed')
    for (const record of sink.records()) {
      expect(record.component).toBe('rpc')
      expect(record.traceId).toBe(traceId)
    }
    expect(sink.records()[0].protocol).toBe('/noodlenet/test/1.0.0')
  })

  it("the parent's lines do not gain the child's fields", () => {
    const { sink, log } = logger()
    tracedLogger(componentLogger(log, 'rpc'), 'trace-1').info('child')
    log.info('parent')
    const parent = sink.records()[1]
    expect(parent.component).toBe('node')
    expect(parent.traceId).toBeUndefined()
  })

  it('trace ids are 32 hex characters and do not repeat', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newTraceId()))
    expect(ids.size).toBe(1000)
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/)
  })
})
