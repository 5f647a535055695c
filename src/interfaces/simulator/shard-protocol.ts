import type { Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { CitycodeError } from '../../core/errors.ts'
import type { Authorities } from './network-builder.ts'
import type { Scenario } from './scenario.ts'
import type { LookupResult, PutResult } from './operations.ts'

/** A shard that cannot be started, reached, or that failed an operation; `details.shard` names it. */
export class ShardError extends CitycodeError {
  static override readonly code = 'ERR_SIM_SHARD'
}

/** A node of a shard as the coordinator knows it. `key` is unique in the run: `root`, `country:CN`, `city:<global index>`, `resolver:<shard>:<n>`. */
export interface ShardNodeInfo {
  key: string
  role: 'root' | 'country' | 'city' | 'resolver'
  code?: string
  /** Address for peers of the same shard (memory). */
  addr: string
  /** Address for peers of other shards (TCP); resolvers listen on nothing. */
  tcpAddr?: string
  cityIndex?: number
  adversary: boolean
}


/** Every call the coordinator makes of a shard: its parameters and its result. */
export interface ShardMethods {
  build: {
    params: { scenario: Scenario, shard: number, shards: number, cityIndices: number[], resolvers: number, adversaries: number[], authorities?: Authorities }
    result: { nodes: ShardNodeInfo[], firstRecords: Record<string, string> }
  }
  /** The shard that runs the authorities waits for this before starting its own cities. */
  proceed: { params: Record<string, never>, result: Record<string, never> }
  dial: { params: { dials: Array<[string, string]> }, result: { connected: number } }
  adversaries: { params: { firstSeen: Record<string, string> }, result: { installed: number } }
  lookup: { params: { node: string, code: string, timeoutMs: number, dhtOnly: boolean }, result: LookupResult }
  baselineGet: { params: { node: string, code: string, timeoutMs: number }, result: LookupResult }
  /** `startedAt` is epoch ms, the reference of this update's gossip receipts. */
  update: { params: { node: string, version: string }, result: { seq: number, latencyMs: number, startedAt: number } }
  baselinePut: { params: { node: string, timeoutMs: number }, result: PutResult }
  kill: { params: { node: string, graceful: boolean }, result: { killed: boolean } }
  /** A node that left comes back (same keys and data); its TCP address may change. */
  rejoin: { params: { node: string }, result: { tcpAddr?: string } }
  /** Receipts: for `code#seq`, the epoch ms at which each node of the shard received it by gossip. */
  finish: { params: Record<string, never>, result: { receipts: Record<string, number[]>, rssBytes: number, heapBytes: number, userMs: number, systemMs: number, gossipRejected: number, loopDelayP99Ms: number, loopDelayMaxMs: number } }
  stop: { params: Record<string, never>, result: { stopped: number } }
}

export type MethodName = keyof ShardMethods

export type ToShard = { type: 'call', id: number, method: MethodName, params: unknown }

export type FromShard =
  | { type: 'hello', shard: number, pid: number }
  | { type: 'reply', id: number, result?: unknown, error?: string }
  | { type: 'progress', phase: string, done: number, total: number }
  | { type: 'authorities', authorities: Authorities }

/** Newline-delimited JSON both ways over one TCP connection: the same on loopback and between pods. */
export class JsonLines<In, Out> {
  private readonly socket: Socket

  constructor (socket: Socket, onMessage: (msg: In) => void) {
    this.socket = socket
    const lines = createInterface({ input: socket, crlfDelay: Infinity })
    lines.on('line', (line) => {
      if (line.trim() === '') return
      let msg: In
      try {
        msg = JSON.parse(line) as In
      } catch {
        socket.destroy(new ShardError('malformed control message'))
        return
      }
      onMessage(msg)
    })
  }

  send (msg: Out): void {
    this.socket.write(JSON.stringify(msg) + '\n')
  }

  close (): void {
    this.socket.end()
  }
}

/** The environment variables shard-main.ts reads. */
export const SHARD_ENV = ['CITYCODE_SIM_COORDINATOR', 'CITYCODE_SIM_SHARD', 'CITYCODE_SIM_HOST', 'CITYCODE_SIM_CONNECT_TIMEOUT_MS', 'JOB_COMPLETION_INDEX'] as const

/** Epoch milliseconds with sub-ms precision; comparable between processes of one machine (and NTP-synchronised pods). */
export const epochMs = (): number => performance.timeOrigin + performance.now()

/** `host:port` (IPv4 or a DNS name) as used by the coordinator and shard environment variables. */
export function parseHostPort (text: string, what: string): { host: string, port: number } {
  const m = /^([^:\s]+):(\d{1,5})$/.exec(text)
  const port = m === null ? NaN : Number(m[2])
  if (m === null || port < 0 || port > 65535) throw new ShardError(`${what} must be host:port, got "${text}"`, { field: what })
  return { host: m[1] as string, port }
}
