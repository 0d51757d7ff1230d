// Placement as a specification: a task goes only to a peer that meets every requirement, is alive, has room, is
// not excluded, is within the task's cost and is authorised; among those the strategy picks; when none qualifies the
// error says why, in terms of the closest miss, and what to do.

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { KernelInfo } from '../src/exec/kernel.js'
import {
  breakTies,
  type Candidate,
  CostModel,
  CUSTOM_KERNELS,
  emptyEstimate,
  isNoodleError,
  NoodleError,
  type PlacementOptions,
  parseTask,
  placeTask,
  type ScoringStrategy,
  StrategyRegistry,
  type TaskDeclaration,
  type TaskDeclarationInput,
  UnplaceableError,
} from '../src/index.js'
import { ALICE, BOB, CAROL, peer } from './scheduler-support.js'

function task(declaration: Partial<TaskDeclarationInput> = {}): TaskDeclaration {
  return parseTask({ kernel: 'matmul', input: new Uint8Array(1024), ...declaration })
}

/** matmul here is a kernel whose prior says 1 s on one core, so compute, not the link, decides between peers. */
const KERNELS = (name: string): KernelInfo | undefined =>
  name === 'matmul' ? { name, level: 'PUBLIC', summary: 'test kernel', estimateWork: () => 1_000_000 } : undefined

function model(): CostModel {
  return new CostModel({ kernels: KERNELS })
}

function place(t: TaskDeclaration, candidates: Candidate[], options: Partial<PlacementOptions> = {}): string {
  return placeTask(t, candidates, { model: model(), ...options }).peer.peerId
}

/** The UnplaceableError placeTask threw. */
function unplaceable(t: TaskDeclaration, candidates: Candidate[], options: Partial<PlacementOptions> = {}): UnplaceableError {
  try {
    placeTask(t, candidates, { model: model(), ...options })
  } catch (err) {
    expect(err).toBeInstanceOf(UnplaceableError)
    expect((err as UnplaceableError).code).toBe('TASK_UNPLACEABLE')
    return err as UnplaceableError
  }
  throw new Error('the task was placed')
}

