import { ConnectionFailedError, serviceCapabilities, transportSymbol } from '@libp2p/interface'
import type { ComponentLogger, CreateListenerOptions, DialTransportOptions, Listener, Connection, PeerId, Transport, Upgrader } from '@libp2p/interface'
import { AbstractMultiaddrConnection } from '@libp2p/utils'
import type { AbstractMultiaddrConnectionInit, SendResult } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { TypedEventEmitter } from 'main-event'
import { LinkDirection } from './link-network.ts'
import type { LinkEndpoint, LinkNetwork } from './link-network.ts'

/**
 * A libp2p transport over a LinkNetwork: addresses are `/memory/<name>` (so the stock memory
 * multiaddr matchers apply) but every buffer crosses a modelled link.
 */
export interface LinkTransportComponents {
  peerId: PeerId
  logger: ComponentLogger
  upgrader: Upgrader
}

const MEMORY_PREFIX = '/memory/'

function nameOf (ma: Multiaddr): string | undefined {
  const text = ma.toString()
  if (!text.startsWith(MEMORY_PREFIX)) return undefined
  return text.slice(MEMORY_PREFIX.length).split('/')[0]
}

class LinkConnection extends AbstractMultiaddrConnection implements LinkEndpoint {
  out!: LinkDirection
  private untrack: () => void = () => {}

  constructor (init: AbstractMultiaddrConnectionInit) {
    super(init)
  }

  wire (out: LinkDirection, untrack: () => void): void {
    this.out = out
    this.untrack = untrack
  }

  deliver (data: Uint8Array): void {
    if (this.status === 'open' || this.status === 'closing') this.onData(data)
  }

  remoteClosed (err?: Error): void {
    this.untrack()
    this.onTransportClosed(err)
  }

  sendData (data: Parameters<AbstractMultiaddrConnection['sendData']>[0]): SendResult {
    this.out.send(data.subarray())
    return { sentBytes: data.byteLength, canSendMore: true }
  }

  sendReset (err: Error): void {
    this.untrack()
    this.out.close(err)
  }

  async sendClose (): Promise<void> {
    this.untrack()
    this.out.close()
  }

  sendPause (): void {}
  sendResume (): void {}
}

class LinkListenerImpl extends TypedEventEmitter<{ listening: CustomEvent, close: CustomEvent, error: CustomEvent<Error> }> implements Listener {
  private readonly net: LinkNetwork
  private readonly components: LinkTransportComponents
  private readonly options: CreateListenerOptions
  private address: Multiaddr | undefined
  private readonly shutdown = new AbortController()

  constructor (net: LinkNetwork, components: LinkTransportComponents, options: CreateListenerOptions) {
    super()
    this.net = net
    this.components = components
    this.options = options
  }

  async listen (ma: Multiaddr): Promise<void> {
    const name = nameOf(ma)
    if (name === undefined) throw new ConnectionFailedError(`link transport cannot listen on ${ma.toString()}`)
    this.address = multiaddr(`${MEMORY_PREFIX}${name}`)
    this.net.listen({
      address: name,
      accept: (remoteName, connect) => {
        const conn = new LinkConnection({
          remoteAddr: multiaddr(`${MEMORY_PREFIX}${remoteName}-outgoing`),
          direction: 'inbound',
          log: this.components.logger.forComponent('citycode:link')
        })
        const remote = connect(conn)
        conn.wire(new LinkDirection(() => remote, () => this.net.delay(name, remoteName), this.net.msPerByte()), this.net.track([name, remoteName], (err) => { conn.abort(err) }))
        this.options.upgrader.upgradeInbound(conn, { signal: this.shutdown.signal }).catch((err: Error) => { conn.abort(err) })
      }
    })
    queueMicrotask(() => { this.safeDispatchEvent('listening') })
  }

  getAddrs (): Multiaddr[] {
    return this.address === undefined ? [] : [this.address]
  }

  updateAnnounceAddrs (): void {}

  async close (): Promise<void> {
    const name = this.address === undefined ? undefined : nameOf(this.address)
    if (name !== undefined) this.net.unlisten(name)
    this.shutdown.abort()
    queueMicrotask(() => { this.safeDispatchEvent('close') })
  }
}

class LinkTransport implements Transport {
  readonly [transportSymbol] = true
  readonly [Symbol.toStringTag] = 'citycode:link-model'
  readonly [serviceCapabilities]: string[] = ['@libp2p/transport']
  private readonly net: LinkNetwork
  private readonly components: LinkTransportComponents
  private readonly localName: string

  constructor (net: LinkNetwork, localName: string, components: LinkTransportComponents) {
    this.net = net
    this.localName = localName
    this.components = components
  }

  async dial (ma: Multiaddr, options: DialTransportOptions): Promise<Connection> {
    options.signal.throwIfAborted()
    const remoteName = nameOf(ma)
    const listener = remoteName === undefined ? undefined : this.net.listener(remoteName)
    if (remoteName === undefined || listener === undefined) throw new ConnectionFailedError(`no link listener at ${ma.toString()}`)
    if (!this.net.reachable(this.localName, remoteName)) throw new ConnectionFailedError(`${remoteName} is unreachable from ${this.localName} (partition)`)
    const conn = new LinkConnection({
      remoteAddr: multiaddr(`${MEMORY_PREFIX}${remoteName}/p2p/${ma.getComponents().findLast(c => c.name === 'p2p')?.value ?? ''}`.replace(/\/p2p\/$/, '')),
      direction: 'outbound',
      log: this.components.logger.forComponent('citycode:link')
    })
    listener.accept(this.localName, (remote) => {
      conn.wire(new LinkDirection(() => remote, () => this.net.delay(this.localName, remoteName), this.net.msPerByte()), this.net.track([this.localName, remoteName], (err) => { conn.abort(err) }))
      return conn
    })
    try {
      return await options.upgrader.upgradeOutbound(conn, { ...options })
    } catch (err) {
      conn.abort(err as Error)
      throw err
    }
  }

  createListener (options: CreateListenerOptions): Listener {
    return new LinkListenerImpl(this.net, this.components, options)
  }

  listenFilter (multiaddrs: Multiaddr[]): Multiaddr[] {
    return multiaddrs.filter(ma => nameOf(ma) !== undefined)
  }

  dialFilter (multiaddrs: Multiaddr[]): Multiaddr[] {
    return this.listenFilter(multiaddrs)
  }
}

/** A transport factory for one node named `localName` (its listen name) on `net`. */
export function linkTransport (net: LinkNetwork, localName: string): (components: LinkTransportComponents) => Transport {
  return (components) => new LinkTransport(net, localName, components)
}
