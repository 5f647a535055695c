import { createTopicScoreParams } from '@libp2p/gossipsub/score'
import type { PeerScoreParams, PeerScoreThresholds, TopicScoreParams } from '@libp2p/gossipsub/score'

/**
 * Score parameters for one citycode topic. Updates are rare, so the mesh-delivery-rate penalty (P3)
 * is off: it would punish honest peers of a quiet topic. What counts is P4: every message the topic
 * validator *rejects* (forged or junk) costs its sender 10 x (invalid count)^2, so a flooding peer
 * crosses the graylist threshold after a handful of junk messages and its traffic is then ignored.
 * `ignore` results cost nothing, which is why validators reserve `reject` for provable forgeries.
 */
export function citycodeTopicScoreParams (): TopicScoreParams {
  return createTopicScoreParams({
    topicWeight: 1,
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 3600,
    firstMessageDeliveriesWeight: 1,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 100,
    meshMessageDeliveriesWeight: 0,
    meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: -10,
    invalidMessageDeliveriesDecay: 0.9
  })
}

/**
 * Peer score parameters scoring `topics`. IP colocation is not penalised: city nodes behind one NAT,
 * and every node of a local network or simulation, share an address.
 */
export function citycodePeerScoreParams (topics: readonly string[], trustedPeer?: (peerId: string) => boolean): Partial<PeerScoreParams> {
  return {
    IPColocationFactorWeight: 0,
    topics: Object.fromEntries(topics.map(topic => [topic, citycodeTopicScoreParams()])),
    ...(trustedPeer !== undefined
      ? { appSpecificScore: (peerId: string) => trustedPeer(peerId) ? TRUSTED_PEER_SCORE : 0, appSpecificWeight: 1 }
      : {})
  }
}

/**
 * What a trusted peer (an authority this node verified) starts with: above `acceptPXThreshold`, so
 * the peers it names in a PRUNE are dialled, and nobody else's are (a stranger's PX would be a way
 * to make this node dial whom it chooses). Below `opportunisticGraftThreshold`, and small against
 * P4: two rejected messages still sink a trusted peer below zero.
 */
export const TRUSTED_PEER_SCORE = 15

export const SCORE_THRESHOLDS: PeerScoreThresholds = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  acceptPXThreshold: 10,
  opportunisticGraftThreshold: 20
}
