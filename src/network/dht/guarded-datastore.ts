import { Record as DhtRecord } from '@libp2p/kad-dht'
import type { AbortOptions } from '@libp2p/interface'
import { BaseDatastore } from 'datastore-core'
import type { Datastore, Key, KeyQuery, Pair, Query } from 'interface-datastore'
import { NotFoundError } from '@libp2p/interface'
import { base32 } from 'multiformats/bases/base32'
import { equalBytes, toHex } from '../../core/crypto/hash.ts'
import { dhtKeyKind, HEAD_RECORD_MAX_BYTES } from '../../core/record/head-record.ts'
import { RECORD_MAX_BYTES } from '../../core/record/record.ts'
import { DhtQuotaExceededError, DhtRecordRefusedError, DhtRollbackError } from '../errors.ts'
import {
  DEFAULT_DHT_MAX_PROVIDERS,
  DEFAULT_DHT_MAX_PROVIDERS_PER_PEER,
  DEFAULT_DHT_MAX_RECORDS,
  DEFAULT_DHT_MAX_RECORDS_PER_PEER,
  DHT_KEY_MAX_BYTES,
  DHT_RECORD_ENVELOPE_MAX_BYTES
} from '../node/constants.ts'

/** Where kad-dht keeps records and provider records in its datastore (its default `/dht` prefix). */
const RECORD_PREFIX = '/dht/record/'
const PROVIDER_PREFIX = '/dht/provider/'

export interface DhtStoreLimits {
  /** @default DEFAULT_DHT_MAX_RECORDS_PER_PEER */
  maxRecordsPerPeer?: number
  /** @default DEFAULT_DHT_MAX_RECORDS */
  maxRecords?: number
  /** @default DEFAULT_DHT_MAX_PROVIDERS_PER_PEER */
  maxProvidersPerPeer?: number
  /** @default DEFAULT_DHT_MAX_PROVIDERS */
  maxProviders?: number
}

/** The node's record rules, the same functions kad-dht is given as its `citycode` validator and selector. */
export interface DhtRecordPolicy {
  validate: (key: Uint8Array, value: Uint8Array) => Promise<void>
  select: (key: Uint8Array, values: Uint8Array[]) => number
  /** Told of every remote store refused here (rollback, quota, key or size), for the node's rejection counts. */
  onRefusal?: (err: Error) => void
  /**
   * Whether the node has verified a newer version of this key's value than `value` elsewhere (its
   * ledger's heads, its resolver's cache, its own records): a remote store of an older one is then
   * refused even when the DHT store holds no copy (never had one, or kad-dht's expired).
   */
  newerKnown?: (key: Uint8Array, value: Uint8Array) => Promise<boolean>
}

/**
 * What the node (its revocation service) may ask of the records its DHT holds for others.
 * Reached as `libp2p.services.dhtRecords`.
 */
export interface DhtRecords {
  /**
   * Re-validates every record the DHT holds with the node's validator (its revocations, its
   * clock, its distrusted keys) and deletes those that fail: call it when a revocation or a fork
   * alarm is learnt. Resolves to the number deleted.
   */
  purgeInvalid: (options?: AbortOptions) => Promise<number>
  /** Records and provider records held now, and how many came from each remote peer. */
  usage: () => Promise<{ records: number, providers: number, recordsByPeer: ReadonlyMap<string, number>, providersByPeer: ReadonlyMap<string, number> }>
}

/**
 * The datastore kad-dht is given (every other component keeps libp2p's). kad-dht 16 validates a
 * remote PUT but stores it whatever it held before, serves stored records without checking them
 * again, takes its own `/pk/` records and any number of records and provider records from anyone.
 * Every one of its reads and writes of `/dht/record/` and `/dht/provider/` passes here, so the
 * rules hold at every door: remote PUT_VALUE and ADD_PROVIDER, local put, kad-dht's correction
 * records, GET_VALUE answers and local gets.
 *
 * - A record is stored only under `/citycode/r/` or `/citycode/h/`, within its kind's size.
 * - A held record is replaced only by one the selection rule prefers (or by the same bytes, a
 *   republish that refreshes kad-dht's receive time), unless the held one no longer validates.
 *   A remote store that loses is refused (`DhtRollbackError`); the node's own is skipped silently.
 *   A remote store older than a version the node verified elsewhere (`newerKnown`) is refused too.
 * - A record read back is validated again; one that fails (revoked or expired since it was stored)
 *   is deleted and reads as absent.
 * - New keys are counted per remote peer and in total; past a quota the store is refused.
 *
 * The remote peer of a store is known from kad-dht's PUT_VALUE and ADD_PROVIDER handlers, which are
 * given the sender (`expectFrom`, wrapped in create-libp2p.ts); a store no handler announced is the
 * node's own. (AsyncLocalStorage would carry the peer through the handler's awaits, but on Node 22
 * it turns on a hook for every promise of the process: the smoke simulation's cold p95 went from
 * 0.2-0.7 s to 2.3-4.4 s with it.)
 */
