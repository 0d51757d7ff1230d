// Redundant execution for untrusted volunteers: a task run on `replicas` distinct peers is accepted when `quorum` of
// them return the same output, compared by the SHA-256 of its canonical CBOR (cborg sorts map keys, so equal values
// encode to equal bytes). The vote is bookkeeping only; TaskService places the replicas and keeps them apart.

import { encode } from 'cborg'
import { NoodleError } from '../errors.js'
import { LIMITS } from '../limits.js'

/** The replicas of one task: the queue entries placed so far and the peers they went to (each peer once). */
export interface ReplicaGroup {
  readonly peers: Set<string>
  readonly entries: Set<{ exclude(peerId: string, untilMs: number): void }>
}

/** Checks `replicas` and `quorum` (default: a majority) as a run gives them. */
export function replicaPlan(replicas: number, quorum: number | undefined): { replicas: number; quorum: number } {
  const max = LIMITS.taskReplicasMax
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > max) {
    throw new NoodleError('TASK_INVALID', `replicas must be a whole number from 1 to ${max}, not ${replicas}`, 'Fix replicas.')
  }
  const needed = quorum ?? Math.floor(replicas / 2) + 1
  if (!Number.isInteger(needed) || needed < 1 || needed > replicas) {
    throw new NoodleError('TASK_INVALID', `quorum must be a whole number from 1 to replicas (${replicas}), not ${quorum}`, 'Fix quorum.')
  }
  return { replicas, quorum: needed }
}

/** The output's identity for the vote: hex SHA-256 of its canonical CBOR. */
export async function outputHash(output: unknown): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encode(output)))
  let hex = ''
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0')
  return hex
}

/** One replica's answer: its output's hash, or undefined when it failed. */
export interface Ballot {
  peer: string
  hash: string | undefined
}

export class QuorumVote {
  readonly replicas: number
  readonly quorum: number
  readonly ballots: Ballot[] = []

  constructor(plan: { replicas: number; quorum: number }) {
    this.replicas = plan.replicas
    this.quorum = plan.quorum
  }

  /** Counts a ballot; returns the winning hash once `quorum` ballots agree on one. */
  cast(ballot: Ballot): string | undefined {
    this.ballots.push(ballot)
    if (ballot.hash === undefined) return undefined
    let same = 0
    for (const other of this.ballots) if (other.hash === ballot.hash) same++
    return same >= this.quorum ? ballot.hash : undefined
  }

  /** Whether every replica has answered. */
  get complete(): boolean {
    return this.ballots.length >= this.replicas
  }

  /** The peers whose output differs from `winner` (or, without one, from the most common output). */
  dissenters(winner?: string): string[] {
    const target = winner ?? this.mostCommon()
    return this.ballots.filter((ballot) => ballot.hash !== undefined && ballot.hash !== target).map((ballot) => ballot.peer)
  }

  /** How the outputs split: hash prefix → peers, for the QUORUM_FAILED message. */
  describe(): string {
    const groups = new Map<string, string[]>()
    for (const ballot of this.ballots) {
      const key = ballot.hash === undefined ? 'failed' : ballot.hash.slice(0, 12)
      groups.set(key, [...(groups.get(key) ?? []), ballot.peer.slice(-8)])
    }
    return [...groups].map(([hash, peers]) => `${hash}: ${peers.join(', ')}`).join('; ')
  }

  private mostCommon(): string | undefined {
    const counts = new Map<string, number>()
    for (const ballot of this.ballots) if (ballot.hash !== undefined) counts.set(ballot.hash, (counts.get(ballot.hash) ?? 0) + 1)
    let best: string | undefined
    let top = 0
    let tied = false
    for (const [hash, count] of counts) {
      if (count > top) {
        best = hash
        top = count
        tied = false
      } else if (count === top) tied = true
    }
    return tied ? undefined : best
  }
}
