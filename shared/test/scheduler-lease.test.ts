// Lease bookkeeping (scheduler/lease.ts): a lease lasts leaseMs from its grant or last renewal; sweeping returns
// each lapsed lease once; a dead peer's leases are revoked together; a released lease never lapses; a sweep the
// owner ran late (its own stall) judges nobody.

import { describe, expect, it } from 'vitest'
import { LeaseTable } from '../src/scheduler/lease.js'

function table(leaseMs = 1_000): { leases: LeaseTable<string>; clock: { now: number } } {
  const clock = { now: 0 }
  return { leases: new LeaseTable<string>({ leaseMs, now: () => clock.now }), clock }
}

describe('task leases', () => {
  it('a lease not renewed for leaseMs expires once; a renewed one lives on', () => {
    const { leases, clock } = table()
    const quiet = leases.grant('peer-a', 'task-1')
    const beating = leases.grant('peer-b', 'task-2')
    clock.now = 600
    leases.renew(beating)
    expect(leases.expire()).toEqual([])
    clock.now = 1_000
    const expired = leases.expire()
    expect(expired.map((lease) => lease.owner)).toEqual(['task-1'])
    expect(quiet.lapsed).toBe(true)
    expect(beating.lapsed).toBe(false)
    // Swept once: the next sweep does not return it again.
    clock.now = 1_100
    expect(leases.expire()).toEqual([])
    clock.now = 1_600
    expect(leases.expire().map((lease) => lease.owner)).toEqual(['task-2'])
    expect(leases.size).toBe(0)
  })

  it('a dead peer loses every lease it holds, and only those', () => {
    const { leases } = table()
    leases.grant('dead', 'task-1')
    leases.grant('alive', 'task-2')
    leases.grant('dead', 'task-3')
    const revoked = leases.revoke('dead')
    expect(revoked.map((lease) => lease.owner).sort()).toEqual(['task-1', 'task-3'])
    expect(revoked.every((lease) => lease.lapsed)).toBe(true)
    expect(leases.size).toBe(1)
    expect(leases.revoke('dead')).toEqual([])
  })

  it("a lease granted longer (a throttled peer's) lasts its own length", () => {
    const { leases, clock } = table()
    leases.grant('tab', 'task-1', 4_000)
    leases.grant('server', 'task-2')
    clock.now = 1_000
    expect(leases.expire().map((lease) => lease.owner)).toEqual(['task-2'])
    clock.now = 3_999
    expect(leases.expire()).toEqual([])
    clock.now = 4_000
    expect(leases.expire().map((lease) => lease.owner)).toEqual(['task-1'])
  })

  it('a released lease never lapses', () => {
    const { leases, clock } = table()
    const lease = leases.grant('peer', 'task')
    leases.release(lease)
    clock.now = 10_000
    expect(leases.expire()).toEqual([])
    expect(leases.revoke('peer')).toEqual([])
    expect(lease.lapsed).toBe(false)
  })

  it("a sweep that runs late (the owner's own stall) lapses nothing and extends every lease by the stall", () => {
    const { leases, clock } = table(1_000)
    const sweepMs = 250
    const lease = leases.grant('peer', 'task')
    expect(leases.expire(sweepMs)).toEqual([])
    // The owner's event loop was blocked for 3 s: the heartbeats that came meanwhile are still unread.
    clock.now = 3_000
    expect(leases.expire(sweepMs)).toEqual([])
    expect(lease.lapsed).toBe(false)
    // The next sweep is on time: still within the extended lease, and a heartbeat read in between renews it.
    clock.now = 3_250
    expect(leases.expire(sweepMs)).toEqual([])
    leases.renew(lease)
    // Silent for a whole lease after that, sweeps on time: it lapses as usual.
    for (let t = 3_500; t < 4_250; t += sweepMs) {
      clock.now = t
      expect(leases.expire(sweepMs)).toEqual([])
    }
    clock.now = 4_250
    expect(leases.expire(sweepMs).map((each) => each.owner)).toEqual(['task'])
  })
})
