// Configuration as a specification: defaults, then a JSON file, then the environment, then flags, later wins;
// objects merge and arrays replace. Any bad value is one CONFIG_INVALID error whose one-line message names the
// field, the value, what is allowed and where the value came from.

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type ConfigLayer, envLayer, LIMITS, NoodleError, parseConfigJson, resolveConfig } from '../src/index.js'

const PEER = '12D3KooWGRUVh6bsFc4FdYjuAnjyA6FEL3RUJ6SKrz5wRQsyedsX'

function file(json: string, name = 'file ./noodle.json'): ConfigLayer {
  return parseConfigJson(json, name)
}

function flags(values: Record<string, unknown>, fieldSources: Record<string, string> = {}): ConfigLayer {
  return { source: 'command-line flags', values, fieldSources }
}

/** The error resolving (or parsing) threw; fails the test when nothing was thrown. */
function configError(run: () => unknown): NoodleError {
  try {
    run()
  } catch (err) {
    expect(err).toBeInstanceOf(NoodleError)
    expect((err as NoodleError).code).toBe('CONFIG_INVALID')
    return err as NoodleError
  }
  throw new Error('expected CONFIG_INVALID, but the config was accepted')
}

function expectOneLine(err: NoodleError): void {
  expect(err.message).not.toMatch(/[\r\n]/)
  expect(err.sentence).not.toMatch(/[\r\n]/)
  expect(err.message.match(/config error:/g)).toHaveLength(1)
}

/** monitoring.selfTuning when not configured: off (docs/CONFIG.md). */
const SELF_TUNING_DEFAULTS = {
  enabled: false,
  minConcurrency: 1,
  maxConcurrency: 0,
  meshSizePerStep: 16,
  maxIntervalFactor: 4,
  cooldownSeconds: 30,
}

describe('defaults', () => {
  it('an empty set of layers gives the documented defaults', () => {
    const config = resolveConfig([])
    expect(config).toEqual({
      network: {
        listen: [],
        bootstrap: [],
        signaling: [],
        iceServers: [],
        iceCandidates: 'all',
        mdns: true,
        targetDegree: LIMITS.targetDegree,
        maxConnections: LIMITS.maxConnections,
        inboundConnectionThreshold: LIMITS.inboundConnectionThreshold,
        presenceIntervalMs: LIMITS.presenceIntervalMs,
        dialTimeoutMs: LIMITS.dialTimeoutMs,
        requestTimeoutMs: LIMITS.requestTimeoutMs,
        frameMaxBytes: LIMITS.frameMaxBytes,
        denyPeers: [],
        apiHost: '127.0.0.1',
        apiPort: 7420,
      },
      security: { level: 'PUBLIC', trustedRoots: [], rules: [], auditLog: null, revocationsFile: null },
      scheduler: {
        concurrency: 0,
        queueLimit: 256,
        gpu: 'off',
        execute: true,
        leaseMs: LIMITS.taskLeaseMs,
        breakerFailures: LIMITS.breakerFailures,
        breakerCooldownMs: LIMITS.breakerCooldownMs,
        retryBudgetPercent: LIMITS.retryBudgetPercent,
        retryBudgetFloor: LIMITS.retryBudgetFloor,
        retryBudgetWaitMs: LIMITS.retryBudgetWaitMs,
        shedQueueLength: LIMITS.shedQueueLength,
      },
      monitoring: { logLevel: 'INFO', intervalSeconds: 10, metrics: true, selfTuning: SELF_TUNING_DEFAULTS },
      health: {
        suspectPhi: LIMITS.healthSuspectPhi,
        deadPhi: LIMITS.healthDeadPhi,
        heartbeatMs: LIMITS.healthHeartbeatMs,
        throttledFactor: LIMITS.healthThrottledFactor,
      },
    })
  })

  it('a section given in part keeps the defaults of the fields it does not name', () => {
    const config = resolveConfig([file('{"network": {"apiPort": 9000}}')])
    expect(config.network.apiPort).toBe(9000)
    expect(config.network.apiHost).toBe('127.0.0.1')
    expect(config.network.targetDegree).toBe(LIMITS.targetDegree)
  })
})