describe('filtering by requirements', () => {
  it('a GPU task goes to the peer with a GPU', () => {
    const peers = [peer('cpu-big', { cores: 64 }), peer('gpu', { cores: 2, webgpu: true }), peer('cpu-small', { cores: 1 })]
    expect(place(task({ requires: { gpu: true } }), peers)).toBe('gpu')
  })

  it('a GPU without WebGPU is not a GPU for kernels; a software WebGPU adapter is, below a hardware one', () => {
    const error = unplaceable(task({ requires: { gpu: true } }), [peer('no-dawn', { nativeGpus: 2 }), peer('cpu', { cores: 8 })])
    expect(error.sentence).toMatch(/it needs a GPU and none of the 2 peers that run the kernel has one/)
    expect(error.sentence).toMatch(/Leave out requires.gpu to run on CPU, or add a peer with a GPU/)
    expect(error.transient).toBe(false)
    expect(place(task({ requires: { gpu: true } }), [peer('cpu', { cores: 64 }), peer('swiftshader', { webgpu: 'fallback' })])).toBe(
      'swiftshader',
    )
    const both = [peer('swiftshader', { cores: 4, webgpu: 'fallback' }), peer('gpu', { cores: 4, webgpu: true })]
    expect(place(task({ requires: { gpu: true } }), both)).toBe('gpu')
  })

  it('an NPU task goes to the peer with an NPU', () => {
    expect(place(task({ requires: { npu: true } }), [peer('plain', { cores: 32 }), peer('npu', { npus: 1 })])).toBe('npu')
  })

  it('cores: only peers with at least that many', () => {
    const peers = [peer('two', { cores: 2 }), peer('eight', { cores: 8 })]
    expect(place(task({ requires: { cpu: 4 } }), peers)).toBe('eight')
    expect(unplaceable(task({ requires: { cpu: 16 } }), peers).sentence).toMatch(/it needs 16 CPU cores; the largest peer has 8/)
  })

  it('memory: only peers with that much free', () => {
    const peers = [peer('small', { totalMB: 4096 }), peer('big', { totalMB: 32_768 })]
    expect(place(task({ requires: { memoryMB: 8000 } }), peers)).toBe('big')
  })

  it('more memory than any peer has: TASK_UNPLACEABLE saying how much there is and what to do', () => {
    const peers = [peer('a', { totalMB: 8192 }), peer('b', { totalMB: 16_384 }), peer('c', { totalMB: 4096 })]
    const error = unplaceable(task({ requires: { memoryMB: 64_000 } }), peers)
    expect(error.message).toBe('cannot place the matmul task: it needs 64000 MB of memory; the largest peer has 16384 MB')
    expect(error.hint).toBe('Split the input into smaller tasks that need less memory each, or add a peer with more memory.')
    expect(error.transient).toBe(false)
  })

  it('memory that exists but is in use now: a passing miss, quoting the most free', () => {
    const peers = [peer('busy', { totalMB: 65_536, freeMB: 2048 })]
    const error = unplaceable(task({ requires: { memoryMB: 8000 } }), peers)
    expect(error.sentence).toMatch(/it needs 8000 MB of free memory; the most free on any peer that could run it is 2048 MB now/)
    expect(error.transient).toBe(true)
  })

  it('kernels: a peer that lists its kernels gets only those; one that does not say may run any', () => {
    const peers = [peer('fft-only', { kernels: ['fft'], cores: 64 }), peer('unknown', { cores: 1 })]
    expect(place(task({ kernel: 'fft' }), peers)).toBe('fft-only')
    expect(place(task({ kernel: 'matmul' }), peers)).toBe('unknown')
    expect(unplaceable(task({ kernel: 'matmul' }), [peers[0]]).sentence).toMatch(/no peer runs the kernel matmul \(1 peer known\)/)
  })

  it('custom kernels go to peers that list them or accept custom kernels', () => {
    const kernel = `custom:${'0f'.repeat(32)}`
    const peers = [peer('builtin-only', { kernels: ['matmul'], cores: 64 }), peer('custom', { kernels: [CUSTOM_KERNELS], cores: 1 })]
    expect(place(task({ kernel }), peers)).toBe('custom')
  })

  it('the largest memory quoted is among peers that meet the other requirements', () => {
    const peers = [peer('huge-cpu', { totalMB: 1_000_000 }), peer('gpu', { webgpu: true, totalMB: 16_384 })]
    const error = unplaceable(task({ requires: { gpu: true, memoryMB: 64_000 } }), peers)
    expect(error.message).toMatch(/it needs 64000 MB of memory; the largest peer that meets the other requirements has 16384 MB/)
  })
})

