// The Node peer's process metrics, beside the node's own (docs/METRICS.md): memory, heap, open file descriptors,
// the event loop's delay and the async resources keeping the process alive. They are what a soak run watches for
// leaks (a connection or PeerConnection never closed shows as handles and fds that only grow), and what an operator
// graphs next to the mesh. Read when /metrics is rendered; nothing runs in between except the event-loop histogram.

import { readdirSync } from 'node:fs'
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'
import { getHeapStatistics } from 'node:v8'
import type { MetricsRegistry } from '@noodlenet/shared'

/** Registers the process gauges in `registry`; returns a function that stops the event-loop sampling. */
export function registerProcessMetrics(registry: MetricsRegistry): () => void {
  const resident = registry.gauge('process_resident_memory_bytes', { help: 'Resident memory size in bytes.' })
  const heapUsed = registry.gauge('nodejs_heap_size_used_bytes', { help: 'V8 heap in use, in bytes.' })
  const heapTotal = registry.gauge('nodejs_heap_size_total_bytes', { help: 'V8 heap reserved, in bytes.' })
  const external = registry.gauge('nodejs_external_memory_bytes', {
    help: 'Memory of C++ objects bound to JavaScript (buffers included), in bytes.',
  })
  const fds = registry.gauge('process_open_fds', { help: 'Open file descriptors (sockets included); Linux only.' })
  const resources = registry.gauge<'type'>('nodejs_active_resources', {
    help: 'Async resources keeping the event loop alive (sockets, timers, …), by type.',
    labels: ['type'],
  })
  const lag = registry.gauge<'stat'>('nodejs_eventloop_delay_seconds', {
    help: 'Event-loop delay since the previous scrape: its median (p50), 99th percentile (p99) and max.',
    labels: ['stat'],
  })
  const afterGc = registry.gauge('nodejs_heap_used_after_gc_bytes', {
    help: 'V8 heap in use just after the latest full (mark-sweep-compact) collection: the floor that a leak raises.',
  })
  const collections = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        afterGc.set(undefined, getHeapStatistics().used_heap_size)
      }
    }
  })
  collections.observe({ entryTypes: ['gc'] })
  const delay = monitorEventLoopDelay({ resolution: 20 })
  delay.enable()
  const seen = new Set<string>()
  registry.onCollect(() => {
    const memory = process.memoryUsage()
    resident.set(undefined, memory.rss)
    heapUsed.set(undefined, memory.heapUsed)
    heapTotal.set(undefined, memory.heapTotal)
    external.set(undefined, memory.external)
    if (process.platform === 'linux') fds.set(undefined, openFds())
    const counts = new Map<string, number>()
    for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1)
    // A type seen before and gone now reads 0, not its last count.
    for (const type of seen) if (!counts.has(type)) counts.set(type, 0)
    for (const [type, count] of counts) {
      seen.add(type)
      resources.set({ type }, count)
    }
    if (delay.count > 0) {
      lag.set({ stat: 'p50' }, delay.percentile(50) / 1e9)
      lag.set({ stat: 'p99' }, delay.percentile(99) / 1e9)
      lag.set({ stat: 'max' }, delay.max / 1e9)
      delay.reset()
    }
  })
  return () => {
    delay.disable()
    collections.disconnect()
  }
}

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length
  } catch {
    return 0
  }
}
