// Node: simple-peer 9 over @roamhq/wrtc (libwebrtc as a native addon with prebuilt binaries). The addon is loaded on
// the first connection, not at import, so a node that never uses WebRTC never loads it.

import { LIMITS } from '@noodlenet/shared'
import SimplePeer from 'simple-peer'
import type { BufferedAmountMarks, CreateRtcPeer, FlushScheduler, RtcPeer, WebRTCImplementation } from './rtc-peer.js'

/** A data channel `send` on @roamhq/wrtc blocks the event loop for ~0.1–0.3 ms (a synchronous hop to libwebrtc's
 *  thread), so writes are gathered for a whole event-loop turn: yamux's window update for what was just read and
 *  the reply written a few awaits later leave as one message, not two. Measured round trip over noise + yamux:
 *  ~0.8 ms flushing per microtask, see bench/webrtc.ts for the figure with this. */
export const scheduleFlush: FlushScheduler = (flush) => {
  setImmediate(flush)
}

/** Send backpressure: LIMITS' marks from the start (browsers begin with a shorter queue: rtc-peer-factory.browser.ts). */
export const bufferedAmountMarks: BufferedAmountMarks = {
  highBytes: LIMITS.webrtcBufferedAmountHighBytes,
  lowBytes: LIMITS.webrtcBufferedAmountLowBytes,
}

let wrtc: Promise<WebRTCImplementation> | undefined

function loadWrtc(): Promise<WebRTCImplementation> {
  if (wrtc === undefined) wrtc = import('@roamhq/wrtc').then((m) => (m.default ?? m) as WebRTCImplementation)
  return wrtc
}

export const createRtcPeer: CreateRtcPeer = async (options) => {
  const implementation = options.wrtc ?? (await loadWrtc())
  return new SimplePeer({
    initiator: options.initiator,
    config: options.config,
    channelConfig: options.channelConfig,
    trickle: true,
    wrtc: implementation as SimplePeer.Options['wrtc'],
  }) as unknown as RtcPeer
}
