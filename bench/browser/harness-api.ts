// What the benchmark page (harness.ts) offers bench/webrtc-browser.ts as `window.bench`. Three layers, each a link
// between two pages (or two nodes in one page for `libp2p`): a bare RTCDataChannel, our DataChannelConnection with
// nothing on top, and libp2p with noise + yamux. Latencies come back in microseconds, throughput in MB/s (10^6 B).

/** Which layer a link is made at. */
export type Layer = 'raw' | 'conn' | 'libp2p'

/** How the sender paces a bulk transfer (raw links only; the other layers use the transport's own). */
export interface RawBulkOptions {
  messageBytes: number
  /** Waits for `bufferedamountlow` when bufferedAmount is above this… */
  highWaterBytes: number
  /** …which fires at this. */
  lowWaterBytes: number
  /** Other marks for the link's first `bytes` (as the transport's browser marks: rtc-peer-factory.browser.ts). */
  start?: { highWaterBytes: number; lowWaterBytes: number; bytes: number }
}

/** Overrides for a link's transport and muxer, for experiments (bench/webrtc-browser.ts uses the defaults). */
export interface LinkTuning {
  /** The transport's `webrtc*` limits (WebRTCSignalledInit). */
  transport?: { maxMessageBytes?: number; bufferedAmountHighBytes?: number; bufferedAmountLowBytes?: number }
  /** yamux's per-stream windows (libp2p links). */
  yamux?: { initialStreamWindowSize?: number; maxStreamWindowSize?: number }
}

export interface BenchHarness {
  /** Registers a listener for `layer` with the signalling server at `url`; resolves with the address to dial (a
   *  peer id for raw, a `/p2p-webrtc-star/p2p/…` multiaddr for the others) and the listener's handle. */
  listen(layer: Layer, url: string, tuning?: LinkTuning): Promise<{ handle: number; address: string }>
  /** Dials `address` through the server at `url`; resolves with the dialling end's handle once the link is up. */
  dial(layer: Layer, url: string, address: string, tuning?: LinkTuning): Promise<number>
  /** `count` round trips of `payloadBytes` on the dialling end `handle`: one sample each, µs. */
  roundTrips(handle: number, count: number, payloadBytes: number): Promise<number[]>
  /** Before a `conn` bulk transfer: the listening end `handle` counts `bytes` and then answers one byte. */
  expect(handle: number, bytes: number): Promise<void>
  /** MB/s for `bytes` from the dialling end `handle` until the receiver's answer is back. */
  bulk(handle: number, bytes: number, chunkBytes: number, raw?: RawBulkOptions): Promise<number>
  /** The local and remote address of every connected peer connection's selected ICE pair. */
  iceAddresses(): Promise<Array<{ local: string; remote: string }>>
}

declare global {
  interface Window {
    bench?: BenchHarness
  }
}
