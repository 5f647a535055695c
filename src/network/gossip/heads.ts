import type { GossipSub } from '@libp2p/gossipsub'
import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger, PeerId } from '@libp2p/interface'
import { decodeCanonical, encodeCbor, FieldReader } from '../../core/codec/cbor.ts'
import { MalformedRecordError, NamespaceViolationError, WrongKeyError } from '../../core/errors.ts'
import { equalBytes } from '../../core/crypto/hash.ts'
import { ED25519_PUBLIC_KEY_BYTES } from '../../core/crypto/signature.ts'
import { FORK_EVIDENCE_MAX_BYTES, verifyForkEvidence } from '../../core/ledger/fork.ts'
import type { VerifiedForkEvidence } from '../../core/ledger/fork.ts'
import { HASH_BYTES } from '../../core/ledger/merkle.ts'
import { MAX_PROOF_HASHES } from '../../core/ledger/proofs.ts'
import { compareHeadRecords, HEAD_RECORD_MAX_BYTES } from '../../core/record/head-record.ts'
import type { HeadRecord, VerifiedHeadRecord } from '../../core/record/head-record.ts'
import type { RecordValidator } from '../../core/record/validator.ts'
import { MAX_CHAIN_LENGTH } from '../../core/trust/chain.ts'
import type { VerifiedChain } from '../../core/trust/chain.ts'
import { messageKey, publishOnTopic, subscribeTopic } from '../node/topic.ts'
import type { TopicSubscription } from '../node/topic.ts'

/**
 * Ledger gossip: authorities announce every new signed tree head here, and a node that proves a
 * fork announces the evidence, so every node learns of it without trusting the messenger.
 *
 *   { v: 1, type: "head-update", record: bytes(HeadRecord), fromSize: uint, proof: [bytes(32)] }
 *       `proof` is the RFC 9162 consistency proof from the log's previous announced head (of
 *       `fromSize` leaves) to this one: a node holding that head checks it without asking anyone.
 *   { v: 1, type: "fork-alarm", evidence: bytes(ForkEvidence), key: bytes(32), chain: [bytes(Certificate)] }
 *       the evidence, with the key it is checked under and the chain certifying that key for the log.
 *
 * The topic validator verifies signatures (head, chain, evidence) and *rejects* anything forged, so
 * gossipsub scores the sender down; it does not judge consistency (that needs the log's owner).
 */
export const HEADS_TOPIC = '/citycode/heads/1.0.0'
export const HEADS_MESSAGE_MAX_BYTES = HEAD_RECORD_MAX_BYTES + FORK_EVIDENCE_MAX_BYTES + MAX_CHAIN_LENGTH * 2048

export type HeadsMessage =
  | { type: 'head-update', record: Uint8Array, fromSize: number, proof: Uint8Array[] }
  | { type: 'fork-alarm', evidence: Uint8Array, key: Uint8Array, chain: Uint8Array[] }

export type VerifiedHeadsMessage =
  | { type: 'head-update', head: VerifiedHeadRecord, fromSize: number, proof: Uint8Array[] }
  | { type: 'fork-alarm', fork: VerifiedForkEvidence, key: Uint8Array, chain: readonly Uint8Array[], verifiedChain: VerifiedChain }

export function encodeHeadsMessage (message: HeadsMessage): Uint8Array {
  if (message.type === 'head-update') return encodeCbor({ v: 1, type: message.type, record: message.record, fromSize: message.fromSize, proof: message.proof })
  return encodeCbor({ v: 1, type: message.type, evidence: message.evidence, key: message.key, chain: message.chain })
}

export function decodeHeadsMessage (bytes: Uint8Array): HeadsMessage {
  const value = decodeCanonical(bytes, HEADS_MESSAGE_MAX_BYTES, 'heads message')
  const type = new FieldReader(value, 'heads message', ['v', 'type', 'record', 'fromSize', 'proof', 'evidence', 'key', 'chain']).string('type', 16)
  if (type === 'head-update') {
    const r = new FieldReader(value, 'heads message', ['v', 'type', 'record', 'fromSize', 'proof'])
    r.literal('v', 1)
    const proof = r.bytesArray('proof', MAX_PROOF_HASHES)
    proof.forEach((h, i) => { if (h.length !== HASH_BYTES) r.bytes(`proof[${i}]`, HASH_BYTES) })
    return { type, record: r.bytes('record'), fromSize: r.uint('fromSize'), proof }
  }
  if (type === 'fork-alarm') {
    const r = new FieldReader(value, 'heads message', ['v', 'type', 'evidence', 'key', 'chain'])
    r.literal('v', 1)
    return { type, evidence: r.bytes('evidence'), key: r.bytes('key', ED25519_PUBLIC_KEY_BYTES), chain: r.bytesArray('chain', MAX_CHAIN_LENGTH) }
  }
  throw new MalformedRecordError(`heads message.type "${type}" is not known`, { what: 'heads message', field: 'type' })
}

