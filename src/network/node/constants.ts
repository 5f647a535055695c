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

/**
 * Largest DHT key stored: `/citycode/r/` or `/citycode/h/` and a code. Codes are a few dozen
 * characters; this leaves room for deep sub-codes and refuses keys used as padding.
 */
export const DHT_KEY_MAX_BYTES = 256

/**
 * Largest serialised kad-dht record envelope around a value: the key, the value's length prefix
 * and the receive time (a protobuf of a few fields). Value caps are the record kinds' own limits.
 */
export const DHT_RECORD_ENVELOPE_MAX_BYTES = DHT_KEY_MAX_BYTES + 64

/**
 * Records one remote peer may make this node store under new keys. A city's publisher puts its
 * own record and its sub-codes' to the ~20 peers closest to each key, so a peer of an N-node
 * network receives about 20/N of one city's codes; replacing a held key's value does not count.
 */
export const DEFAULT_DHT_MAX_RECORDS_PER_PEER = 1_000

/** Records (all kinds, every peer) this node stores for the DHT: at 20 KiB each at most ~400 MiB. */
export const DEFAULT_DHT_MAX_RECORDS = 20_000

/** Provider records one remote peer may make this node store (citycode publishes none itself). */
export const DEFAULT_DHT_MAX_PROVIDERS_PER_PEER = 16

/** Provider records this node stores for all peers together. */
export const DEFAULT_DHT_MAX_PROVIDERS = 1_024

/**
 * Inbound connections still upgrading from one IP address at once. ~100 raw sockets from one
 * host that never upgrade filled the whole pending cap and locked out honest peers (issue #16);
 * an honest peer upgrades one connection at a time, a host running a few nodes (or a NAT) a few.
 */
export const DEFAULT_MAX_PENDING_PER_HOST = 16

/**
 * An inbound connection must finish its upgrade (noise handshake, muxer) within this many ms or
 * is dropped; libp2p's 10 s default let a silent socket hold a pending slot ten times longer than
 * an honest handshake needs on a loaded node.
 */
export const DEFAULT_INBOUND_UPGRADE_TIMEOUT_MS = 5_000
