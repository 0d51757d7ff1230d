// The browser entry in real Chromium: identity kept in IndexedDB, the browser hardware probe, and tabs' nodes
// forming a mesh and gossiping browser profiles.

import { memory } from '@libp2p/memory'
import type { NoodleNode } from '@noodlenet/shared'
import { afterEach, describe, expect, it } from 'vitest'
import { NoodleDatabase } from '../src/browser/idb-database.js'
import { claimIdentitySlot, createNode, loadOrCreateIdentity, probeBrowserHardware } from '../src/browser/index.js'

const databases: string[] = []
const nodes: NoodleNode[] = []
let counter = 0

function databaseName(): string {
  const name = `noodlenet-test-${Date.now().toString(36)}-${counter++}`
  databases.push(name)
  return name
}

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((node) => node.stop()))
  for (const name of databases.splice(0)) {
    await new Promise<void>((resolve) => {
      const request = indexedDB.deleteDatabase(name)
      request.onsuccess = () => resolve()
      request.onerror = () => resolve()
      request.onblocked = () => resolve()
    })
  }
})

async function eventually(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('browser identity', () => {
  it('is created once and kept: a reload is the same peer, and two tabs opening at once agree', async () => {
    const name = databaseName()
    const [a, b] = await Promise.all([loadOrCreateIdentity(new NoodleDatabase(name)), loadOrCreateIdentity(new NoodleDatabase(name))])
    expect(a.publicKey.equals(b.publicKey)).toBe(true)
    const again = await loadOrCreateIdentity(new NoodleDatabase(name))
    expect(again.publicKey.equals(a.publicKey)).toBe(true)
    const other = await loadOrCreateIdentity(new NoodleDatabase(databaseName()))
    expect(other.publicKey.equals(a.publicKey)).toBe(false)
  })
})

describe('identity slots', () => {
  it('each live context claims its own slot, so two tabs are two peers; slots hold different keys', async () => {
    const name = databaseName()
    const first = await claimIdentitySlot(name)
    const second = await claimIdentitySlot(name)
    expect(second).not.toBe(first)
    const a = await loadOrCreateIdentity(new NoodleDatabase(name), first)
    const b = await loadOrCreateIdentity(new NoodleDatabase(name), second)
    expect(a.publicKey.equals(b.publicKey)).toBe(false)
    expect((await loadOrCreateIdentity(new NoodleDatabase(name), first)).publicKey.equals(a.publicKey)).toBe(true)
  })
})

describe('browser hardware probe', () => {
  it('reads cores and memory from the browser', async () => {
    const hardware = await probeBrowserHardware()
    expect(hardware.cpu.cores).toBeGreaterThan(0)
    expect(hardware.npus).toEqual([])
  })

  it('reports a WebGPU adapter with its limits, and keeps a software fallback out of the GPU list', async () => {
    const limits = {
      maxBufferSize: 1 << 30,
      maxStorageBufferBindingSize: 1 << 27,
      maxComputeWorkgroupStorageSize: 32768,
      maxComputeInvocationsPerWorkgroup: 256,
      maxComputeWorkgroupSizeX: 256,
    }
    const fake = (fallback: boolean) => ({
      hardwareConcurrency: 8,
      deviceMemory: 8,
      gpu: {
        requestAdapter: async () => ({
          info: { vendor: 'nvidia', architecture: 'hopper', device: 'H100', description: 'NVIDIA H100', isFallbackAdapter: fallback },
          limits,
        }),
      },
    })
    const real = await probeBrowserHardware(fake(false))
    expect(real.memory.totalMB).toBe(8192)
    expect(real.gpus).toEqual([{ vendor: 'nvidia', name: 'NVIDIA H100', source: 'webgpu' }])
    expect(real.webgpu).toMatchObject({ vendor: 'nvidia', fallback: false, limits })
    const software = await probeBrowserHardware(fake(true))
    expect(software.gpus).toEqual([])
    expect(software.webgpu?.fallback).toBe(true)
    expect((await probeBrowserHardware({ hardwareConcurrency: 2 })).webgpu).toBeUndefined()
  })
})

describe('createNode()', () => {
  it('two nodes in one tab form a mesh and gossip browser profiles; the node keeps its identity', async () => {
    const listen = `/memory/noodlenet-browser-${Date.now().toString(36)}`
    const first = await createNode({
      database: databaseName(),
      transports: [memory()],
      config: { network: { listen: [listen], presenceIntervalMs: 200 } },
    })
    nodes.push(first)
    const second = await createNode({
      database: databaseName(),
      transports: [memory()],
      bootstrap: [first.addrs()[0]],
      config: { network: { presenceIntervalMs: 200 } },
    })
    nodes.push(second)
    await eventually(() => second.presence.get(first.peerId) !== undefined, 15_000, 'the first profile to reach the second node')
    const profile = second.presence.get(first.peerId)
    expect(profile?.platform).toBe('browser')
    expect(profile?.hardware.cpu.cores).toBeGreaterThan(0)
    expect(second.peers().map((peer) => peer.peerId)).toContain(first.peerId.toString())
    expect(second.peers()[0].encryption).toBe('/noise')
  })
})