describe('health, room, exclusions, cost and authorisation', () => {
  it('dead peers never get a task; suspect ones only when they would finish much sooner', () => {
    const t = task()
    expect(place(t, [peer('dead', { health: 'dead', cores: 64 }), peer('alive', { cores: 1 })])).toBe('alive')
    expect(place(t, [peer('suspect', { health: 'suspect', cores: 4 }), peer('alive', { cores: 4 })])).toBe('alive')
    // Five tasks ahead on one core: 6 s against the suspect's doubled 1 s.
    const busy = peer('alive', { cores: 1, tasksRunning: 1, queueLength: 4 })
    expect(place(t, [peer('suspect', { health: 'suspect', cores: 4 }), busy])).toBe('suspect')
    const error = unplaceable(t, [peer('dead', { health: 'dead' })])
    expect(error.sentence).toMatch(/the 1 peer that could run it is unreachable \(marked dead\)/)
    expect(error.transient).toBe(true)
  })

  it('a peer whose queue is full is skipped', () => {
    const peers = [peer('full', { cores: 64, queueLength: 10, queueLimit: 10 }), peer('room', { cores: 1, queueLength: 3, queueLimit: 10 })]
    expect(place(task(), peers)).toBe('room')
    const error = unplaceable(task(), [peers[0]])
    expect(error.sentence).toMatch(/has a full queue/)
    expect(error.transient).toBe(true)
  })

  it('excluded peers (they answered busy) are skipped; if only they qualify the miss is passing', () => {
    const peers = [peer('busy', { cores: 64 }), peer('free', { cores: 1 })]
    expect(place(task(), peers, { exclude: new Set(['busy']) })).toBe('free')
    const error = unplaceable(task(), peers, { exclude: new Set(['busy', 'free']) })
    expect(error.sentence).toMatch(/the 2 peers that could run it answered "busy, retry after"/)
    expect(error.transient).toBe(true)
  })

  it('maxCost: a peer whose estimated cost is above it is skipped', () => {
    const peers = [peer('pricey', { cores: 64, price: 1000 }), peer('free', { cores: 1 })]
    expect(place(task({ maxCost: 0.001 }), peers)).toBe('free')
    const error = unplaceable(task({ maxCost: 0.001 }), [peers[0]])
    expect(error.sentence).toMatch(/it would cost at least .* on the 1 peer that could run it; maxCost is 0.001. Raise maxCost/)
    expect(error.transient).toBe(false)
  })

  it('authorisation: the caller decides per peer, and is asked only about peers that qualify otherwise', () => {
    const asked: string[] = []
    const authorize = (c: Candidate): boolean => {
      asked.push(c.peerId)
      return c.peerId !== 'forbidden'
    }
    const peers = [peer('forbidden', { cores: 64 }), peer('allowed', { cores: 1 }), peer('too-small', { totalMB: 100 })]
    expect(place(task({ requires: { memoryMB: 1000 } }), peers, { authorize })).toBe('allowed')
    expect(asked.sort()).toEqual(['allowed', 'forbidden'])
    const error = unplaceable(task(), [peers[0]], { authorize })
    expect(error.sentence).toMatch(/this node is not authorised to run it on the 1 peer that could run it. Get a capability token/)
  })

  it('no peers at all: a passing miss that says to wait for peers', () => {
    const error = unplaceable(task(), [])
    expect(error.sentence).toMatch(/no peers are known yet/)
    expect(error.transient).toBe(true)
  })
})

describe('a task pinned to a peer', () => {
  const peers = [peer(ALICE, { cores: 64 }), peer(BOB, { cores: 2, totalMB: 4096 })]

  it('goes there even when another peer is faster', () => {
    expect(place(task({ peer: BOB }), peers)).toBe(BOB)
  })

  it('fails saying why that peer does not qualify', () => {
    const error = unplaceable(task({ peer: BOB, requires: { memoryMB: 8000 } }), peers)
    expect(error.message).toBe(`cannot place the matmul task on peer ${BOB}: it needs 8000 MB of memory; the peer has 4096 MB`)
    expect(unplaceable(task({ peer: BOB, requires: { gpu: true } }), peers).message).toMatch(/it needs a GPU and the peer has none/)
  })

  it('an unknown peer is a passing miss (it may still announce itself)', () => {
    const error = unplaceable(task({ peer: CAROL }), peers)
    expect(error.sentence).toMatch(/that peer is not known/)
    expect(error.transient).toBe(true)
  })

  it('a busy pinned peer waits rather than going elsewhere', () => {
    const error = unplaceable(task({ peer: BOB }), peers, { exclude: new Set([BOB]) })
    expect(error.message).toMatch(/the peer answered "busy, retry after"/)
    expect(error.transient).toBe(true)
  })
})

