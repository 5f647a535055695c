import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { GossipSub, GossipsubMessage, Message } from '@libp2p/gossipsub'
import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger, PeerId } from '@libp2p/interface'
import { sha256 } from '../../core/crypto/hash.ts'
import { DEFAULT_TOPIC_VALIDATION_TIMEOUT_MS } from './constants.ts'

/**
 * What a topic validator decides:
 * - `accept`: deliver to this node's subscribers and forward;
 * - `reject`: provably bad (forged, malformed): dropped, and gossipsub scores the *sender* down,
 *   so a peer spreading forgeries is graylisted;
 * - `ignore`: dropped without blame (stale, duplicate, cannot check now).
 */
export type TopicValidation = 'accept' | 'reject' | 'ignore'

/**
 * A gossip message as citycode sees it. Messages carry no author (StrictNoSign): what they say is
 * signed inside the payload, and the only peer gossip itself vouches for is the one that forwarded
 * the message.
 */
export interface TopicMessage {
  topic: string
  data: Uint8Array
  /** The peer that forwarded it to us; the one penalised when it is rejected. */
  propagationSource: PeerId
}

export interface SubscribeTopicOptions {
  validate: (message: TopicMessage) => TopicValidation | Promise<TopicValidation>
  /** Called for every message `validate` accepted that another node published. */
  onMessage?: (message: TopicMessage) => void
  /**
   * A validation taking longer counts as `ignore`: gossipsub awaits validators inline.
   * @default DEFAULT_TOPIC_VALIDATION_TIMEOUT_MS
   */
  validationTimeoutMs?: number
  logger?: ComponentLogger
}

/**
 * How many accepted messages a topic remembers. gossipsub forgets a message id after its seen TTL
 * (2 minutes); a copy that arrives later (a slow path, a saturated peer) was validated and forwarded
 * again, and every neighbour that had forgotten it did the same. In a 1000-node simulation that
 * fed on itself: the root's first record was still being forwarded six minutes after it was
 * published, tens of thousands of times a minute (docs/SIMULATION.md). A repeat is not news, so it
 * is ignored: not delivered, not forwarded, nobody blamed.
 */
export const RECENTLY_ACCEPTED_CAPACITY = 512

/**
 * The digests of the last `capacity` accepted messages of one topic, oldest forgotten first. A
 * digest (128 bits of SHA-256), not `messageKey`: a forger must not be able to make a message
 * collide with an accepted one and pass as a harmless repeat.
 */
export class RecentlyAccepted {
  private readonly keys = new Set<string>()
  private readonly capacity: number

  constructor (capacity = RECENTLY_ACCEPTED_CAPACITY) {
    this.capacity = capacity
  }

  has (data: Uint8Array): boolean {
    return this.capacity > 0 && this.keys.has(digest(data))
  }

  add (data: Uint8Array): void {
    if (this.capacity <= 0) return
    const key = digest(data)
    this.keys.delete(key)
    this.keys.add(key)
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.values().next().value as string)
  }
}

const digest = (data: Uint8Array): string => Buffer.from(sha256(data).subarray(0, 16)).toString('latin1')

const recentByNode = new WeakMap<GossipSub, Map<string, RecentlyAccepted>>()

/**
 * The messages of `topic` this node accepted or published lately. Its own publications count: a
 * copy of one coming back after the seen TTL is no more news to its publisher than to the others.
 */
export function recentlyAccepted (pubsub: GossipSub, topic: string): RecentlyAccepted {
  let topics = recentByNode.get(pubsub)
  if (topics === undefined) recentByNode.set(pubsub, topics = new Map())
  let recent = topics.get(topic)
  if (recent === undefined) topics.set(topic, recent = new RecentlyAccepted())
  return recent
}

export interface TopicSubscription {
  readonly topic: string
  /** Leaves the topic and removes the validator and listener (safe after the node stopped). */
  unsubscribe(): void
}

const RESULTS: Record<TopicValidation, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  reject: TopicValidatorResult.Reject,
  ignore: TopicValidatorResult.Ignore
}

/**
 * Subscribes to `topic` with a validator that runs before a message is delivered or forwarded.
 * One validator per topic per node (gossipsub keys them by topic): a second subscription to the
 * same topic replaces the first one's validator. The node must be started.
 */
export function subscribeTopic (pubsub: GossipSub, topic: string, options: SubscribeTopicOptions): TopicSubscription {
  const log = (options.logger ?? defaultLogger()).forComponent('citycode:topic')
  const timeoutMs = options.validationTimeoutMs ?? DEFAULT_TOPIC_VALIDATION_TIMEOUT_MS
  const recent = recentlyAccepted(pubsub, topic)
  const validator = async (propagationSource: PeerId, message: Message): Promise<TopicValidatorResult> => {
    // gossipsub already refuses author fields under StrictNoSign; never accept one regardless
    if (message.type !== 'unsigned') return TopicValidatorResult.Reject
    if (recent.has(message.data)) return TopicValidatorResult.Ignore
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      const verdict = await Promise.race([
        Promise.resolve().then(async () => await options.validate({ topic: message.topic, data: message.data, propagationSource })),
        new Promise<TopicValidation>(resolve => { timer = setTimeout(() => { resolve('ignore') }, timeoutMs) })
      ])
      if (verdict === 'accept') recent.add(message.data)
      return RESULTS[verdict] ?? TopicValidatorResult.Ignore
    } catch (err) {
      // a failing validator is our fault, not the sender's: drop without penalising anyone
      log.error('validator for %s failed on a message from %p - %e', topic, propagationSource, err)
      return TopicValidatorResult.Ignore
    } finally {
      clearTimeout(timer)
    }
  }
  // 'gossipsub:message' rather than 'message': it also names the peer that forwarded the message
  const onMessage = (evt: CustomEvent<GossipsubMessage>): void => {
    const { msg: message, propagationSource } = evt.detail
    if (message.topic !== topic || message.type !== 'unsigned' || options.onMessage === undefined) return
    try {
      options.onMessage({ topic, data: message.data, propagationSource })
    } catch (err) {
      log.error('message handler for %s failed - %e', topic, err)
    }
  }
  pubsub.topicValidators.set(topic, validator)
  pubsub.addEventListener('gossipsub:message', onMessage)
  pubsub.subscribe(topic)
  return {
    topic,
    unsubscribe: () => {
      pubsub.removeEventListener('gossipsub:message', onMessage)
      if (pubsub.topicValidators.get(topic) === validator) pubsub.topicValidators.delete(topic)
      try {
        pubsub.unsubscribe(topic)
      } catch {
        // the node has stopped: nothing left to leave
      }
    }
  }
}

/**
 * Publishes `data` on `topic` and remembers it as accepted, so a copy coming back after the seen TTL
 * stops here. Returns how many peers it was sent to.
 */
export async function publishOnTopic (pubsub: GossipSub, topic: string, data: Uint8Array): Promise<number> {
  recentlyAccepted(pubsub, topic).add(data)
  const result = await pubsub.publish(topic, data)
  return result.recipients.length
}

/**
 * A short key for a message's bytes, to carry a validator's decoded result to the delivery callback:
 * the tail of a signed object (its signature region) plus the length identifies it well enough for
 * that short-lived map.
 */
export function messageKey (data: Uint8Array): string {
  const tail = data.subarray(Math.max(0, data.length - 48))
  return Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength).toString('latin1') + data.length
}
