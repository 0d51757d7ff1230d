// Node 20 shims, in one place (see docs/NODE20.md). Node 20 lacks runtime features that libp2p v3 and our tools
// use; each is feature-detected and installed only when missing, so on Node 22+ this module does nothing.
// Imported first by the CLI entry and by the Node test setup.

import { WebSocket as WsWebSocket } from 'ws'

const g = globalThis as Record<string, unknown>

// libp2p, yamux, noise, tcp and gossipsub call Promise.withResolvers (Node 22+).
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void
      let reject!: (reason?: unknown) => void
      const promise = new Promise<T>((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    },
  })
}

// @libp2p/websockets dials with the global WebSocket (Node 22+); ws's class is API compatible.
if (typeof g.WebSocket !== 'function') g.WebSocket = WsWebSocket

// Map.groupBy / Object.groupBy (Node 21+): test reporters use them.
if (typeof (Map as { groupBy?: unknown }).groupBy !== 'function') {
  Object.defineProperty(Map, 'groupBy', {
    configurable: true,
    writable: true,
    value: function groupBy<K, V>(items: Iterable<V>, key: (item: V, index: number) => K): Map<K, V[]> {
      const groups = new Map<K, V[]>()
      let index = 0
      for (const item of items) {
        const k = key(item, index++)
        const group = groups.get(k)
        if (group === undefined) groups.set(k, [item])
        else group.push(item)
      }
      return groups
    },
  })
}
if (typeof (Object as { groupBy?: unknown }).groupBy !== 'function') {
  Object.defineProperty(Object, 'groupBy', {
    configurable: true,
    writable: true,
    value: function groupBy<V>(items: Iterable<V>, key: (item: V, index: number) => PropertyKey): Record<PropertyKey, V[]> {
      const groups: Record<PropertyKey, V[]> = Object.create(null)
      let index = 0
      for (const item of items) {
        const k = key(item, index++)
        const group = groups[k]
        if (group === undefined) groups[k] = [item]
        else group.push(item)
      }
      return groups
    },
  })
}
