// NoodleNode as a whole: nodes in one realm form a mesh, gossip their profiles, and stop cleanly.

import { afterEach, describe, expect, it } from 'vitest'
import type { NoodleNode } from '../src/index.js'
import { eventually, startMesh } from './test-platform.js'

let nodes: NoodleNode[] = []
afterEach(async () => {
  await Promise.all(nodes.map((node) => node.stop()))
  nodes = []
})

describe('NoodleNode', () => {
  it('three nodes bootstrapping from the first form a full mesh', async () => {
    nodes = await startMesh(3)
    await eventually(() => nodes.every((node) => node.peers().length === 2), 15_000, 'full mesh')
    for (const node of nodes) {
      const others = nodes.filter((other) => other !== node).map((other) => other.peerId.toString())
      expect(
        node
          .peers()
          .map((peer) => peer.peerId)
          .sort(),
      ).toEqual(others.sort())
      for (const peer of node.peers()) {
        expect(peer.encryption).toBe('/noise')
        expect(peer.transport).toBe('memory')
      }
    }
  })

  it("every node hears every other node's profile on the presence topic", async () => {
    nodes = await startMesh(3)
    await eventually(() => nodes.every((node) => node.presence.profiles().length === 2), 15_000, 'presence everywhere')
    const profile = nodes[0].presence.get(nodes[1].peerId)
    expect(profile?.peerId).toBe(nodes[1].peerId.toString())
    expect(profile?.hardware.cpu.cores).toBe(2)
    expect(profile?.version).toMatch(/^\d+\.\d+\.\d+/)
  })

  it('a newcomer is heard as soon as it has a neighbour, not an interval later', async () => {
    // Presence every 10 minutes: the profiles published at start reach nobody, so only the publish on the first
    // subscriber (net/presence.ts) can carry them within the test's time.
    nodes = await startMesh(2, { network: { presenceIntervalMs: 600_000 } })
    await eventually(() => nodes.every((node) => node.presence.profiles().length === 1), 10_000, 'each to hear the other')
  })

  it('a stopped node is dropped by the others and two nodes share no state', async () => {
    nodes = await startMesh(3)
    await eventually(() => nodes.every((node) => node.peers().length === 2), 15_000, 'full mesh')
    const gone = nodes.pop() as NoodleNode
    await gone.stop()
    await eventually(() => nodes.every((node) => node.peers().length === 1), 15_000, 'peers drop the stopped node')
    expect(nodes[0].peerId.equals(nodes[1].peerId)).toBe(false)
  })
})