export class GuardedDhtDatastore extends BaseDatastore implements DhtRecords {
  private readonly inner: Datastore
  private readonly policy: DhtRecordPolicy
  private readonly limits: Required<DhtStoreLimits>
  /** Stores being handled for a remote peer, by what identifies them (see `storeKeyOf`), with how many are in flight. */
  private readonly expected = new Map<string, Map<string, number>>()
  /** The peer of a store made synchronously inside `fromPeer`. */
  private current: string | undefined
  // remote peer that created each key (keys held from before a restart have none)
  private readonly owners = new Map<string, string>()
  private readonly recordsByPeer = new Map<string, number>()
  private readonly providersByPeer = new Map<string, number>()
  private totals: Promise<{ records: number, providers: number }> | undefined
  // check-then-write per key: two PUTs of one key must not both pass the selection against the old value
  private readonly locks = new Map<string, Promise<void>>()

  constructor (inner: Datastore, policy: DhtRecordPolicy, limits: DhtStoreLimits = {}) {
    super()
    this.inner = inner
    this.policy = policy
    this.limits = {
      maxRecordsPerPeer: limits.maxRecordsPerPeer ?? DEFAULT_DHT_MAX_RECORDS_PER_PEER,
      maxRecords: limits.maxRecords ?? DEFAULT_DHT_MAX_RECORDS,
      maxProvidersPerPeer: limits.maxProvidersPerPeer ?? DEFAULT_DHT_MAX_PROVIDERS_PER_PEER,
      maxProviders: limits.maxProviders ?? DEFAULT_DHT_MAX_PROVIDERS
    }
  }

  /**
   * Runs `fn` with the stores it makes before its first await attributed to `peer` (a caller that
   * puts at once, as tests do); kad-dht's handlers, which await first, use `expectFrom`.
   */
  fromPeer<T> (peer: string, fn: () => T): T {
    const before = this.current
    this.current = peer
    try {
      return fn()
    } finally {
      this.current = before
    }
  }

  /**
   * Attributes to `peer` the store of `what` (a record's DHT key, or a provider record's CID
   * multihash) while `fn` (kad-dht handling that peer's PUT_VALUE or ADD_PROVIDER) runs.
   */
  async expectFrom<T> (peer: string, what: Uint8Array, fn: () => Promise<T>): Promise<T> {
    const id = toHex(what)
    let peers = this.expected.get(id)
    if (peers === undefined) this.expected.set(id, peers = new Map())
    peers.set(peer, (peers.get(peer) ?? 0) + 1)
    try {
      return await fn()
    } finally {
      const n = (peers.get(peer) ?? 1) - 1
      if (n > 0) peers.set(peer, n)
      else peers.delete(peer)
      if (peers.size === 0) this.expected.delete(id)
    }
  }

  /** The remote peer a store of `what` is being handled for; for a provider record, the provider it names. */
  private senderOf (what: Uint8Array, provider?: string): string | undefined {
    if (this.current !== undefined) return this.current
    const peers = this.expected.get(toHex(what))
    if (peers === undefined) return undefined
    if (provider !== undefined) return peers.has(provider) ? provider : undefined
    return peers.keys().next().value
  }

  override async put (key: Key, val: Uint8Array, options?: AbortOptions): Promise<Key> {
    const text = key.toString()
    const sender = { peer: this.current }
    try {
      if (text.startsWith(RECORD_PREFIX)) return await this.locked(text, async () => await this.putRecord(key, val, sender, options))
      if (text.startsWith(PROVIDER_PREFIX)) return await this.locked(text, async () => await this.putProvider(key, val, sender, options))
    } catch (err) {
      if (sender.peer !== undefined) this.policy.onRefusal?.(err as Error)
      throw err
    }
    return await this.inner.put(key, val, options)
  }

