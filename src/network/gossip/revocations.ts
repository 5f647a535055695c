import type { GossipSub } from '@libp2p/gossipsub'
import { keepsRevocation } from '../../core/trust/revocation.ts'
import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger, PeerId } from '@libp2p/interface'
import { equalBytes } from '../../core/crypto/hash.ts'
import { isCitycodeError } from '../../core/errors.ts'
import type { RecordValidator } from '../../core/record/validator.ts'
import { decodeRevocationAnnouncement, verifyRevocationAnnouncement } from '../../core/trust/revocation-announcement.ts'
import type { VerifiedRevocationAnnouncement } from '../../core/trust/revocation-announcement.ts'
import { admitRevocation } from '../../core/trust/revocation-admission.ts'
import type { AdmissionPolicy } from '../../core/trust/revocation-admission.ts'
import type { Revocation } from '../../core/trust/revocation.ts'
import { messageKey, publishOnTopic, subscribeTopic } from '../node/topic.ts'
import type { TopicSubscription, TopicValidation } from '../node/topic.ts'

/**
 * Certificate revocations travel here (SPEC 4.4, 7): message data = a revocation announcement, the
 * revocation with the certificate it revokes and that certificate's chain, so every node checks it
 * against its own anchors and honours it at once in its RecordValidator.
 */
export const REVOCATIONS_TOPIC = '/citycode/revocations/1.0.0'

/**
 * Errors that say an announcement is stale or early, not forged: an honest node re-announcing a
 * revocation of a certificate that has expired since, or a clock apart. Nobody is blamed for those.
 */
const NOT_NOW = new Set(['ExpiredError', 'NotYetValidError'])

export type RevocationVerdict =
  | { verdict: 'accept', announcement: VerifiedRevocationAnnouncement, evict?: Revocation }
  | { verdict: 'ignore', why: string }
  | { verdict: 'reject', error: Error }

/**
 * What a node makes of an announcement, without changing anything: `reject` for anything malformed or
 * forged (bad signature, a key that neither issued nor holds the certificate, a chain that does not
 * reach an anchor), `ignore` when it adds nothing (a revocation in force as early is held already),
 * when the certificate is expired or not yet valid, or when the admission policy (revocation-admission.ts)
 * has no room for it (`quota`, `full`); an accepted one may evict a less needed one to make room.
 */
export function judgeRevocationAnnouncement (bytes: Uint8Array, validator: RecordValidator, policy?: AdmissionPolicy): RevocationVerdict {
  let announcement: VerifiedRevocationAnnouncement
  try {
    const decoded = decodeRevocationAnnouncement(bytes)
    const held = validator.revocations.get(decoded.revocation.target)
    // the very revocation held already: nothing to check or learn
    if (held !== undefined && equalBytes(held.bytes, decoded.revocation.bytes)) return { verdict: 'ignore', why: 'held' }
    announcement = verifyRevocationAnnouncement(decoded, validator.chains, validator.now())
  } catch (err) {
    if (!isCitycodeError(err)) throw err
    if (NOT_NOW.has(err.name)) return { verdict: 'ignore', why: err.name }
    return { verdict: 'reject', error: err }
  }
  const held = validator.revocations.get(announcement.revocation.target)
  if (held !== undefined && !keepsRevocation(announcement.revocation, held, announcement.certificate)) return { verdict: 'ignore', why: 'held' }
  if (held !== undefined || policy === undefined) return { verdict: 'accept', announcement }
  const admission = admitRevocation({ target: announcement.revocation.target, namespace: announcement.certificate.body.namespace }, validator.revocations, policy)
  if (!admission.admit) return { verdict: 'ignore', why: admission.why }
  return admission.evict !== undefined ? { verdict: 'accept', announcement, evict: admission.evict } : { verdict: 'accept', announcement }
}

export interface RevocationGossipCounters {
  accepted: number
  ignored: number
  rejected: number
}

export interface RevocationsSubscription extends TopicSubscription {
  readonly counters: RevocationGossipCounters
}

export interface SubscribeRevocationsOptions {
  /** Which new revocations the validator takes (quotas, room). @default all */
  policy?: AdmissionPolicy
  logger?: ComponentLogger
}

/**
 * Subscribes to the revocations topic. An accepted announcement is added to `validator.revocations`
 * during validation, before gossipsub forwards it, so this node refuses records under the revoked
 * certificate from then on; `onRevocation` then gets every one another node published (to store it).
 */
export function subscribeRevocations (pubsub: GossipSub, validator: RecordValidator, onRevocation: (announcement: VerifiedRevocationAnnouncement, forwardedBy: PeerId, evicted?: Revocation) => void, options: SubscribeRevocationsOptions = {}): RevocationsSubscription {
  const counters: RevocationGossipCounters = { accepted: 0, ignored: 0, rejected: 0 }
  const log = (options.logger ?? defaultLogger()).forComponent('citycode:revocations')
  const accepted = new Map<string, { announcement: VerifiedRevocationAnnouncement, evicted?: Revocation }>()
  const subscription = subscribeTopic(pubsub, REVOCATIONS_TOPIC, {
    validate: ({ data, propagationSource }): TopicValidation => {
      const judged = judgeRevocationAnnouncement(data, validator, options.policy)
      if (judged.verdict === 'reject') {
        counters.rejected++
        log('rejected a revocation announcement from %p: %s: %s', propagationSource, judged.error.name, judged.error.message)
        return 'reject'
      }
      if (judged.verdict === 'ignore') {
        counters.ignored++
        if (judged.why !== 'held') log('ignored a revocation announcement from %p: %s', propagationSource, judged.why)
        return 'ignore'
      }
      if (judged.evict !== undefined) validator.revocations.delete(judged.evict.target)
      validator.revocations.add(judged.announcement.revocation, judged.announcement.certificate)
      accepted.set(messageKey(data), judged.evict !== undefined ? { announcement: judged.announcement, evicted: judged.evict } : { announcement: judged.announcement })
      if (accepted.size > 256) accepted.delete(accepted.keys().next().value as string)
      counters.accepted++
      log('revocation of %s learnt from %p', judged.announcement.certificate.body.namespace, propagationSource)
      return 'accept'
    },
    onMessage: ({ data, propagationSource }) => {
      const key = messageKey(data)
      const taken = accepted.get(key)
      accepted.delete(key)
      if (taken !== undefined) onRevocation(taken.announcement, propagationSource, taken.evicted)
    },
    ...(options.logger !== undefined ? { logger: options.logger } : {})
  })
  return { topic: subscription.topic, unsubscribe: subscription.unsubscribe, counters }
}

/** Publishes an announcement; returns how many peers it was sent to. */
export async function publishRevocation (pubsub: GossipSub, bytes: Uint8Array): Promise<number> {
  return await publishOnTopic(pubsub, REVOCATIONS_TOPIC, bytes)
}