describe('sources', () => {
  it('a JSON file sets any field', () => {
    const config = resolveConfig([
      file(`{
        "network": { "listen": ["/ip4/0.0.0.0/tcp/4001"], "bootstrap": ["/ip4/10.0.0.1/tcp/4001/p2p/${PEER}"], "mdns": false },
        "security": { "level": "confidential", "trustedRoots": ["${PEER}"] },
        "scheduler": { "concurrency": 4, "queueLimit": 10, "gpu": "any" },
        "monitoring": { "logLevel": "ERROR", "intervalSeconds": 0.5 }
      }`),
    ])
    expect(config.network.listen).toEqual(['/ip4/0.0.0.0/tcp/4001'])
    expect(config.network.bootstrap).toEqual([`/ip4/10.0.0.1/tcp/4001/p2p/${PEER}`])
    expect(config.network.mdns).toBe(false)
    expect(config.security).toEqual({ level: 'CONFIDENTIAL', trustedRoots: [PEER], rules: [], auditLog: null, revocationsFile: null })
    expect(config.scheduler).toMatchObject({ concurrency: 4, queueLimit: 10, gpu: 'any', execute: true, leaseMs: LIMITS.taskLeaseMs })
    expect(config.monitoring).toEqual({ logLevel: 'ERROR', intervalSeconds: 0.5, metrics: true, selfTuning: SELF_TUNING_DEFAULTS })
  })

  it('the environment sets log level, security level and monitoring interval', () => {
    const layer = envLayer({ NOODLE_NET_LOG_LEVEL: 'DEBUG', NOODLE_NET_SECURITY_LEVEL: 'SECRET', NOODLE_NET_MONITORING_INTERVAL: '30' })
    expect(layer.values).toEqual({ monitoring: { logLevel: 'DEBUG', intervalSeconds: 30 }, security: { level: 'SECRET' } })
    const config = resolveConfig([layer])
    expect(config.monitoring).toEqual({ logLevel: 'DEBUG', intervalSeconds: 30, metrics: true, selfTuning: SELF_TUNING_DEFAULTS })
    expect(config.security.level).toBe('SECRET')
  })

  it('the environment layer ignores unset, empty and unrelated variables', () => {
    const layer = envLayer({ NOODLE_NET_LOG_LEVEL: '', NOODLE_NET_SECURITY_LEVEL: undefined, PATH: '/usr/bin', NOODLE_NET_OTHER: 'x' })
    expect(layer.values).toEqual({})
    expect(resolveConfig([layer])).toEqual(resolveConfig([]))
  })

  it('a lower-case log level or security level from the environment is accepted and normalised', () => {
    const config = resolveConfig([envLayer({ NOODLE_NET_LOG_LEVEL: 'warning', NOODLE_NET_SECURITY_LEVEL: 'internal' })])
    expect(config.monitoring.logLevel).toBe('WARNING')
    expect(config.security.level).toBe('INTERNAL')
  })

  it('NOODLE_NET_MONITORING_INTERVAL is read as a number, fractions included', () => {
    expect(resolveConfig([envLayer({ NOODLE_NET_MONITORING_INTERVAL: '2.5' })]).monitoring.intervalSeconds).toBe(2.5)
    expect(resolveConfig([envLayer({ NOODLE_NET_MONITORING_INTERVAL: ' 7 ' })]).monitoring.intervalSeconds).toBe(7)
  })

  it('flags are a layer like any other', () => {
    const config = resolveConfig([flags({ network: { apiPort: 0, apiHost: '0.0.0.0' } })])
    expect(config.network.apiPort).toBe(0)
    expect(config.network.apiHost).toBe('0.0.0.0')
  })
})

