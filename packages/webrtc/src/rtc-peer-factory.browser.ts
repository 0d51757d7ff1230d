// Browsers: @thaunknown/simple-peer (simple-peer's maintained ESM fork, no Node polyfills) over the native
// RTCPeerConnection. Its `lite` build leaves out media tracks, which a data-only transport never uses.

import Peer from '@thaunknown/simple-peer/lite.js'
import type { CreateRtcPeer, FlushScheduler, RtcPeer } from './rtc-peer.js'

/** Browsers' `send` only queues, so writes leave at the end of the current task (a macrotask would cost a 4 ms
 *  timer clamp). */
export const scheduleFlush: FlushScheduler = (flush) => {
  queueMicrotask(flush)
}

export const createRtcPeer: CreateRtcPeer = async (options) =>
  new Peer({
    initiator: options.initiator,
    config: options.config,
    channelConfig: options.channelConfig,
    trickle: true,
  }) as unknown as RtcPeer
