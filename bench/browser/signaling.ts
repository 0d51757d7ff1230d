// A signalling-server channel for the transport in the benchmark page, with a way to wait until it is registered:
// the transport connects in the background, and a dial sent before both ends are registered would fail.

import type { ComponentLogger, Logger } from '@libp2p/interface'
import { type SignalChannelFactory, type SignalingServerChannel, signalingServer } from '@noodlenet/webrtc'

export interface ReadySignaling {
  factory: SignalChannelFactory
  /** Resolves once the channel the transport made has registered with the server. */
  ready(): Promise<void>
}

export function readySignaling(url: string): ReadySignaling {
  let made: SignalingServerChannel | undefined
  return {
    factory: (context) => {
      made = signalingServer(url)(context) as SignalingServerChannel
      return made
    },
    ready: async () => {
      if (made === undefined) throw new Error('the transport has not started its signalling channel')
      await made.client.whenReady()
    },
  }
}

/** libp2p's loggers, silent (the harness runs hot loops). */
export const silentLogger: ComponentLogger = { forComponent: () => silent }

function silentLog(): void {}
const silent: Logger = Object.assign(silentLog, { error: silentLog, trace: silentLog, enabled: false, newScope: () => silent })
