import { equalBytes } from '../../core/crypto/hash.ts'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Logger } from '@libp2p/interface'
import type { RecordValidator } from '../../core/record/validator.ts'
import type { VerifiedRecord } from '../../core/record/verify.ts'
import { RECORD_MAX_BYTES } from '../../core/record/record.ts'
import type { SignedRecord } from '../../core/record/record.ts'
import { compareRecords } from '../../core/record/select.ts'
import { messageKey, publishOnTopic, recentlyAccepted } from '../node/topic.ts'

/** Every record update is announced here, so caches learn of changes at once. */
export const RECORDS_TOPIC = '/citycode/records/1.0.0'

export interface GossipCounters {
  accepted: number
  rejected: number
  /** Valid records no newer than the version this node already held: ignored, not forwarded. */
  stale?: number
}

/** Codes whose newest accepted version the subscription remembers (beyond what `held` knows). */
export const GOSSIP_NEWEST_CACHE_SIZE = 4096

export interface RecordUpdatesOptions {
  /** The version of `code` this node holds or caches (its resolver cache), if any. */
  held?: (code: string) => SignedRecord | undefined
}

/**
 * Subscribes to record updates. The topic validator runs the same verification as the DHT validator
 * and the resolver, and *rejects* (not ignores) anything that fails: gossipsub then scores the
 * sender down, so a peer spreading forged records is graylisted. A valid record no newer (by the
 * selection rule) than the version this node holds or last accepted is *ignored*: not delivered,
 * not forwarded, so a replayed old version dies at the first node that knows better (issue #16).
 */
export function subscribeRecordUpdates (pubsub: GossipSub, validator: RecordValidator, onRecord: (verified: VerifiedRecord, from: string) => void, log: Logger, options: RecordUpdatesOptions = {}): GossipCounters {
  const counters: GossipCounters = { accepted: 0, rejected: 0, stale: 0 }
  const newest = new Map<string, SignedRecord>()
  const known = (code: string): SignedRecord | undefined => {
    const a = newest.get(code)
    const b = options.held?.(code)
    if (a === undefined) return b
    if (b === undefined) return a
    return compareRecords(a, b) >= 0 ? a : b
  }
  const verifiedById = new Map<string, VerifiedRecord>()
  // a copy of a record this node already took, back after gossipsub forgot its id: not news
  const recent = recentlyAccepted(pubsub, RECORDS_TOPIC)
  pubsub.topicValidators.set(RECORDS_TOPIC, (_peer, message) => {
    if (message.data.length > RECORD_MAX_BYTES) {
      counters.rejected++
      return TopicValidatorResult.Reject
    }
    if (recent.has(message.data)) return TopicValidatorResult.Ignore
    try {
      const verified = validator.validate(message.data)
      const code = verified.record.body.code
      const held = known(code)
      // another record of the same seq by the same key is equivocation: it travels on (and is
      // recorded as evidence by the validator's comparison), so every node sees both versions
      const equivocation = held !== undefined && held.body.seq === verified.record.body.seq && !equalBytes(held.bytes, verified.record.bytes)
      if (equivocation) validator.compare(verified.record, held)
      else if (held !== undefined && compareRecords(verified.record, held) <= 0) {
        counters.stale = (counters.stale ?? 0) + 1
        return TopicValidatorResult.Ignore
      }
      newest.delete(code)
      newest.set(code, verified.record)
      if (newest.size > GOSSIP_NEWEST_CACHE_SIZE) newest.delete(newest.keys().next().value as string)
      // The message event follows validation; keep the result so the record is verified once.
      verifiedById.set(messageKey(message.data), verified)
      if (verifiedById.size > 1024) verifiedById.delete(verifiedById.keys().next().value as string)
      recent.add(message.data)
      counters.accepted++
      return TopicValidatorResult.Accept
    } catch (err) {
      counters.rejected++
      log('rejected gossip from %s: %s', _peer.toString(), (err as Error).name)
      return TopicValidatorResult.Reject
    }
  })
  // 'gossipsub:message' rather than 'message': it names the peer that forwarded the record
  pubsub.addEventListener('gossipsub:message', (evt) => {
    const { msg: message, propagationSource } = evt.detail
    if (message.topic !== RECORDS_TOPIC) return
    const id = messageKey(message.data)
    let verified = verifiedById.get(id)
    verifiedById.delete(id)
    if (verified === undefined) {
      try {
        verified = validator.validate(message.data)
      } catch {
        return
      }
    }
    onRecord(verified, propagationSource.toString())
  })
  pubsub.subscribe(RECORDS_TOPIC)
  return counters
}


export async function publishRecordUpdate (pubsub: GossipSub, bytes: Uint8Array): Promise<number> {
  return await publishOnTopic(pubsub, RECORDS_TOPIC, bytes)
}

/**
 * A peer's gossipsub score as this node sees it. The implementation exposes `getScore` although the
 * public interface does not; NaN when unavailable.
 */
export function peerScore (pubsub: GossipSub, peerId: string): number {
  const impl = pubsub as unknown as { getScore?: (id: string) => number }
  return typeof impl.getScore === 'function' ? impl.getScore(peerId) : Number.NaN
}