/**
 * Decodes and verifies a heads message: a head update's head record (chain, key, signature), or a
 * fork alarm's chain (certifying `key` for the evidence's log) and evidence (both heads signed by
 * `key`, provably inconsistent). Throws the typed error of the first failure.
 */
export function verifyHeadsMessage (bytes: Uint8Array, validator: RecordValidator): VerifiedHeadsMessage {
  const message = decodeHeadsMessage(bytes)
  if (message.type === 'head-update') {
    const head = validator.validateHead(message.record)
    if (message.fromSize > head.record.sth.head.size) {
      throw new MalformedRecordError('heads message.fromSize is larger than the head', { what: 'heads message', field: 'fromSize' })
    }
    return { type: 'head-update', head, fromSize: message.fromSize, proof: message.proof }
  }
  const verifiedChain = validator.chains.verify(message.chain, message.key, { now: validator.now(), revocations: validator.revocations })
  if (!equalBytes(verifiedChain.subject, message.key)) throw new WrongKeyError('fork evidence comes with a key its chain does not certify', {})
  const fork = verifyForkEvidence(message.evidence, message.key)
  if (verifiedChain.namespace !== fork.log) {
    throw new NamespaceViolationError(`fork evidence of log ${fork.log} comes with a key certified for ${verifiedChain.namespace}`, { code: fork.log, namespace: verifiedChain.namespace })
  }
  return { type: 'fork-alarm', fork, key: message.key, chain: message.chain, verifiedChain }
}

export interface HeadsCounters {
  accepted: number
  rejected: number
  /** Valid head updates older than (or the same head as) the newest this node took for the log: ignored. */
  stale?: number
}

/** Logs whose newest accepted head the subscription remembers. */
export const HEADS_NEWEST_CACHE_SIZE = 4096

/**
 * Whether `head` adds nothing to `newest` (the newest head taken for its log): a smaller tree, or
 * the same tree (same size and root) with no more cosignatures. A head of the same size with
 * another root is never stale: it is a split view, which the ledger must see to raise the alarm.
 */
export function isStaleHead (head: HeadRecord, newest: HeadRecord | undefined): boolean {
  if (newest === undefined) return false
  if (head.sth.head.size < newest.sth.head.size) return true
  if (head.sth.head.size > newest.sth.head.size || !equalBytes(head.sth.head.root, newest.sth.head.root)) return false
  return compareHeadRecords(head, newest) <= 0
}

export interface HeadsSubscription extends TopicSubscription {
  readonly counters: HeadsCounters
}

/** Subscribes to the heads topic; `onMessage` gets every verified message another node published. */
export function subscribeHeads (pubsub: GossipSub, validator: RecordValidator, onMessage: (message: VerifiedHeadsMessage, forwardedBy: PeerId) => void, logger?: ComponentLogger): HeadsSubscription {
  const counters: HeadsCounters = { accepted: 0, rejected: 0, stale: 0 }
  const log = (logger ?? defaultLogger()).forComponent('citycode:heads')
  const newest = new Map<string, HeadRecord>()
  // the message event follows validation: keep what was verified so it is verified once
  const verified = new Map<string, VerifiedHeadsMessage>()
  const subscription = subscribeTopic(pubsub, HEADS_TOPIC, {
    validate: ({ data, propagationSource }) => {
      try {
        const message = verifyHeadsMessage(data, validator)
        if (message.type === 'head-update') {
          // a replayed old head dies here instead of crossing the whole mesh (issue #16)
          const record = message.head.record
          const logName = record.sth.head.log
          if (isStaleHead(record, newest.get(logName))) {
            counters.stale = (counters.stale ?? 0) + 1
            return 'ignore'
          }
          newest.delete(logName)
          newest.set(logName, record)
          if (newest.size > HEADS_NEWEST_CACHE_SIZE) newest.delete(newest.keys().next().value as string)
        }
        verified.set(messageKey(data), message)
        if (verified.size > 256) verified.delete(verified.keys().next().value as string)
        counters.accepted++
        return 'accept'
      } catch (err) {
        counters.rejected++
        log('rejected a heads message from %p: %s: %s', propagationSource, (err as Error).name, (err as Error).message)
        return 'reject'
      }
    },
    onMessage: ({ data, propagationSource }) => {
      const id = messageKey(data)
      let message = verified.get(id)
      verified.delete(id)
      if (message === undefined) {
        try {
          message = verifyHeadsMessage(data, validator)
        } catch {
          return
        }
      }
      onMessage(message, propagationSource)
    },
    ...(logger !== undefined ? { logger } : {})
  })
  return { topic: subscription.topic, unsubscribe: subscription.unsubscribe, counters }
}


export async function publishHeadsMessage (pubsub: GossipSub, bytes: Uint8Array): Promise<number> {
  return await publishOnTopic(pubsub, HEADS_TOPIC, bytes)
}
