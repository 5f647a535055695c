import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { GossipSub, GossipsubMessage, Message } from '@libp2p/gossipsub'
import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger, PeerId } from '@libp2p/interface'
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
  const validator = async (propagationSource: PeerId, message: Message): Promise<TopicValidatorResult> => {
    // gossipsub already refuses author fields under StrictNoSign; never accept one regardless
    if (message.type !== 'unsigned') return TopicValidatorResult.Reject
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      const verdict = await Promise.race([
        Promise.resolve().then(async () => await options.validate({ topic: message.topic, data: message.data, propagationSource })),
        new Promise<TopicValidation>(resolve => { timer = setTimeout(() => { resolve('ignore') }, timeoutMs) })
      ])
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
 * A short key for a message's bytes, to carry a validator's decoded result to the delivery callback:
 * the tail of a signed object (its signature region) plus the length identifies it well enough for
 * that short-lived map.
 */
export function messageKey (data: Uint8Array): string {
  const tail = data.subarray(Math.max(0, data.length - 48))
  return Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength).toString('latin1') + data.length
}
