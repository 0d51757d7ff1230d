// A bare socket.io client that speaks the signalling protocol by hand, so tests can send anything (wrong shapes,
// unknown events, other peers' signatures) and await each event the server sends back, in order.

import type { PrivateKey } from '@libp2p/interface'
import { type SignalingChallenge, signSignalingChallenge } from '@noodlenet/shared'
import { io, type Socket } from 'socket.io-client'

export interface Received {
  event: string
  args: unknown[]
  /** performance.now() when it arrived. */
  at: number
}

/** An ack as the server sends it: `{ ok: true, … }` or `{ ok: false, code, message }`. */
export interface AckResult {
  ok: boolean
  code?: string
  message?: string
  peers?: string[]
}

export class TestClient {
  readonly socket: Socket
  /** Every event received, in order (challenge, error, peer:joined, …). */
  readonly log: Received[] = []
  private readonly consumed = new Map<string, number>()
  private readonly wakers = new Set<() => void>()
  readonly challenge: Promise<SignalingChallenge>
  readonly disconnected: Promise<string>
  peerId: string | undefined

  constructor(url: string) {
    this.socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false })
    this.socket.onAny((event: string, ...args: unknown[]) => {
      this.log.push({ event, args, at: performance.now() })
      for (const wake of this.wakers) wake()
    })
    this.disconnected = new Promise((resolve) => this.socket.once('disconnect', (reason) => resolve(reason)))
    this.challenge = this.next('challenge') as Promise<SignalingChallenge>
  }

  /** The next `event` not yet taken by an earlier next(): its first argument. */
  next(event: string, timeoutMs = 5_000): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const from = this.consumed.get(event) ?? 0
        const index = this.log.findIndex((entry, i) => i >= from && entry.event === event)
        if (index < 0) return false
        this.consumed.set(event, index + 1)
        resolve(this.log[index].args[0])
        return true
      }
      if (check()) return
      const timer = setTimeout(() => {
        this.wakers.delete(wake)
        const seen = this.log.map((entry) => entry.event).join(', ')
        reject(new Error(`no "${event}" event within ${timeoutMs} ms (received: ${seen})`))
      }, timeoutMs)
      const wake = (): void => {
        if (!check()) return
        clearTimeout(timer)
        this.wakers.delete(wake)
      }
      this.wakers.add(wake)
    })
  }

  /** Events of this name received so far. */
  count(event: string): number {
    return this.log.filter((entry) => entry.event === event).length
  }

  ack(event: string, ...args: unknown[]): Promise<AckResult> {
    return this.socket.timeout(5_000).emitWithAck(event, ...args)
  }

  /** Registers `key`'s peer id by answering this connection's challenge. */
  async register(key: PrivateKey): Promise<AckResult> {
    const request = await signSignalingChallenge(key, await this.challenge)
    const result = await this.ack('register', request)
    if (result.ok === true) this.peerId = request.peerId
    return result
  }

  async join(room?: string): Promise<AckResult> {
    return this.ack('join', room === undefined ? {} : { room })
  }

  close(): void {
    this.socket.disconnect()
  }
}

/** Polls `check` until it holds; for state without an event to await (such as /health). */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await Promise.resolve(check()).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