  override async get (key: Key, options?: AbortOptions): Promise<Uint8Array> {
    const value = await this.inner.get(key, options)
    if (!key.toString().startsWith(RECORD_PREFIX)) return value
    let valid = false
    try {
      const record = DhtRecord.deserialize(value)
      await this.policy.validate(record.key, record.value)
      valid = true
    } catch {}
    if (valid) return value
    // never served again: kad-dht treats a missing record as absent and asks further
    await this.delete(key, options)
    throw new NotFoundError('the DHT record held under this key no longer validates')
  }

  override async has (key: Key, options?: AbortOptions): Promise<boolean> {
    return await this.inner.has(key, options)
  }

  override async delete (key: Key, options?: AbortOptions): Promise<void> {
    const text = key.toString()
    const counted = text.startsWith(RECORD_PREFIX) ? 'records' : text.startsWith(PROVIDER_PREFIX) ? 'providers' : undefined
    if (counted === undefined || !(await this.inner.has(key, options))) {
      await this.inner.delete(key, options)
      return
    }
    await this.inner.delete(key, options)
    const totals = await this.counts()
    totals[counted]--
    const owner = this.owners.get(text)
    if (owner !== undefined) {
      this.owners.delete(text)
      const byPeer = counted === 'records' ? this.recordsByPeer : this.providersByPeer
      const n = (byPeer.get(owner) ?? 1) - 1
      if (n > 0) byPeer.set(owner, n)
      else byPeer.delete(owner)
    }
  }

  override async * query (q: Query, options?: AbortOptions): AsyncGenerator<Pair> {
    yield * this.inner.query(q, options)
  }

  override async * queryKeys (q: KeyQuery, options?: AbortOptions): AsyncGenerator<Key> {
    yield * this.inner.queryKeys(q, options)
  }

  async purgeInvalid (options?: AbortOptions): Promise<number> {
    const invalid: Key[] = []
    for await (const { key, value } of this.inner.query({ prefix: RECORD_PREFIX.slice(0, -1) }, options)) {
      try {
        const record = DhtRecord.deserialize(value)
        await this.policy.validate(record.key, record.value)
      } catch {
        invalid.push(key)
      }
    }
    for (const key of invalid) await this.delete(key, options)
    return invalid.length
  }

  async usage (): Promise<{ records: number, providers: number, recordsByPeer: ReadonlyMap<string, number>, providersByPeer: ReadonlyMap<string, number> }> {
    const totals = await this.counts()
    return { ...totals, recordsByPeer: new Map(this.recordsByPeer), providersByPeer: new Map(this.providersByPeer) }
  }

  private async putRecord (key: Key, val: Uint8Array, sender: { peer: string | undefined }, options?: AbortOptions): Promise<Key> {
    if (val.byteLength > HEAD_RECORD_MAX_BYTES + DHT_RECORD_ENVELOPE_MAX_BYTES) {
      throw new DhtRecordRefusedError(`DHT record of ${val.byteLength} bytes is larger than any record kind`, { bytes: val.byteLength })
    }
    const record = DhtRecord.deserialize(val)
    sender.peer ??= this.senderOf(record.key)
    const kind = dhtKeyKind(record.key)
    if (kind === undefined) {
      // kad-dht's own /pk/ (and /ipns/) records and any other namespace: citycode stores none
      throw new DhtRecordRefusedError('DHT key is not a /citycode/r/ or /citycode/h/ key', { key: new TextDecoder().decode(record.key.subarray(0, 32)) })
    }
    if (record.key.byteLength > DHT_KEY_MAX_BYTES) throw new DhtRecordRefusedError(`DHT key of ${record.key.byteLength} bytes is longer than ${DHT_KEY_MAX_BYTES}`, { bytes: record.key.byteLength, limit: DHT_KEY_MAX_BYTES })
    const limit = kind === 'h' ? HEAD_RECORD_MAX_BYTES : RECORD_MAX_BYTES
    if (record.value.byteLength > limit) throw new DhtRecordRefusedError(`DHT value of ${record.value.byteLength} bytes is larger than ${limit} for /citycode/${kind}/`, { bytes: record.value.byteLength, limit })

    // the held copy is not all this node knows: a replay must not win where that copy is missing
    if (sender.peer !== undefined && await this.policy.newerKnown?.(record.key, record.value) === true) {
      throw new DhtRollbackError('this node has verified a newer version than the one offered', { key: new TextDecoder().decode(record.key) })
    }
    const held = await this.heldValue(key, options)
    if (held !== undefined) {
      if (!equalBytes(held, record.value) && this.policy.select(record.key, [held, record.value]) !== 1) {
        let heldValid = true
        try {
          await this.policy.validate(record.key, held)
        } catch {
          heldValid = false
        }
        if (heldValid) {
          // a remote PUT fails on the wire; the node's own put (kad-dht's local copy before it
          // sends to peers, which judge it themselves) keeps the held record and does not throw,
          // as kad-dht documents local puts
          if (sender.peer === undefined) return key
          throw new DhtRollbackError('the DHT record held under this key is preferred to the one offered', { key: new TextDecoder().decode(record.key) })
        }
      }
      return await this.inner.put(key, val, options)
    }
    return await this.putNew('records', key, val, sender.peer, options)
  }

