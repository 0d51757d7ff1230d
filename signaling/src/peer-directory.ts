// Who is registered on this server and who is in which room: the server's only state, all of it rebuilt when peers
// re-register. A peer is announced to another when they come to share a room and when they stop sharing any, so a
// peer in several rooms with the same neighbour hears one `peer:joined` and one `peer:left`, not one per room.

import { LIMITS } from '@noodlenet/shared'

export interface DirectoryLimits {
  roomMaxPeers: number
  roomsPerPeer: number
}

export type JoinResult<S> =
  | { ok: true; peers: string[]; announceTo: S[] }
  | { ok: false; code: 'ROOM_FULL' | 'TOO_MANY_ROOMS'; message: string }

export class PeerDirectory<S> {
  private readonly sessions = new Map<string, S>()
  private readonly rooms = new Map<string, Map<string, S>>()
  private readonly roomsOf = new Map<string, Set<string>>()

  constructor(
    private readonly limits: DirectoryLimits = {
      roomMaxPeers: LIMITS.signalingRoomMaxPeers,
      roomsPerPeer: LIMITS.signalingRoomsPerConnection,
    },
  ) {}

  get peerCount(): number {
    return this.sessions.size
  }

  get roomCount(): number {
    return this.rooms.size
  }

  sessionOf(peerId: string): S | undefined {
    return this.sessions.get(peerId)
  }

  /** Registers `peerId` on `session`. The caller removes a previous session first (see `unregister`). */
  register(peerId: string, session: S): void {
    this.sessions.set(peerId, session)
    this.roomsOf.set(peerId, new Set())
  }

  /** Removes `peerId` if `session` still holds it; returns the sessions that should hear `peer:left`. */
  unregister(peerId: string, session: S): S[] {
    if (this.sessions.get(peerId) !== session) return []
    const announceTo: S[] = []
    for (const room of [...(this.roomsOf.get(peerId) ?? [])]) announceTo.push(...this.leave(peerId, room))
    this.sessions.delete(peerId)
    this.roomsOf.delete(peerId)
    return announceTo
  }

  join(peerId: string, room: string): JoinResult<S> {
    const mine = this.roomsOf.get(peerId)
    if (mine === undefined) throw new Error(`${peerId} is not registered`)
    const members = this.rooms.get(room) ?? new Map<string, S>()
    const peers = [...members.keys()].filter((other) => other !== peerId)
    if (mine.has(room)) return { ok: true, peers, announceTo: [] }
    if (mine.size >= this.limits.roomsPerPeer) {
      return {
        ok: false,
        code: 'TOO_MANY_ROOMS',
        message: `a connection may be in ${this.limits.roomsPerPeer} rooms at once: leave one first`,
      }
    }
    if (members.size >= this.limits.roomMaxPeers) {
      return {
        ok: false,
        code: 'ROOM_FULL',
        message: `room "${room}" has ${this.limits.roomMaxPeers} peers, its maximum: join another room`,
      }
    }
    const announceTo = [...members].filter(([other]) => !this.shareRoom(peerId, other)).map(([, session]) => session)
    members.set(peerId, this.sessions.get(peerId)!)
    this.rooms.set(room, members)
    mine.add(room)
    return { ok: true, peers, announceTo }
  }

  /** Returns the sessions that no longer share any room with `peerId` and should hear `peer:left`. */
  leave(peerId: string, room: string): S[] {
    const members = this.rooms.get(room)
    const mine = this.roomsOf.get(peerId)
    if (members === undefined || mine === undefined || !mine.has(room)) return []
    members.delete(peerId)
    mine.delete(room)
    if (members.size === 0) this.rooms.delete(room)
    return [...members].filter(([other]) => !this.shareRoom(peerId, other)).map(([, session]) => session)
  }

  private shareRoom(a: string, b: string): boolean {
    const roomsOfB = this.roomsOf.get(b)
    if (roomsOfB === undefined) return false
    for (const room of this.roomsOf.get(a) ?? []) if (roomsOfB.has(room)) return true
    return false
  }
}