describe('precedence: defaults < file < environment < flags', () => {
  const fileLayer = file('{"monitoring": {"logLevel": "ERROR", "intervalSeconds": 60}, "security": {"level": "INTERNAL"}}')
  const env = envLayer({ NOODLE_NET_LOG_LEVEL: 'info', NOODLE_NET_SECURITY_LEVEL: 'secret' })
  const flagLayer = flags({ monitoring: { logLevel: 'DEBUG' } })

  it('each later layer wins for the fields it sets', () => {
    expect(resolveConfig([fileLayer]).monitoring.logLevel).toBe('ERROR')
    expect(resolveConfig([fileLayer, env]).monitoring.logLevel).toBe('INFO')
    expect(resolveConfig([fileLayer, env, flagLayer]).monitoring.logLevel).toBe('DEBUG')
  })

  it('fields a later layer does not set keep the earlier value: objects merge key by key', () => {
    const config = resolveConfig([fileLayer, env, flagLayer])
    expect(config.monitoring.intervalSeconds).toBe(60) // file
    expect(config.security.level).toBe('SECRET') // environment
    expect(config.monitoring.logLevel).toBe('DEBUG') // flags
  })

  it('STUN and TURN servers take the RTCIceServer shape', () => {
    const config = resolveConfig([
      file(
        '{"network": {"iceServers": [{"urls": "stun:stun.example.org:3478"}, {"urls": ["turn:t.example.org"], "username": "u", "credential": "c"}], "iceCandidates": "loopback"}}',
      ),
    ])
    expect(config.network.iceServers).toEqual([
      { urls: 'stun:stun.example.org:3478' },
      { urls: ['turn:t.example.org'], username: 'u', credential: 'c' },
    ])
    expect(config.network.iceCandidates).toBe('loopback')
  })

  it('arrays replace the earlier array instead of merging with it', () => {
    const config = resolveConfig([
      file('{"network": {"listen": ["/ip4/0.0.0.0/tcp/1", "/ip4/0.0.0.0/tcp/2"]}}'),
      flags({ network: { listen: ['/ip4/127.0.0.1/tcp/3'] } }),
    ])
    expect(config.network.listen).toEqual(['/ip4/127.0.0.1/tcp/3'])
  })

  it('a bad value in an earlier layer is fine when a later layer replaces it', () => {
    const config = resolveConfig([file('{"network": {"apiPort": "eighty"}}'), flags({ network: { apiPort: 80 } })])
    expect(config.network.apiPort).toBe(80)
  })

  it('resolving leaves the layers as they were', () => {
    const a = file('{"network": {"apiPort": 1, "listen": ["/ip4/0.0.0.0/tcp/1"]}}')
    const b = flags({ network: { apiHost: 'example.org' } })
    const before = JSON.stringify([a, b])
    const config = resolveConfig([a, b])
    config.network.listen.push('/ip4/0.0.0.0/tcp/2')
    expect(JSON.stringify([a, b])).toBe(before)
  })
})

