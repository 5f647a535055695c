/** kad-dht runs under our own protocol id, so citycode nodes form their own DHT apart from IPFS's. */
export const DHT_PROTOCOL = '/citycode/kad/1.0.0'

/**
 * kad-dht picks a key's validator and selector by its first segment: `/citycode/r/MA.156.1301`
 * uses the `citycode` ones. Same value as `DHT_NAMESPACE` in core/record/dht-key.ts (a test checks
 * it); repeated here so the libp2p wiring does not load the record core.
 */
export const DHT_KEY_NAMESPACE = 'citycode'

/**
 * Topics whose senders gossipsub scores by default: the records topic (`RECORDS_TOPIC` in
 * gossip/record-updates.ts, checked by a test), the ledger heads topic (`HEADS_TOPIC` in gossip/heads.ts) and the revocations topic (`REVOCATIONS_TOPIC` in gossip/revocations.ts). Scoring parameters must be known when gossipsub is
 * built, so topics are listed up front rather than when subscribed.
 */
export const DEFAULT_SCORED_TOPICS: readonly string[] = ['/citycode/records/1.0.0', '/citycode/heads/1.0.0', '/citycode/revocations/1.0.0']

/** @see CitycodeLibp2pInit.maxConnections */
export const DEFAULT_MAX_CONNECTIONS = 64

/**
 * libp2p's default (5 inbound connections per second per host) refuses the many nodes that share
 * one host in a local network or simulation; `maxConnections` still bounds the total.
 */
export const DEFAULT_INBOUND_CONNECTIONS_PER_SECOND = 100

/**
 * gossipsub awaits topic validators inline and expects them to settle within ~100 ms; a validator
 * that takes longer than this is treated as `ignore` so one slow check cannot stall the topic.
 */
export const DEFAULT_TOPIC_VALIDATION_TIMEOUT_MS = 2_000

/**
 * gossipsub 1.2 sends IDONTWANT (a ~40-byte frame per mesh peer) for every message of at least this
 * size, so peers skip sending a copy already received. It pays off for messages far larger than
 * the frames it costs; ours are records and heads of at most a few KiB. gossipsub's default (512
 * bytes) made every message cost a frame to each of 6-12 mesh peers, about as many frames as the
 * message itself (profile of a 400-node simulation in docs/SIMULATION.md).
 */
export const DEFAULT_IDONTWANT_MIN_DATA_SIZE = 16 * 1024
