// The cost of a link, from what link-state records say about it: its round trip, how busy the peer at its far end
// is (relaying through a loaded peer delays everything it relays), and how many recent requests over it failed.
// Whole units of about a millisecond, at least 1: routes do not flap on sub-millisecond jitter, equal paths are
// exactly equal (ECMP), and on a LAN, where every link is under a millisecond, the fewest hops win.

/** Cost of a fully loaded far end, in milliseconds of round trip. */
export const LOAD_COST_MS = 10
/** Cost of a link whose every recent request failed, in milliseconds of round trip. */
export const LOSS_COST_MS = 100

export interface LinkQuality {
  rttMs: number
  /** Share of recent requests over the link that failed, 0 to 1. */
  loss?: number
}

/** cost = max(1, round(rttMs + LOAD_COST_MS * load(far end) + LOSS_COST_MS * loss)). */
export function linkCost(link: LinkQuality, farEndLoad: number): number {
  return costOf(link.rttMs, link.loss ?? 0, farEndLoad)
}

/** linkCost on plain numbers, for the graph's inner loop (no object per link). */
export function costOf(rttMs: number, loss: number, farEndLoad: number): number {
  const cost = rttMs + LOAD_COST_MS * clamp01(farEndLoad) + LOSS_COST_MS * clamp01(loss)
  return Number.isFinite(cost) ? Math.max(1, Math.round(cost)) : 1
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value))
}