describe('invalid values: one CONFIG_INVALID naming field, value, what is allowed and source', () => {
  const cases: Array<{ what: string; layers: () => ConfigLayer[]; field: string; value: string; allowed: string; source: string }> = [
    {
      what: 'wrong type',
      layers: () => [file('{"network": {"apiPort": "eighty"}}')],
      field: 'network.apiPort',
      value: '"eighty"',
      allowed: 'an integer from 0 to 65535',
      source: 'file ./noodle.json',
    },
    {
      what: 'a dead threshold at or below the suspect one',
      layers: () => [file('{"health": {"suspectPhi": 5, "deadPhi": 4}}')],
      field: 'health.deadPhi',
      value: '4',
      allowed: 'above suspectPhi',
      source: 'file ./noodle.json',
    },
    {
      what: 'out of range',
      layers: () => [file('{"network": {"apiPort": 70000}}')],
      field: 'network.apiPort',
      value: '70000',
      allowed: 'an integer from 0 to 65535',
      source: 'file ./noodle.json',
    },
    {
      what: 'not an integer',
      layers: () => [file('{"scheduler": {"queueLimit": 1.5}}')],
      field: 'scheduler.queueLimit',
      value: '1.5',
      allowed: 'an integer from 1 to 1000000',
      source: 'file ./noodle.json',
    },
    {
      what: 'wrong type for a boolean',
      layers: () => [flags({ network: { mdns: 'yes' } }, { 'network.mdns': '--mdns' })],
      field: 'network.mdns',
      value: '"yes"',
      allowed: 'true or false',
      source: '--mdns',
    },
    {
      what: 'an ICE server that is not a stun:/turn: URL',
      layers: () => [file('{"network": {"iceServers": [{"urls": "http://stun.example.org"}]}}')],
      field: 'network.iceServers.0.urls',
      value: '"http://stun.example.org"',
      allowed: 'a stun:, turn: or turns: URL such as stun:stun.example.org:3478',
      source: 'file ./noodle.json',
    },
    {
      what: 'an unknown candidate policy',
      layers: () => [flags({ network: { iceCandidates: 'lan' } }, { 'network.iceCandidates': '--ice-candidates' })],
      field: 'network.iceCandidates',
      value: '"lan"',
      allowed: '"all" or "loopback"',
      source: '--ice-candidates',
    },
    {
      what: 'unknown key',
      layers: () => [file('{"network": {"apiPrt": 8080}}')],
      field: 'network.apiPrt',
      value: '8080',
      allowed: 'not a known setting',
      source: 'file ./noodle.json',
    },
    {
      what: 'unknown section',
      layers: () => [file('{"netwrk": {}}')],
      field: 'netwrk',
      value: '{}',
      allowed: 'not a known setting',
      source: 'file ./noodle.json',
    },
    {
      what: 'a section that is not an object',
      layers: () => [file('{"network": 5}')],
      field: 'network',
      value: '5',
      allowed: 'must be an object',
      source: 'file ./noodle.json',
    },
    {
      what: 'bad enum (file)',
      layers: () => [file('{"security": {"level": "TOP"}}')],
      field: 'security.level',
      value: '"TOP"',
      allowed: 'one of PUBLIC, INTERNAL, CONFIDENTIAL, SECRET, CRITICAL',
      source: 'file ./noodle.json',
    },
    {
      what: 'bad enum (environment)',
      layers: () => [envLayer({ NOODLE_NET_LOG_LEVEL: 'loud' })],
      field: 'monitoring.logLevel',
      value: '"loud"',
      allowed: 'one of DEBUG, INFO, WARNING, ERROR, CRITICAL',
      source: 'environment variable NOODLE_NET_LOG_LEVEL',
    },
    {
      what: 'bad enum (security level from the environment)',
      layers: () => [envLayer({ NOODLE_NET_SECURITY_LEVEL: 'top-secret' })],
      field: 'security.level',
      value: '"top-secret"',
      allowed: 'one of PUBLIC, INTERNAL, CONFIDENTIAL, SECRET, CRITICAL',
      source: 'environment variable NOODLE_NET_SECURITY_LEVEL',
    },
    {
      what: 'a number variable that is not a number',
      layers: () => [envLayer({ NOODLE_NET_MONITORING_INTERVAL: 'soon' })],
      field: 'monitoring.intervalSeconds',
      value: '"soon"',
      allowed: 'a number of seconds from 0.1 to 3600',
      source: 'environment variable NOODLE_NET_MONITORING_INTERVAL',
    },
    {
      what: 'a number variable out of range',
      layers: () => [envLayer({ NOODLE_NET_MONITORING_INTERVAL: '0' })],
      field: 'monitoring.intervalSeconds',
      value: '0',
      allowed: 'a number of seconds from 0.1 to 3600',
      source: 'environment variable NOODLE_NET_MONITORING_INTERVAL',
    },
    {
      what: 'bad multiaddr',
      layers: () => [flags({ network: { listen: ['/ip4/0.0.0.0/tcp/1', 'localhost:4001'] } }, { 'network.listen': '--listen' })],
      field: 'network.listen.1',
      value: '"localhost:4001"',
      allowed: 'a multiaddr string such as /ip4/127.0.0.1/tcp/4001',
      source: '--listen',
    },
    {
      what: 'a list given as a single string',
      layers: () => [file('{"network": {"listen": "/ip4/0.0.0.0/tcp/1"}}')],
      field: 'network.listen',
      value: '"/ip4/0.0.0.0/tcp/1"',
      allowed: 'a list of multiaddr strings',
      source: 'file ./noodle.json',
    },
    {
      what: 'bootstrap address without /p2p/',
      layers: () => [flags({ network: { bootstrap: ['/ip4/10.0.0.1/tcp/4001'] } }, { 'network.bootstrap': '--bootstrap' })],
      field: 'network.bootstrap.0',
      value: '"/ip4/10.0.0.1/tcp/4001"',
      allowed: 'a multiaddr ending in /p2p/<peer id>',
      source: '--bootstrap',
    },
    {
      what: 'a denied peer that is not a peer id',
      layers: () => [flags({ network: { denyPeers: ['12D3KooWnope'] } }, { 'network.denyPeers': '--deny-peer' })],
      field: 'network.denyPeers.0',
      value: '"12D3KooWnope"',
      allowed: 'a peer id such as 12D3KooW...',
      source: '--deny-peer',
    },
  ]

  it.each(cases)('$what', ({ layers, field, value, allowed, source }) => {
    const err = configError(() => resolveConfig(layers()))
    expectOneLine(err)
    expect(err.message).toContain(`config error: ${field} = ${value}`)
    expect(err.message).toContain(allowed)
    expect(err.message).toContain(`(from ${source})`)
  })

  it('several bad values still give one error, about one of them', () => {
    const err = configError(() => resolveConfig([file('{"network": {"apiPort": -1, "mdns": "no"}, "security": {"level": 3}}')]))
    expectOneLine(err)
  })

  it('the source named is the layer that set the bad field, not a later layer that set its neighbours', () => {
    const err = configError(() =>
      resolveConfig([
        file('{"network": {"apiPort": "eighty"}}'),
        flags({ network: { apiHost: '0.0.0.0' } }, { 'network.apiHost': '--api-host' }),
      ]),
    )
    expect(err.message).toContain('(from file ./noodle.json)')
  })

  it('a long value is shortened so the message stays one readable line', () => {
    const err = configError(() => resolveConfig([flags({ network: { apiHost: 7, listen: ['x'.repeat(500)] } })]))
    expectOneLine(err)
    expect(err.message.length).toBeLessThan(300)
  })

  it('a key with a line break in it does not break the message onto two lines', () => {
    const err = configError(() => resolveConfig([file('{"network": {"api\\nPort": 1}}')]))
    expectOneLine(err)
    expect(err.message).toContain('network."api\\nPort" = 1')
    expect(err.message).toContain('(from file ./noodle.json)')
  })

  it('a key with a dot in it is named as one key and traced to its source', () => {
    const err = configError(() => resolveConfig([envLayer({}), file('{"network.apiPort": 1}')]))
    expect(err.message).toContain('config error: "network.apiPort" = 1 (from file ./noodle.json)')
  })
})

