import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { AbortOptions } from '@libp2p/interface'
import { equalBytes, sha256 } from '../../core/crypto/hash.ts'
import { decodeLeaf } from '../../core/ledger/log.ts'
import { leafHash } from '../../core/ledger/merkle.ts'
import { verifyInclusion } from '../../core/ledger/proofs.ts'
import { verifyTreeHead } from '../../core/ledger/tree-head.ts'
import type { Cosignature } from '../../core/ledger/tree-head.ts'
import { decodeHeadRecord } from '../../core/record/head-record.ts'
import type { VerifiedRecord } from '../../core/record/verify.ts'
import { deadlineSignal } from '../../network/deadline.ts'
import type { CitycodeLibp2p } from '../../network/node/index.ts'
import {
  decodeLedgerResponse, encodeLedgerRequest, LEDGER_PROTOCOL, LEDGER_RESPONSE_MAX_BYTES, MAX_ENTRIES_PER_REQUEST
} from '../../network/protocols/ledger.ts'
import type { LedgerAnswers, LedgerOp, LedgerRequest } from '../../network/protocols/ledger.ts'
import { sendRequest } from '../../network/rpc/index.ts'
import type { PeerRef } from '../resolver/index.ts'

/** The whole search for a record's entry in another node's log. */
export const REMOTE_INCLUSION_TIMEOUT_MS = 5_000
/** Entries read back from the end of the log: a current version was logged recently. */
export const REMOTE_INCLUSION_MAX_ENTRIES = 4 * MAX_ENTRIES_PER_REQUEST

export interface RemoteInclusion {
  readonly head: Uint8Array
  readonly index: number
  readonly path: Uint8Array[]
  readonly cosignatures: readonly Cosignature[]
}

/**
 * Asks the node that keeps the log of a record's signer (the `/citycode/ledger/1.0.0` protocol) for
 * its latest head, finds the record's entry among the latest entries and fetches its inclusion
 * proof. Everything is checked here against the record's key, so a node that lies only costs the
 * bundle its ledger part; undefined when the log, the entry or the node cannot be had in time.
 */
export async function fetchRecordInclusion (libp2p: CitycodeLibp2p, peer: PeerRef, verified: VerifiedRecord, options: AbortOptions = {}): Promise<RemoteInclusion | undefined> {
  const record = verified.record
  const log = verified.chain.namespace
  const deadline = deadlineSignal(REMOTE_INCLUSION_TIMEOUT_MS, options.signal)
  const peerId = peerIdFromString(peer.id)
  const ask = async <K extends LedgerOp>(request: Extract<LedgerRequest, { op: K }>): Promise<LedgerAnswers[K]> =>
    decodeLedgerResponse(await sendRequest(libp2p, peerId, LEDGER_PROTOCOL, encodeLedgerRequest(request), { signal: deadline.signal, maxResponseBytes: LEDGER_RESPONSE_MAX_BYTES }), request.op as K)
  try {
    if (peer.addrs.length > 0) await libp2p.peerStore.merge(peerId, { multiaddrs: peer.addrs.map(a => multiaddr(a)) }).catch(() => undefined)
    const head = decodeHeadRecord((await ask({ op: 'get-head', log })).record)
    if (!equalBytes(head.key, record.body.key)) return undefined
    const sth = verifyTreeHead(head.sth, record.body.key, { log })
    const size = sth.head.size
    const object = sha256(record.bytes)
    let index: number | undefined
    for (let to = size; to > 0 && index === undefined && size - to < REMOTE_INCLUSION_MAX_ENTRIES; ) {
      const from = Math.max(0, to - MAX_ENTRIES_PER_REQUEST)
      const { entries } = await ask({ op: 'get-entries', log, from, to })
      for (let i = entries.length - 1; i >= 0 && index === undefined; i--) {
        const entry = decodeLeaf(entries[i] as Uint8Array)
        if (entry.type === 'record' && entry.code === record.body.code && equalBytes(entry.object, object)) index = from + i
      }
      to = from
    }
    if (index === undefined) return undefined
    const { proof, leaf } = await ask({ op: 'get-inclusion', log, index, size })
    verifyInclusion(leafHash(leaf), index, size, proof, sth.head.root)
    return { head: sth.bytes, index, path: proof, cosignatures: head.cosignatures }
  } catch {
    return undefined
  } finally {
    deadline.clear()
  }
}
