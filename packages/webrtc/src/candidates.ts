// Which ICE candidates a node offers and accepts. `all` is WebRTC's normal behaviour. `loopback` keeps only
// 127.0.0.0/8 and ::1 candidates, in both directions and inside SDP too: for a mesh confined to one machine (tests,
// `pnpm start`, demos) where no packet should use a real interface. libwebrtc gathers on every interface and has no
// setting to restrict it, so the filter works on the signals instead: a candidate the remote never hears of is
// never tried.

import type { PeerSignal } from './signal-messages.js'

export type CandidatePolicy = 'all' | 'loopback'

/** The connection address of an ICE candidate line (`candidate:<foundation> <component> <transport> <priority>
 *  <address> <port> typ …`), or undefined when the line is not one. */
export function candidateAddress(candidate: string): string | undefined {
  const fields = candidate.replace(/^a=/, '').split(' ')
  return fields.length >= 8 && fields[0].startsWith('candidate:') ? fields[4] : undefined
}

export function isLoopbackAddress(address: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) || address === '::1' || address === '[::1]'
}

/** Whether `policy` lets this candidate line through. The empty candidate (end of candidates) always passes. */
export function allowsCandidate(policy: CandidatePolicy, candidate: string): boolean {
  if (policy === 'all' || candidate === '') return true
  const address = candidateAddress(candidate)
  return address !== undefined && isLoopbackAddress(address)
}

/** The signal with what `policy` refuses removed: undefined for a refused candidate, an SDP without the refused
 *  `a=candidate:` lines for a description. */
export function filterSignal(policy: CandidatePolicy, signal: PeerSignal): PeerSignal | undefined {
  if (policy === 'all') return signal
  if (signal.type === 'candidate') return allowsCandidate(policy, signal.candidate.candidate) ? signal : undefined
  const lines = signal.sdp.split('\r\n')
  const kept = lines.filter((line) => !line.startsWith('a=candidate:') || allowsCandidate(policy, line))
  return kept.length === lines.length ? signal : { ...signal, sdp: kept.join('\r\n') }
}