describe('strategies', () => {
  it('fastest: the lowest queue + transfer + compute', () => {
    const peers = [
      peer('busy', { cores: 1, tasksRunning: 1 }),
      peer('free', { cores: 16, tasksRunning: 8 }),
      peer('queued', { cores: 16, tasksRunning: 16, queueLength: 100 }),
    ]
    expect(place(task({ placement: 'fastest' }), peers)).toBe('free')
  })

  it('cheapest: the lowest cost, then the fastest among equally cheap', () => {
    const peers = [
      peer('fast-pricey', { cores: 2, price: 10 }),
      peer('cheap', { cores: 1, price: 1 }),
      peer('free-busy', { cores: 1, tasksRunning: 1 }),
      peer('free-idle', { cores: 8 }),
    ]
    expect(place(task({ placement: 'cheapest' }), peers)).toBe('free-idle')
    expect(place(task({ placement: 'cheapest' }), peers.slice(0, 2))).toBe('cheap')
  })

  it('spread: the peer with the fewest tasks in flight from this scheduler, ties to the fastest', () => {
    const peers = [peer('a', { cores: 8 }), peer('b', { cores: 4 }), peer('c', { cores: 2 })]
    const inFlight = new Map<string, number>()
    const chosen: string[] = []
    for (let i = 0; i < 6; i++) {
      const id = place(task({ placement: 'spread' }), peers, { inFlight })
      chosen.push(id)
      inFlight.set(id, (inFlight.get(id) ?? 0) + 1)
    }
    expect(chosen).toEqual(['a', 'b', 'c', 'a', 'b', 'c'])
  })

  it('local-first: this node when it qualifies, else the fastest', () => {
    const peers = [peer('remote-fast', { cores: 64 }), peer('me', { cores: 1, local: true, totalMB: 1024 })]
    expect(place(task({ placement: 'local-first' }), peers)).toBe('me')
    expect(place(task({ placement: 'local-first', requires: { memoryMB: 4096 } }), peers)).toBe('remote-fast')
  })

  it('local transfers cost nothing, so with equal hardware fastest prefers this node too', () => {
    expect(place(task(), [peer('remote'), peer('me', { local: true })])).toBe('me')
  })

  it('near-ties are broken at random, within the jitter; scores of 0 and below are left alone', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 1e9, noNaN: true }), fc.double({ min: 0, max: 0.999_999, noNaN: true }), (score, random) => {
        const broken = breakTies(score, () => random, 0.05)
        return broken >= score && broken <= score * 1.05
      }),
    )
    expect(breakTies(-1, () => 0.9)).toBe(-1)
    expect(breakTies(0, () => 0.9)).toBe(0)
    // Two scores 1 % apart come out either way round; 20 % apart never.
    const order = new Set<boolean>()
    for (const random of [0, 0.1, 0.5, 0.9]) order.add(breakTies(100, () => random) < breakTies(101, () => 0.5))
    expect(order).toEqual(new Set([true, false]))
    expect(breakTies(120, () => 0) > breakTies(100, () => 0.999)).toBe(true)
  })

  it('an app supplies its own scoring function, which overrides the declaration', () => {
    const greenest: ScoringStrategy = (_task, candidate) => (candidate.peerId === 'solar' ? 0 : 1)
    const peers = [peer('coal', { cores: 64 }), peer('solar', { cores: 1 })]
    expect(place(task({ placement: 'fastest' }), peers, { strategy: greenest })).toBe('solar')
  })

  it('scoring functions see the estimate of each qualifying peer', () => {
    const seen: Array<[string, number]> = []
    const spy: ScoringStrategy = (_task, candidate, estimate) => {
      seen.push([candidate.peerId, estimate.totalMs])
      return estimate.computeMs
    }
    place(task({ requires: { cpu: 2 } }), [peer('one', { cores: 1 }), peer('two', { cores: 2 }), peer('four', { cores: 4 })], {
      strategy: spy,
    })
    expect(seen.map(([id]) => id)).toEqual(['two', 'four'])
    expect(seen.every(([, ms]) => ms > 0)).toBe(true)
  })

  it('strategies are registered by name, per registry', () => {
    const registry = new StrategyRegistry().register('most-cores', (_t, c) => -c.cores)
    const peers = [peer('remote-small', { cores: 2 }), peer('remote-big', { cores: 32, price: 100 })]
    expect(place(task(), peers, { strategies: registry, strategy: 'most-cores' })).toBe('remote-big')
    expect(new StrategyRegistry().has('most-cores')).toBe(false)
    expect(registry.names()).toEqual(['fastest', 'cheapest', 'spread', 'local-first', 'most-cores'])
    expect(() => place(task(), peers, { strategy: 'most-cores' })).toThrow(/no placement strategy is called "most-cores"/)
    expect(() => registry.get('nope')).toThrow(
      expect.objectContaining({ hint: 'Use one of fastest, cheapest, spread, local-first, most-cores, or register it first.' }),
    )
    expect(() => registry.register('Bad Name', () => 0)).toThrow(NoodleError)
  })

  it('a scoring function that returns NaN ranks that peer last', () => {
    const nanForA: ScoringStrategy = (_t, c) => (c.peerId === 'a' ? Number.NaN : 5)
    expect(place(task(), [peer('a'), peer('b')], { strategy: nanForA })).toBe('b')
  })
})