describe('config files that are not JSON objects', () => {
  it('invalid JSON names the file and what to do', () => {
    const err = configError(() => parseConfigJson('{ "network": ', 'file ./broken.json'))
    expectOneLine(err)
    expect(err.message).toContain('file ./broken.json is not valid JSON')
    expect(err.hint).not.toBe('')
  })

  it.each([
    ['an array', '[1, 2]', '[1,2]'],
    ['null', 'null', 'null'],
    ['a string', '"network"', '"network"'],
    ['a number', '42', '42'],
  ])('%s is refused, naming the file and what it holds', (_what, text, shown) => {
    const err = configError(() => parseConfigJson(text, 'file ./odd.json'))
    expectOneLine(err)
    expect(err.message).toBe(`config error: file ./odd.json holds ${shown}, not a JSON object`)
  })

  it('an empty object is a valid file: all defaults', () => {
    expect(resolveConfig([file('{}')])).toEqual(resolveConfig([]))
  })
})

describe('hostile or random input', () => {
  it('a __proto__ key in a file pollutes no prototype', () => {
    const config = resolveConfig([file('{"__proto__": {"polluted": true}, "network": {"__proto__": {"polluted": true}, "apiPort": 1}}')])
    expect(config.network.apiPort).toBe(1)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect((config.network as Record<string, unknown>).polluted).toBeUndefined()
  })

  const known = fc.constantFrom(
    'network',
    'security',
    'scheduler',
    'monitoring',
    'listen',
    'bootstrap',
    'apiPort',
    'apiHost',
    'mdns',
    'level',
    'logLevel',
    'intervalSeconds',
    'queueLimit',
    'trustedRoots',
    'rules',
    'effect',
    'rate',
  )
  const key = fc.oneof(known, fc.string({ maxLength: 6 }))
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.constant(null),
      fc.boolean(),
      fc.integer({ min: -10, max: 100_000 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.string({ maxLength: 12 }),
      fc.constantFrom('/ip4/127.0.0.1/tcp/1', `/ip4/127.0.0.1/tcp/1/p2p/${PEER}`, 'debug', 'SECRET', 'deny'),
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(key, tie('value'), { maxKeys: 4 }),
    ),
  })).value

  it('random JSON objects resolve or give one single-line CONFIG_INVALID, nothing else (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(key, json, { maxKeys: 4 }), fc.dictionary(key, json, { maxKeys: 3 }), (a, b) => {
        try {
          resolveConfig([file(JSON.stringify(a)), flags(b)])
        } catch (err) {
          expect(err).toBeInstanceOf(NoodleError)
          expect((err as NoodleError).code).toBe('CONFIG_INVALID')
          expectOneLine(err as NoodleError)
        }
      }),
      { numRuns: 500 },
    )
  })

  it('random text as a config file gives a layer or CONFIG_INVALID, nothing else (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        try {
          resolveConfig([parseConfigJson(text, 'file ./random.json')])
        } catch (err) {
          expect(err).toBeInstanceOf(NoodleError)
          expect((err as NoodleError).code).toBe('CONFIG_INVALID')
          expectOneLine(err as NoodleError)
        }
      }),
      { numRuns: 300 },
    )
  })
})
