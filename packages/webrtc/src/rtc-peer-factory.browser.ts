// Browsers: @thaunknown/simple-peer (simple-peer's maintained ESM fork, no Node polyfills) over the native
// RTCPeerConnection. Its `lite` build leaves out media tracks, which a data-only transport never uses.

import { LIMITS } from '@noodlenet/shared'
import Peer from '@thaunknown/simple-peer/lite.js'
import type { BufferedAmountMarks, CreateRtcPeer, FlushScheduler, RtcPeer } from './rtc-peer.js'

/** Browsers' `send` only queues, so writes leave at the end of the current task (a macrotask would cost a 4 ms
 *  timer clamp). */
export const scheduleFlush: FlushScheduler = (flush) => {
  queueMicrotask(flush)
}

/** Send backpressure in browsers: LIMITS' 1 MiB / 256 KiB, as on Node, but a new connection starts with 128 KiB /
 *  32 KiB for its first 8 MiB. In slow start SCTP sends what the channel holds in bursts, and Chromium itself drops
 *  packets on their way out (the kernel counted no UDP drops): with 1 MiB queued, the first 8 MiB on a new connection
 *  stalled in retransmission timeouts of 0.3–1.1 s and ran at 3–4 MB/s, the bare RTCDataChannel as much as ours. With
 *  a short queue SCTP recovers from its losses without the timeouts (that first transfer: 6–18 MB/s here, 3–11 before); kept
 *  for good, though, a short queue cost 6–14 % of the steady rate over noise + yamux, since a busy main thread refills
 *  it too late (docs/BENCHMARKS.md, webrtc-browser; decisions/0006). */
export const bufferedAmountMarks: BufferedAmountMarks = {
  highBytes: LIMITS.webrtcBufferedAmountHighBytes,
  lowBytes: LIMITS.webrtcBufferedAmountLowBytes,
  start: { highBytes: 128 * 1024, lowBytes: 32 * 1024, bytes: 8 * 1024 * 1024 },
}

export const createRtcPeer: CreateRtcPeer = async (options) =>
  new Peer({
    initiator: options.initiator,
    config: options.config,
    channelConfig: options.channelConfig,
    trickle: true,
  }) as unknown as RtcPeer