describe('properties', () => {
  const peerSpec = fc.record({
    cores: fc.integer({ min: 1, max: 64 }),
    totalMB: fc.integer({ min: 256, max: 131_072 }),
    freeFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    webgpu: fc.boolean(),
    npus: fc.integer({ min: 0, max: 1 }),
    health: fc.constantFrom('alive', 'suspect', 'dead' as const),
    queueLength: fc.integer({ min: 0, max: 20 }),
    queueLimit: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
    price: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: undefined }),
    kernels: fc.option(fc.subarray(['matmul', 'fft', 'saxpy']), { nil: undefined }),
    excluded: fc.boolean(),
    authorized: fc.boolean(),
  })
  const requirements = fc.record(
    {
      cpu: fc.integer({ min: 1, max: 64 }),
      memoryMB: fc.integer({ min: 1, max: 131_072 }),
      gpu: fc.boolean(),
      npu: fc.boolean(),
    },
    { requiredKeys: [] },
  )
  const declaration = fc.record(
    {
      kernel: fc.constantFrom('matmul', 'fft', 'saxpy'),
      requires: requirements,
      maxCost: fc.double({ min: 0, max: 10, noNaN: true }),
      placement: fc.constantFrom('fastest', 'cheapest', 'spread', 'local-first'),
    },
    { requiredKeys: ['kernel', 'requires', 'placement'] },
  )

  it('placement never returns an excluded, unauthorised, dead or unqualified peer, and finds one whenever one qualifies', () => {
    fc.assert(
      fc.property(fc.array(peerSpec, { maxLength: 30 }), declaration, (specs, d) => {
        const t = parseTask({ ...d, input: new Uint8Array(100) })
        const model = new CostModel()
        const candidates = specs.map((s, i) => peer(`p${i}`, { ...s, freeMB: Math.floor(s.totalMB * s.freeFraction), local: i === 0 }))
        const exclude = new Set(candidates.filter((_, i) => specs[i].excluded).map((c) => c.peerId))
        const allowed = new Set(candidates.filter((_, i) => specs[i].authorized).map((c) => c.peerId))
        const authorize = (c: Candidate) => allowed.has(c.peerId)
        const qualifies = (c: Candidate): boolean => {
          const r = t.requires
          if (c.kernels !== undefined && !c.kernels.has(t.kernel)) return false
          if (r.gpu === true && !c.gpu) return false
          if (r.npu === true && !c.npu) return false
          if (c.cores < (r.cpu ?? 0) || c.freeMemoryMB < (r.memoryMB ?? 0)) return false
          if (c.health === 'dead' || exclude.has(c.peerId) || !allowed.has(c.peerId)) return false
          if (c.queueLimit !== undefined && c.queueLength >= c.queueLimit) return false
          const prepared = model.prepare(t)
          const estimate = model.estimate(prepared, c, 0, emptyEstimate())
          return estimate.cost <= (t.maxCost ?? Number.POSITIVE_INFINITY)
        }
        const anyQualifies = candidates.some(qualifies)
        try {
          const { peer: chosen } = placeTask(t, candidates, { model, exclude, authorize })
          expect(qualifies(chosen)).toBe(true)
        } catch (err) {
          expect(isNoodleError(err, 'TASK_UNPLACEABLE')).toBe(true)
          expect(anyQualifies).toBe(false)
        }
      }),
      { numRuns: 300 },
    )
  })

  it('fastest returns the qualifying peer with the lowest estimated total', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ cores: fc.integer({ min: 1, max: 64 }), queueLength: fc.integer({ min: 0, max: 50 }) }), {
          minLength: 1,
          maxLength: 40,
        }),
        (specs) => {
          const model = new CostModel()
          const candidates = specs.map((s, i) => peer(`p${i}`, s))
          const t = task()
          const { estimate } = placeTask(t, candidates, { model })
          const prepared = model.prepare(t)
          for (const c of candidates) {
            const other = model.estimate(prepared, c, 0, emptyEstimate())
            expect(estimate.totalMs).toBeLessThanOrEqual(other.totalMs)
          }
        },
      ),
    )
  })
})
