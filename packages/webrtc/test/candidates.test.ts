// The candidate policy: `loopback` lets only 127.0.0.0/8 and ::1 candidates through, as trickled candidates and as
// candidate lines inside an SDP; `all` changes nothing.

import { describe, expect, it } from 'vitest'
import { allowsCandidate, candidateAddress, filterSignal } from '../src/candidates.js'

const host = (address: string) => `candidate:1510613869 1 udp 2122063615 ${address} 53445 typ host generation 0 ufrag FL+t network-id 3`

describe('ICE candidate policy', () => {
  it('reads the connection address of a candidate line, with or without a=', () => {
    expect(candidateAddress(host('127.0.0.1'))).toBe('127.0.0.1')
    expect(candidateAddress(`a=${host('::1')}`)).toBe('::1')
    expect(candidateAddress('not a candidate')).toBeUndefined()
  })

  it('loopback keeps 127.0.0.0/8 and ::1 and the end-of-candidates marker, and nothing else', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1']) expect(allowsCandidate('loopback', host(address))).toBe(true)
    expect(allowsCandidate('loopback', '')).toBe(true)
    for (const address of ['192.0.2.2', 'fd00::2', 'fe80::1', '0b6c3d2e-1234.local', '10.0.0.1']) {
      expect(allowsCandidate('loopback', host(address))).toBe(false)
    }
    expect(allowsCandidate('loopback', 'garbage')).toBe(false)
    expect(allowsCandidate('all', host('192.0.2.2'))).toBe(true)
  })

  it('drops refused trickled candidates and strips refused lines from an SDP', () => {
    const candidate = (address: string) => ({ type: 'candidate' as const, candidate: { candidate: host(address), sdpMLineIndex: 0 } })
    expect(filterSignal('loopback', candidate('192.0.2.2'))).toBeUndefined()
    expect(filterSignal('loopback', candidate('127.0.0.1'))).toEqual(candidate('127.0.0.1'))
    const sdp = ['v=0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', `a=${host('192.0.2.2')}`, `a=${host('127.0.0.1')}`, ''].join(
      '\r\n',
    )
    const filtered = filterSignal('loopback', { type: 'offer', sdp })
    expect(filtered).toEqual({
      type: 'offer',
      sdp: ['v=0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', `a=${host('127.0.0.1')}`, ''].join('\r\n'),
    })
    expect(filterSignal('all', { type: 'offer', sdp })).toEqual({ type: 'offer', sdp })
  })
})