  private async putProvider (key: Key, val: Uint8Array, sender: { peer: string | undefined }, options?: AbortOptions): Promise<Key> {
    // /dht/provider/<multihash, base32>/<provider peer id>: kad-dht stores only providers that are the sender
    const [, , , multihash, provider] = key.toString().split('/')
    if (sender.peer === undefined && multihash !== undefined) {
      try {
        sender.peer = this.senderOf(base32.decode(`b${multihash}`), provider)
      } catch {}
    }
    if (await this.inner.has(key, options)) return await this.inner.put(key, val, options)
    return await this.putNew('providers', key, val, sender.peer, options)
  }

  /** A key not held yet: counted against the sending peer's quota and the total before it is stored. */
  private async putNew (kind: 'records' | 'providers', key: Key, val: Uint8Array, peer: string | undefined, options?: AbortOptions): Promise<Key> {
    const byPeer = kind === 'records' ? this.recordsByPeer : this.providersByPeer
    const totals = await this.counts()
    if (peer !== undefined) {
      if (kind === 'records') this.checkQuota(kind, peer, totals.records, byPeer, this.limits.maxRecords, this.limits.maxRecordsPerPeer)
      else this.checkQuota(kind, peer, totals.providers, byPeer, this.limits.maxProviders, this.limits.maxProvidersPerPeer)
    }
    await this.inner.put(key, val, options)
    this.count(totals, kind, key, peer, byPeer)
    return key
  }

  private checkQuota (kind: 'records' | 'providers', peer: string, total: number, byPeer: Map<string, number>, maxTotal: number, maxPerPeer: number): void {
    if (total >= maxTotal) throw new DhtQuotaExceededError(`this node holds its quota of ${maxTotal} DHT ${kind}`, { kind, limit: maxTotal })
    if ((byPeer.get(peer) ?? 0) >= maxPerPeer) throw new DhtQuotaExceededError(`peer ${peer} has made this node store its quota of ${maxPerPeer} DHT ${kind}`, { kind, peer, limit: maxPerPeer })
  }

  private count (totals: { records: number, providers: number }, kind: 'records' | 'providers', key: Key, peer: string | undefined, byPeer: Map<string, number>): void {
    totals[kind]++
    if (peer === undefined) return
    this.owners.set(key.toString(), peer)
    byPeer.set(peer, (byPeer.get(peer) ?? 0) + 1)
  }

  private async heldValue (key: Key, options?: AbortOptions): Promise<Uint8Array | undefined> {
    try {
      return DhtRecord.deserialize(await this.inner.get(key, options)).value
    } catch {
      // absent (NotFoundError), or an entry that does not parse: no record to keep
      return undefined
    }
  }

  /** Records and providers held, counted once from the datastore (a persisted node restarts with some). */
  private async counts (): Promise<{ records: number, providers: number }> {
    this.totals ??= (async () => {
      let records = 0
      let providers = 0
      for await (const _ of this.inner.queryKeys({ prefix: RECORD_PREFIX.slice(0, -1) })) records++
      for await (const _ of this.inner.queryKeys({ prefix: PROVIDER_PREFIX.slice(0, -1) })) providers++
      return { records, providers }
    })()
    return await this.totals
  }

  private async locked<T> (key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve()
    let release!: () => void
    const mine = new Promise<void>(resolve => { release = resolve })
    const chained = previous.then(async () => await mine)
    this.locks.set(key, chained)
    try {
      await previous
      return await fn()
    } finally {
      release()
      if (this.locks.get(key) === chained) this.locks.delete(key)
    }
  }
}
