import { ConnectionFailedError, serviceCapabilities, transportSymbol } from '@libp2p/interface'
import type { Connection, CreateListenerOptions, DialTransportOptions, Listener, ListenerEvents, Transport } from '@libp2p/interface'
import { memory } from '@libp2p/memory'
import { tcp } from '@libp2p/tcp'
import type { Multiaddr } from '@multiformats/multiaddr'
import { TypedEventEmitter } from 'main-event'
import type { TransportFactory } from '../../network/node/index.ts'

const MEMORY_PREFIX = '/memory/'

/**
 * What belongs to this shard process: its memory names share a prefix, and its TCP listeners are
 * recorded as they open. A node of this shard reaches a peer of the same shard over memory (or the
 * link model) and a peer of another shard over TCP, never the other way round.
 */
export class ShardAddressBook {
  readonly memoryPrefix: string
  private readonly localTcp = new Set<string>()

  constructor (memoryPrefix: string) {
    this.memoryPrefix = memoryPrefix
  }

  isLocalMemory (ma: Multiaddr): boolean {
    const text = ma.toString()
    return text.startsWith(MEMORY_PREFIX + this.memoryPrefix)
  }

  addTcp (ma: Multiaddr): void {
    const key = tcpKey(ma)
    if (key !== undefined) this.localTcp.add(key)
  }

  removeTcp (ma: Multiaddr): void {
    const key = tcpKey(ma)
    if (key !== undefined) this.localTcp.delete(key)
  }

  isLocalTcp (ma: Multiaddr): boolean {
    const key = tcpKey(ma)
    return key !== undefined && this.localTcp.has(key)
  }
}

function tcpKey (ma: Multiaddr): string | undefined {
  const m = /^\/ip[46]\/([^/]+)\/tcp\/(\d+)/.exec(ma.toString())
  return m === null ? undefined : `${m[1]}:${m[2]}`
}

const isMemory = (ma: Multiaddr): boolean => ma.toString().startsWith(MEMORY_PREFIX)

/** Opens its inner listener when told the address: libp2p creates one listener per address. */
class RoutingListener extends TypedEventEmitter<ListenerEvents> implements Listener {
  private inner: Listener | undefined
  private readonly pick: (ma: Multiaddr) => Transport
  private readonly options: CreateListenerOptions
  private readonly book: ShardAddressBook

  constructor (pick: (ma: Multiaddr) => Transport, options: CreateListenerOptions, book: ShardAddressBook) {
    super()
    this.pick = pick
    this.options = options
    this.book = book
  }

  async listen (ma: Multiaddr): Promise<void> {
    const inner = this.pick(ma).createListener(this.options)
    this.inner = inner
    inner.addEventListener('listening', () => {
      if (!isMemory(ma)) for (const a of inner.getAddrs()) this.book.addTcp(a)
      this.safeDispatchEvent('listening')
    })
    inner.addEventListener('close', () => {
      if (!isMemory(ma)) for (const a of inner.getAddrs()) this.book.removeTcp(a)
      this.safeDispatchEvent('close')
    })
    inner.addEventListener('error', (evt) => { this.safeDispatchEvent('error', { detail: evt.detail }) })
    await inner.listen(ma)
  }

  getAddrs (): Multiaddr[] {
    return this.inner?.getAddrs() ?? []
  }

  updateAnnounceAddrs (addrs: Multiaddr[]): void {
    this.inner?.updateAnnounceAddrs(addrs)
  }

  async close (): Promise<void> {
    await this.inner?.close()
  }
}

class ShardTransport implements Transport {
  readonly [transportSymbol] = true
  readonly [Symbol.toStringTag] = 'citycode:shard'
  readonly [serviceCapabilities]: string[] = ['@libp2p/transport']
  private readonly local: Transport
  private readonly remote: Transport
  private readonly book: ShardAddressBook

  constructor (local: Transport, remote: Transport, book: ShardAddressBook) {
    this.local = local
    this.remote = remote
    this.book = book
  }

  private pick (ma: Multiaddr): Transport {
    return isMemory(ma) ? this.local : this.remote
  }

  async dial (ma: Multiaddr, options: DialTransportOptions): Promise<Connection> {
    if (this.dialFilter([ma]).length === 0) throw new ConnectionFailedError(`${ma.toString()} is not reachable from this shard that way`)
    return await this.pick(ma).dial(ma, options)
  }

  createListener (options: CreateListenerOptions): Listener {
    return new RoutingListener(ma => this.pick(ma), options, this.book)
  }

  listenFilter (multiaddrs: Multiaddr[]): Multiaddr[] {
    return multiaddrs.filter(ma => (isMemory(ma) ? this.local : this.remote).listenFilter([ma]).length > 0)
  }

  dialFilter (multiaddrs: Multiaddr[]): Multiaddr[] {
    return multiaddrs.filter(ma => isMemory(ma)
      ? this.book.isLocalMemory(ma) && this.local.dialFilter([ma]).length > 0
      : !this.book.isLocalTcp(ma) && this.remote.dialFilter([ma]).length > 0)
  }
}

/**
 * The transport of a node in a shard: `local` (memory or the link model) for peers of the same
 * process, TCP for peers of other shards.
 */
export function shardTransport (book: ShardAddressBook, local?: TransportFactory): TransportFactory {
  return (components: never): Transport => new ShardTransport((local ?? memory())(components), tcp()(components), book)
}
