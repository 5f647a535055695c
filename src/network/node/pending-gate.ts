import type { ConnectionGater, MultiaddrConnection, PeerId } from '@libp2p/interface'
import { getNetConfig, isNetworkAddress } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import { multiaddr } from '@multiformats/multiaddr'

/**
 * A connection gater that caps the inbound connections one IP address may have *upgrading* at
 * once. libp2p 3 caps pending connections only for all hosts together
 * (`maxIncomingPendingConnections`), so one host's sockets that never finish a handshake fill every
 * slot and lock honest newcomers out until its upgrade timeout; libp2p's per-host limit is a rate
 * (connections per second), not a count of open ones. The gater runs right after libp2p admits a
 * socket, before any handshake byte is read; a refused socket is closed and frees its slot at once.
 *
 * A connection stops counting when its upgrade is done (`denyInboundUpgradedConnection`) or it
 * closes. Non-IP addresses (the memory transport of simulations) and the `allowed` hosts (as
 * `allowListFor` gives them) are not gated.
 */
export function pendingConnectionGate (maxPerHost: number, allowed: readonly string[] = []): ConnectionGater {
  // allow-listed hosts skip libp2p's caps; they skip this one too
  const exempt = new Set(allowed.map(a => a.split('/')[2]))
  const pendingByHost = new Map<string, number>()
  const counted = new WeakMap<MultiaddrConnection, string>()
  const release = (maConn: MultiaddrConnection): void => {
    const host = counted.get(maConn)
    if (host === undefined) return
    counted.delete(maConn)
    const n = (pendingByHost.get(host) ?? 1) - 1
    if (n > 0) pendingByHost.set(host, n)
    else pendingByHost.delete(host)
  }
  return {
    denyInboundConnection: (maConn: MultiaddrConnection): boolean => {
      const host = hostOf(maConn.remoteAddr)
      if (host === undefined || exempt.has(host)) return false
      const pending = pendingByHost.get(host) ?? 0
      if (pending >= maxPerHost) return true
      pendingByHost.set(host, pending + 1)
      counted.set(maConn, host)
      maConn.addEventListener('close', () => { release(maConn) }, { once: true })
      return false
    },
    denyInboundUpgradedConnection: (_peer: PeerId, maConn: MultiaddrConnection): boolean => {
      release(maConn)
      return false
    }
  }
}

function hostOf (addr: Multiaddr): string | undefined {
  if (!isNetworkAddress(addr)) return undefined
  const config = getNetConfig(addr)
  return typeof config.host === 'string' ? config.host : undefined
}

/**
 * libp2p `allow` entries (IP networks) for the hosts of known peers' multiaddrs (bootstrap list,
 * authorities): connections from them skip the pending and connection caps, so a flood from
 * strangers never locks out the peers a node depends on. Addresses without an IP (memory,
 * DNS names) give none.
 */
export function allowListFor (addrs: readonly string[]): string[] {
  const out = new Set<string>()
  for (const text of addrs) {
    let addr: Multiaddr
    try {
      addr = multiaddr(text)
    } catch {
      continue
    }
    const component = addr.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')
    if (component?.value !== undefined) out.add(`/${component.name}/${component.value}`)
  }
  return [...out]
}
