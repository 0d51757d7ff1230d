// The upper bound for tab↔tab: a bare RTCPeerConnection with two data channels, no simple-peer and no libp2p. `echo`
// sends every message back; `sink` counts binary bytes and answers the text `done` with the count. Signalled
// through the same signalling server as the other layers: one offer and one answer with the candidates inline (no
// trickle), loopback candidates only (packages/webrtc's candidate filter).

import { generateKeyPair } from '@libp2p/crypto/keys'
import { filterSignal, SignalingClient } from '@noodlenet/webrtc'
import { randomBytes, timeEach } from '../support/stream-bench.js'
import type { RawBulkOptions } from './harness-api.js'

export interface RawLink {
  pc: RTCPeerConnection
  echo: RTCDataChannel
  sink: RTCDataChannel
  /** Bulk bytes sent so far (for RawBulkOptions.start). */
  sent: number
}

async function signalingClient(url: string): Promise<SignalingClient> {
  const client = new SignalingClient({ url, privateKey: await generateKeyPair('Ed25519') })
  client.start()
  await client.whenReady()
  return client
}

/** Answers every offer that reaches a new registration at `url`; resolves with its peer id (the address to dial). */
export async function listenRaw(url: string): Promise<string> {
  const signaling = await signalingClient(url)
  signaling.addEventListener('signal', (event) => {
    const { from, data } = event.detail
    void answer(data as RTCSessionDescriptionInit).then((description) => signaling.sendSignal(from, description))
  })
  return signaling.peerId
}

async function answer(offer: RTCSessionDescriptionInit): Promise<RTCSessionDescriptionInit> {
  const pc = newPeerConnection()
  pc.addEventListener('datachannel', ({ channel }) => serve(channel))
  await pc.setRemoteDescription(offer)
  await pc.setLocalDescription(await pc.createAnswer())
  return localDescription(pc)
}

function serve(channel: RTCDataChannel): void {
  channel.binaryType = 'arraybuffer'
  if (channel.label === 'echo') {
    channel.onmessage = (event) => channel.send(event.data)
    return
  }
  let bytes = 0
  channel.onmessage = (event) => {
    if (typeof event.data !== 'string') {
      bytes += (event.data as ArrayBuffer).byteLength
      return
    }
    channel.send(String(bytes))
    bytes = 0
  }
}

export async function dialRaw(url: string, remote: string): Promise<RawLink> {
  const signaling = await signalingClient(url)
  const pc = newPeerConnection()
  const echo = pc.createDataChannel('echo')
  const sink = pc.createDataChannel('sink')
  for (const channel of [echo, sink]) channel.binaryType = 'arraybuffer'
  const answered = new Promise<RTCSessionDescriptionInit>((resolve) => {
    signaling.addEventListener('signal', (event) => resolve(event.detail.data as RTCSessionDescriptionInit), { once: true })
  })
  await pc.setLocalDescription(await pc.createOffer())
  signaling.sendSignal(remote, await localDescription(pc))
  await pc.setRemoteDescription(await answered)
  await Promise.all([opened(echo), opened(sink)])
  await signaling.close()
  return { pc, echo, sink, sent: 0 }
}

export function rawRoundTrips(link: RawLink, count: number, payloadBytes: number): Promise<number[]> {
  const payload = randomBytes(payloadBytes)
  return timeEach(count, () => {
    const echoed = new Promise((resolve) => {
      link.echo.onmessage = resolve
    })
    link.echo.send(payload)
    return echoed
  })
}

export async function rawBulk(link: RawLink, bytes: number, options: RawBulkOptions): Promise<number> {
  const { sink } = link
  const message = randomBytes(options.messageBytes)
  const counted = new Promise<string>((resolve) => {
    sink.onmessage = (event) => resolve(String(event.data))
  })
  const started = performance.now()
  for (let sent = 0; sent < bytes; sent += message.byteLength, link.sent += message.byteLength) {
    const marks = options.start !== undefined && link.sent < options.start.bytes ? options.start : options
    sink.bufferedAmountLowThreshold = marks.lowWaterBytes
    if (sink.bufferedAmount > marks.highWaterBytes) {
      await new Promise((resolve) => sink.addEventListener('bufferedamountlow', resolve, { once: true }))
    }
    sink.send(message)
  }
  sink.send('done')
  const answer = await counted
  const seconds = (performance.now() - started) / 1000
  if (Number(answer) !== bytes) throw new Error(`raw bulk: receiver counted ${answer} bytes, sent ${bytes}`)
  return bytes / 1e6 / seconds
}

function newPeerConnection(): RTCPeerConnection {
  return new RTCPeerConnection({ iceServers: [] })
}

/** The local description once ICE gathering is complete, without its non-loopback candidates. */
async function localDescription(pc: RTCPeerConnection): Promise<RTCSessionDescriptionInit> {
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve) => {
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') resolve()
      })
    })
  }
  const description = pc.localDescription
  if (description === null || (description.type !== 'offer' && description.type !== 'answer')) throw new Error('no local description')
  return filterSignal('loopback', { type: description.type, sdp: description.sdp }) as RTCSessionDescriptionInit
}

function opened(channel: RTCDataChannel): Promise<void> {
  if (channel.readyState === 'open') return Promise.resolve()
  return new Promise((resolve, reject) => {
    channel.addEventListener('open', () => resolve(), { once: true })
    channel.addEventListener('error', () => reject(new Error(`data channel ${channel.label} failed`)), { once: true })
  })
}
