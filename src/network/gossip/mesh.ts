/**
 * The peers of a node's gossipsub mesh on a topic. The class has `getMeshPeers`, the interface
 * @libp2p/gossipsub exports does not: read it where it is, and say so when a version drops it.
 */
export function meshPeers (pubsub: object, topic: string): string[] {
  const get = (pubsub as { getMeshPeers?: unknown }).getMeshPeers
  if (typeof get !== 'function') throw new TypeError('this gossipsub version has no getMeshPeers')
  const peers: unknown = get.call(pubsub, topic)
  return Array.isArray(peers) ? peers.map(String) : []
}
