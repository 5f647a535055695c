import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { Key } from 'interface-datastore'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { decodeCanonical, encodeCbor, FieldReader } from '../../core/codec/cbor.ts'
import { equalBytes, sha256, toHex } from '../../core/crypto/hash.ts'
import { InvalidCursorError, PermissionError } from '../../core/errors.ts'
import { PAGE_LIMIT_MAX } from '../../core/ledger/cursor.ts'
import { CheckpointRollbackError, InconsistentTreeError, InsufficientCosignaturesError, InvalidProofError, NotLoggedError } from '../../core/ledger/errors.ts'
import { compareVerifiedTreeHeads } from '../../core/ledger/fork.ts'
import type { ForkKind, HeadComparison } from '../../core/ledger/fork.ts'
import type { LedgerEntry } from '../../core/ledger/log.ts'
import { checkServable, encodeEntryBundle, hashTile, TILE_WIDTH } from '../../core/ledger/tiles.ts'
import type { TileRef } from '../../core/ledger/tiles.ts'
import { cosign, decodeCosignature, encodeCosignature, signTreeHead, verifyCosignature, verifyCosignatures } from '../../core/ledger/tree-head.ts'
import type { Cosignature } from '../../core/ledger/tree-head.ts'
import { decodeHeadRecord, encodeHeadRecord, headKey } from '../../core/record/head-record.ts'
import type { HeadRecord, VerifiedHeadRecord } from '../../core/record/head-record.ts'
import { decodeRecord } from '../../core/record/record.ts'
import { COUNTRY_DEPTH, parseCode } from '../../core/code/grammar.ts'
import type { SignedRecord } from '../../core/record/record.ts'
import { decodeRecordInclusion, encodeRecordInclusion, verifyRecordInclusion } from '../../core/record/record-inclusion.ts'
import type { VerifiedRecord } from '../../core/record/verify.ts'
import { decodeRevocation } from '../../core/trust/revocation.ts'
import { MAX_CHAIN_LENGTH } from '../../core/trust/chain.ts'
import { deadlineSignal } from '../../network/deadline.ts'
import { encodeHeadsMessage, publishHeadsMessage, subscribeHeads } from '../../network/gossip/heads.ts'
import type { HeadsSubscription, VerifiedHeadsMessage } from '../../network/gossip/heads.ts'
import {
  decodeLedgerRequest, decodeLedgerResponse, encodeLedgerRequest, encodeLedgerResponse, LEDGER_PROTOCOL,
  LEDGER_REQUEST_MAX_BYTES, LEDGER_RESPONSE_MAX_BYTES, UnknownLogError
} from '../../network/protocols/ledger.ts'
import type { LedgerAnswers, LedgerOp, LedgerRequest } from '../../network/protocols/ledger.ts'
import { handleRequests, sendRequest } from '../../network/rpc/index.ts'
import { LedgerStore } from '../../storage/ledger-store.ts'
import type { PeerRef } from '../resolver/index.ts'
import { holderOf } from '../resolver/resolver.ts'
import { auditTarget } from './audit.ts'
import { checkedPage, DEFAULT_MAX_LOG_ENTRIES, LogTooLargeError, pageQuery, readRemoteLog, readRemotePage, verifiedLog } from './log-reader.ts'
import type { LogPage, PageRequest, ReadLogOptions, VerifiedLog } from './log-reader.ts'
import { TileReader } from './tiles.ts'
import type { AuditReport } from './audit.ts'
import {
  DEFAULT_COSIGN_TIMEOUT_MS, DEFAULT_HEAD_DHT_INTERVAL_MS, DEFAULT_HEAD_DHT_PUT_TIMEOUT_MS, DEFAULT_HEAD_INTERVAL_MS, DEFAULT_HEAD_REPUBLISH_INTERVAL_MS,
  DEFAULT_LEDGER_REQUEST_TIMEOUT_MS, MAX_KNOWN_LOGS
} from './index.ts'
import type {
  AuditOptions, CosignatureRequirement, ForkAlarm, HeadCheck, HeadSource, Ledger, LedgerComponents, LedgerCounters, LedgerInit, VerifiedRecordInclusion, WitnessRef
} from './index.ts'

const SEEN_PREFIX = '/citycode/ledger/seen/'
/** Held heads of other logs are written in batches: a lost batch only makes the next check a first sight. */
const SEEN_FLUSH_INTERVAL_MS = 5_000
const ALARM_PREFIX = '/citycode/ledger/alarm/'
const ALARM_MAX_BYTES = 64 * 1024
/** Other logs whose verified full tiles this node keeps (a gateway in front of many cities). */
const MAX_TILE_READERS = 64

type Outcome = { status: 'consistent' } | { status: 'fork', kind: ForkKind, evidence: Uint8Array }

/**
 * One authority's ledger in the network, plus this node's watch over everyone else's:
 * - the own log (LedgerStore): entries appended by the authority and publisher hooks, a signed head
 *   at most every `headIntervalMs`, announced on gossip (with the consistency proof from the last
 *   announced head), put in the DHT under `/citycode/h/<namespace>`, cosigned by witnesses;
 * - `/citycode/ledger/1.0.0`: heads, proofs and entries of the own log; cosignatures as a witness;
 * - monitoring: the latest verified head of every other log seen, each new head checked against it
 *   with a consistency proof (sent with the head, else asked of the log's node); a fork raises an
 *   alarm with evidence, gossiped, and the log's key is distrusted by the node's RecordValidator
 *   until an operator clears it.
 */
export class LedgerService implements Ledger {
  readonly counters: LedgerCounters = { appended: 0, headsSigned: 0, headsPut: 0, headsSeen: 0, consistent: 0, forks: 0, undecided: 0, cosigned: 0 }
  private readonly c: LedgerComponents
  private readonly headIntervalMs: number
  private readonly republishIntervalMs: number
  private readonly requestTimeoutMs: number
  private readonly cosignTimeoutMs: number
  private readonly witnesses: readonly WitnessRef[]
  private readonly isWitness: boolean
  private readonly monitor: boolean
  private readonly log: Logger
  private store: LedgerStore | undefined
  /** Latest verified head of each other log, kept compact: the head, its key and cosignatures (no chain). */
  private readonly known = new Map<string, HeadRecord>()
  private readonly dirty = new Set<string>()
  private flushTimer: ReturnType<typeof setInterval> | undefined
  private readonly alarmsByKey = new Map<string, ForkAlarm>()
  private readonly logQueues = new Map<string, Promise<unknown>>()
  private signing: Promise<unknown> = Promise.resolve()
  private lastHeadAt = 0
  /** The last head announced on gossip: the next announcement carries a proof from it. */
  private lastAnnounced: HeadRecord | undefined
  private headTimer: ReturnType<typeof setTimeout> | undefined
  private republishTimer: ReturnType<typeof setInterval> | undefined
  private readonly headDhtIntervalMs: number
  private readonly gossipFirstCityHeads: boolean
  /** When the last head was put in the DHT (monotonic clock); undefined before the first. */
  private lastDhtPutAt: number | undefined
  private dhtTimer: ReturnType<typeof setTimeout> | undefined
  private subscription: HeadsSubscription | undefined
  private stopping = new AbortController()
  private running = false
  private readonly background = new Set<Promise<unknown>>()
  private readonly tileReaders = new Map<string, TileReader>()

  constructor (init: LedgerInit, components: LedgerComponents) {
    this.c = components
    this.headIntervalMs = init.headIntervalMs ?? DEFAULT_HEAD_INTERVAL_MS
    this.republishIntervalMs = init.republishIntervalMs ?? DEFAULT_HEAD_REPUBLISH_INTERVAL_MS
    this.requestTimeoutMs = init.requestTimeoutMs ?? DEFAULT_LEDGER_REQUEST_TIMEOUT_MS
    this.cosignTimeoutMs = init.cosignTimeoutMs ?? DEFAULT_COSIGN_TIMEOUT_MS
    this.headDhtIntervalMs = init.headDhtIntervalMs ?? DEFAULT_HEAD_DHT_INTERVAL_MS
    this.gossipFirstCityHeads = init.gossipFirstCityHeads ?? true
    this.witnesses = init.witnesses ?? []
    this.isWitness = init.witness ?? false
    this.monitor = init.monitor ?? true
    this.log = components.logger.forComponent('citycode:ledger')
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  async start (): Promise<void> {
    this.stopping = new AbortController()
    this.store = await LedgerStore.open(this.c.datastore)
    if (this.store.recovery.droppedTail > 0) this.log('ledger recovered: dropped %d unsigned entries of an interrupted append', this.store.recovery.droppedTail)
    this.lastAnnounced = this.store.head
    await this.loadKnown()
    await this.loadAlarms()
    const libp2p = this.c.libp2p
    if (libp2p !== undefined) {
      await handleRequests(libp2p, LEDGER_PROTOCOL, async (request, peer, options) => await this.answer(request, peer, options), { maxRequestBytes: LEDGER_REQUEST_MAX_BYTES })
      this.subscription = subscribeHeads(libp2p.services.pubsub, this.c.validator, (message) => { this.onGossip(message) }, this.c.logger)
    }
    this.running = true
    await this.reconcile()
    if (this.store.size > (this.store.head?.sth.head.size ?? 0)) this.scheduleHead()
    this.republishTimer = setInterval(() => { this.republish() }, this.republishIntervalMs)
    this.republishTimer.unref()
    this.flushTimer = setInterval(() => { this.track(this.flushKnown()) }, SEEN_FLUSH_INTERVAL_MS)
    this.flushTimer.unref()
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    clearTimeout(this.headTimer)
    this.headTimer = undefined
    clearInterval(this.republishTimer)
    clearTimeout(this.dhtTimer)
    this.dhtTimer = undefined
    clearInterval(this.flushTimer)
    this.stopping.abort()
    this.subscription?.unsubscribe()
    await this.c.libp2p?.unhandle(LEDGER_PROTOCOL).catch(() => undefined)
    await Promise.allSettled([...this.background])
    await this.signing.catch(() => undefined)
    await this.flushKnown().catch(err => { this.log.error('could not store held heads: %s', (err as Error).message) })
    // entries appended since the last head: sign them now (not announced), so a restart finds them signed
    await this.signHeadNow(false).catch(err => { this.log.error('could not sign the final head: %s', (err as Error).message) })
  }

  get size (): number {
    return this.store?.size ?? 0
  }

  // -------------------------------------------------------------------------------------------
  // The own log

  async append (entry: LedgerEntry): Promise<number> {
    const index = await this.requireStore().append([entry])
    this.counters.appended++
    this.scheduleHead()
    return index
  }

  async appendMany (entries: readonly LedgerEntry[]): Promise<number> {
    if (entries.length === 0) return this.size
    const index = await this.requireStore().append(entries)
    this.counters.appended += entries.length
    this.scheduleHead()
    return index
  }

  holds (entry: Pick<LedgerEntry, 'type' | 'code' | 'object'>): boolean {
    return this.requireStore().has(entry)
  }

  async appendAllocation (code: string, certificate: Uint8Array): Promise<number> {
    return await this.append({ type: 'allocation', code, time: this.c.now(), object: sha256(certificate) })
  }

  async appendRotation (code: string, certificate: Uint8Array): Promise<number> {
    return await this.append({ type: 'rotation', code, time: this.c.now(), object: sha256(certificate) })
  }

  async appendRecord (bytes: Uint8Array): Promise<number> {
    const record = decodeRecord(bytes)
    const entry: LedgerEntry = { type: 'record', code: record.body.code, seq: record.body.seq, time: record.body.issuedAt, object: sha256(bytes) }
    const store = this.requireStore()
    if (store.has(entry)) return store.indicesOf(entry.code).at(-1) as number
    return await this.append(entry)
  }

  async appendRevocation (bytes: Uint8Array): Promise<number> {
    const revocation = decodeRevocation(bytes)
    return await this.append({ type: 'revocation', code: revocation.namespace, time: revocation.revokedAt, object: sha256(bytes) })
  }

  head (): HeadRecord | undefined {
    return this.store?.head
  }

  async signHead (): Promise<HeadRecord | undefined> {
    return await this.signHeadNow(true)
  }

  inclusionProof (index: number, size?: number): Uint8Array[] {
    return this.requireStore().inclusionProof(index, size)
  }

  consistencyProof (oldSize: number, newSize?: number): Uint8Array[] {
    return this.requireStore().consistencyProof(oldSize, newSize)
  }

  async entries (from: number, to: number): Promise<Uint8Array[]> {
    return await this.requireStore().entries(from, to)
  }

  async proveRecord (record: SignedRecord): Promise<Uint8Array> {
    return await this.proveLogged(record.body.code, sha256(record.bytes))
  }

  /** An inclusion proof of the record entry with this object hash, under a head that covers it (signed now if none does). */
  private async proveLogged (code: string, object: Uint8Array): Promise<Uint8Array> {
    const store = this.requireStore()
    let index: number | undefined
    for (const i of [...store.indicesOf(code)].reverse()) {
      const entry = await store.entry(i)
      if (entry.type === 'record' && equalBytes(entry.object, object)) {
        index = i
        break
      }
    }
    if (index === undefined) throw new NotLoggedError(`no record entry of ${code} with that hash in this log`, { code })
    let head = store.head
    if (head === undefined || head.sth.head.size <= index) head = await this.signHeadNow(true)
    if (head === undefined || head.sth.head.size <= index) throw new NotLoggedError(`no signed head covers the entry of ${code} yet`, { code })
    return encodeRecordInclusion({ head: head.bytes, index, proof: store.inclusionProof(index, head.sth.head.size) })
  }

  async recordInclusion (verified: VerifiedRecord, options: AbortOptions = {}): Promise<VerifiedRecordInclusion> {
    const record = verified.record
    const log = verified.chain.namespace
    const own = this.ownLog()
    let bytes: Uint8Array
    if (own?.namespace === log && equalBytes(own.signer.publicKey, record.body.key)) {
      bytes = await this.proveRecord(record)
    } else {
      const request = { op: 'prove-record' as const, log, code: record.body.code, object: sha256(record.bytes) }
      // the record's holder keeps the signer's log for its own record; otherwise the log's node
      const holder = holderOf(verified)
      const peers = holder !== undefined && record.body.code === log ? [holder] : []
      if (peers.length === 0) {
        const located = await this.c.locate?.(log, options)
        if (located !== undefined) peers.push(located)
      }
      if (peers.length === 0) throw new UnknownLogError(`no node found for the log of ${log}`, { log })
      bytes = (await this.ask(peers[0] as PeerRef, request, options)).inclusion
    }
    const head = verifyRecordInclusion(bytes, record, log, this.c.validator.chains, { now: this.c.now(), revocations: this.c.validator.revocations })
    // a proof under a head that forks from one this node holds is no proof: the check raises the alarm
    if (own?.namespace !== log && await this.checkHead(head, {}, options) === 'fork') {
      throw new InconsistentTreeError(`the head proving ${record.body.code} forks from a head of ${log} this node holds`, { log })
    }
    return { inclusion: bytes, head: head.record, index: decodeRecordInclusion(bytes).index }
  }

  private requireStore (): LedgerStore {
    if (this.store === undefined) throw new UnknownLogError('the ledger is not started', {})
    return this.store
  }

  private ownLog (): { namespace: string, chain: readonly Uint8Array[], signer: NonNullable<ReturnType<LedgerComponents['signer']>> } | undefined {
    const identity = this.c.identity()
    const signer = this.c.signer()
    return identity === undefined || signer === undefined ? undefined : { namespace: identity.namespace, chain: identity.chain, signer }
  }

  /** One head per `headIntervalMs` at most: the first append after a head starts the wait. */
  private scheduleHead (): void {
    if (this.headTimer !== undefined || !this.running) return
    const wait = Math.max(0, this.lastHeadAt + this.headIntervalMs - this.c.now())
    this.headTimer = setTimeout(() => {
      this.headTimer = undefined
      this.track(this.signHeadNow(true).catch(err => { this.log.error('signing a head failed: %s', (err as Error).message) }))
    }, wait)
  }

  private async signHeadNow (announce: boolean): Promise<HeadRecord | undefined> {
    const run = this.signing.then(async () => await this.signOnce(announce))
    this.signing = run.catch(() => undefined)
    return await run
  }

  private async signOnce (announce: boolean): Promise<HeadRecord | undefined> {
    const own = this.ownLog()
    const store = this.store
    if (own === undefined || store === undefined) return undefined
    const size = store.size
    const previous = store.head
    if (previous !== undefined && previous.sth.head.size === size && previous.sth.head.log === own.namespace && equalBytes(previous.key, own.signer.publicKey)) return previous
    const now = this.c.now()
    const sth = signTreeHead({ log: own.namespace, size, root: store.root(size), time: now }, own.signer)
    const head = await store.saveHead(encodeHeadRecord({ head: sth, key: own.signer.publicKey, chain: own.chain }))
    this.lastHeadAt = now
    this.counters.headsSigned++
    if (announce) await this.announce(head)
    return store.head
  }

  /** Witness cosignatures, then gossip (with a proof from the last announced head), then the DHT. */
  private async announce (head: HeadRecord): Promise<void> {
    const store = this.requireStore()
    let record = head
    if (this.witnesses.length > 0 && this.c.libp2p !== undefined) {
      const cosignatures = await this.gatherCosignatures(head)
      if (cosignatures.length > 0) record = await store.saveHead(encodeHeadRecord({ head: head.sth, key: head.key, chain: head.chain, cosignatures }))
    }
    const libp2p = this.c.libp2p
    if (libp2p === undefined || !this.running) return
    const last = this.lastAnnounced
    const fromSize = last !== undefined && last.sth.head.log === head.sth.head.log && equalBytes(last.key, head.key) && last.sth.head.size <= head.sth.head.size ? last.sth.head.size : 0
    const proof = fromSize > 0 ? store.consistencyProof(fromSize, head.sth.head.size) : []
    if (this.gossipFirstCityHeads || !isFirstCityHead(head)) await publishHeadsMessage(libp2p.services.pubsub, encodeHeadsMessage({ type: 'head-update', record: record.bytes, fromSize, proof }))
      .catch(err => { this.log('gossip of head %d failed: %s', head.sth.head.size, (err as Error).message) })
    this.lastAnnounced = record
    this.scheduleDhtPut()
  }

  private async gatherCosignatures (head: HeadRecord): Promise<Cosignature[]> {
    const answers = await Promise.all(this.witnesses.map(async (w) => {
      try {
        const answer = await this.ask(w.addr, { op: 'cosign', record: head.bytes }, { timeoutMs: this.cosignTimeoutMs })
        const c = decodeCosignature(answer.cosignature)
        verifyCosignature(head.sth, c, { now: this.c.now() })
        return c
      } catch (err) {
        this.log('witness %s did not cosign head %d: %s', w.namespace ?? w.addr, head.sth.head.size, (err as Error).message)
        return undefined
      }
    }))
    const out: Cosignature[] = []
    for (const c of answers) if (c !== undefined && !out.some(o => equalBytes(o.witness, c.witness))) out.push(c)
    return out
  }

  private async putHead (record: HeadRecord): Promise<void> {
    const dht = this.c.libp2p?.services.dht
    if (dht === undefined) return
    const deadline = deadlineSignal(DEFAULT_HEAD_DHT_PUT_TIMEOUT_MS, this.stopping.signal)
    this.counters.headsPut++
    try {
      for await (const event of dht.put(headKey(record.sth.head.log), record.bytes, { signal: deadline.signal })) void event
    } catch (err) {
      this.log('DHT put of head %s/%d failed: %s', record.sth.head.log, record.sth.head.size, (err as Error).message)
    } finally {
      deadline.clear()
    }
  }

  /** Puts the latest announced head now, or once the DHT interval since the last put has passed. */
  private scheduleDhtPut (): void {
    if (this.dhtTimer !== undefined) return // a trailing put is due: it takes the latest head then
    const wait = this.lastDhtPutAt === undefined ? 0 : this.lastDhtPutAt + this.headDhtIntervalMs - performance.now()
    if (wait <= 0) {
      this.putLatest()
      return
    }
    this.dhtTimer = setTimeout(() => {
      this.dhtTimer = undefined
      this.putLatest()
    }, wait)
    this.dhtTimer.unref()
  }

  private putLatest (): void {
    const head = this.lastAnnounced
    if (head === undefined || !this.running) return
    this.lastDhtPutAt = performance.now()
    this.track(this.putHead(head))
  }

  private republish (): void {
    const head = this.store?.head
    if (head === undefined || !this.running) return
    this.lastDhtPutAt = performance.now()
    this.track(this.putHead(head))
  }

  /** Allocations and own records the log misses (a crash between storing and logging, an older node): appended at start. */
  private async reconcile (): Promise<void> {
    const store = this.requireStore()
    if (this.ownLog() === undefined) return
    const missing: LedgerEntry[] = []
    if (this.c.allocations !== undefined) {
      const allocations = []
      for await (const a of this.c.allocations.list()) allocations.push(a)
      allocations.sort((a, b) => a.allocatedAt - b.allocatedAt)
      for (const a of allocations) {
        const entry: LedgerEntry = { type: 'allocation', code: a.code, time: a.allocatedAt, object: sha256(a.certificate) }
        if (!store.has(entry)) missing.push(entry)
      }
    }
    if (this.c.records !== undefined) {
      for await (const r of this.c.records.list('own')) {
        const record = decodeRecord(r.bytes)
        const entry: LedgerEntry = { type: 'record', code: record.body.code, seq: record.body.seq, time: record.body.issuedAt, object: sha256(r.bytes) }
        if (!store.has(entry)) missing.push(entry)
      }
    }
    if (missing.length === 0) return
    await store.append(missing)
    this.counters.appended += missing.length
    this.log('reconciled %d signed objects missing from the ledger', missing.length)
  }

  // -------------------------------------------------------------------------------------------
  // Serving the protocol

  private async answer (bytes: Uint8Array, peer: PeerId, options: AbortOptions): Promise<Uint8Array> {
    try {
      const request = decodeLedgerRequest(bytes)
      if (request.op === 'cosign') {
        return encodeLedgerResponse({ status: 'cosignature', cosignature: encodeCosignature(await this.cosignFor(request.record, peer.toString(), options)) })
      }
      const store = this.servedLog(request.log)
      switch (request.op) {
        case 'get-head': return encodeLedgerResponse({ status: 'head', record: (store.head as HeadRecord).bytes })
        case 'get-consistency': return encodeLedgerResponse({ status: 'consistency', proof: store.consistencyProof(request.oldSize, request.newSize) })
        case 'get-inclusion': {
          const proof = store.inclusionProof(request.index, request.size)
          const [leaf] = await store.entries(request.index, request.index + 1)
          return encodeLedgerResponse({ status: 'inclusion', proof, leaf: leaf as Uint8Array })
        }
        case 'get-entries': return encodeLedgerResponse({ status: 'entries', entries: await store.entries(request.from, request.to) })
        case 'prove-record': return encodeLedgerResponse({ status: 'record-inclusion', inclusion: await this.proveLogged(request.code, request.object) })
        case 'get-tile': return encodeLedgerResponse({ status: 'tile', data: await this.ownTile(store, request.tile) })
        case 'get-page': {
          const head = store.head as HeadRecord
          const size = head.sth.head.size
          const bound = request.bound ?? size
          if (bound > size) throw new InvalidCursorError(`a listing of ${bound} entries, this log's head has ${size}`, { reason: 'stale', headSize: bound, served: size })
          const page = await store.page({ of: request.of, ...(request.code !== undefined ? { code: request.code } : {}), from: request.from, bound, limit: request.limit }, size)
          return encodeLedgerResponse({ status: 'page', record: head.bytes, ...page })
        }
      }
    } catch (err) {
      return encodeLedgerResponse({ status: 'refused', error: err })
    }
  }

  private servedLog (log: string): LedgerStore {
    const store = this.store
    const identity = this.c.identity()
    if (store === undefined || identity?.namespace !== log || store.head === undefined || store.head.sth.head.log !== log) {
      throw new UnknownLogError(`this node keeps no signed ledger of ${log}`, { log })
    }
    return store
  }

  /** As a witness: cosign a head only once it is checked consistent with what this node saw of its log. */
  private async cosignFor (bytes: Uint8Array, peer: string, options: AbortOptions): Promise<Cosignature> {
    const signer = this.c.signer()
    if (!this.isWitness || signer === undefined) throw new PermissionError('this node is not a witness', {})
    const verified = this.c.validator.validateHead(bytes)
    const check = await this.checkHead(verified, { peer }, options)
    if (check === 'fork') throw new InconsistentTreeError(`head ${verified.record.sth.head.size} of ${verified.record.sth.head.log} is inconsistent with a head this witness saw`, { log: verified.record.sth.head.log })
    if (check === 'undecided') throw new InvalidProofError(`could not check head ${verified.record.sth.head.size} of ${verified.record.sth.head.log} against the one this witness saw`, { reason: 'undecided' })
    this.counters.cosigned++
    return cosign(verified.record.sth, signer, this.c.now())
  }

  // -------------------------------------------------------------------------------------------
  // Watching other logs

  knownHead (log: string): HeadRecord | undefined {
    return this.known.get(log)
  }

  private onGossip (message: VerifiedHeadsMessage): void {
    if (!this.running) return
    if (message.type === 'fork-alarm') {
      this.track(this.raiseAlarm({ log: message.fork.log, key: message.key, chain: message.chain, kind: message.fork.kind, evidence: message.fork.evidence.bytes, source: 'gossip' })
        .catch(err => { this.log.error('could not record a fork alarm: %s', (err as Error).message) }))
      return
    }
    if (!this.monitor) return
    // gossip names only the peer that forwarded the head, which need not hold the log: proofs the
    // message lacks are asked of the log's own node (located by its namespace)
    const source: HeadSource = { proof: { fromSize: message.fromSize, hashes: message.proof } }
    this.track(this.checkHead(message.head, source, { signal: this.stopping.signal })
      .catch(err => { this.log('checking a head of %s failed: %s', message.head.record.sth.head.log, (err as Error).message) }))
  }

  async checkHead (input: Uint8Array | VerifiedHeadRecord, source: HeadSource = {}, options: AbortOptions = {}): Promise<HeadCheck> {
    const verified = input instanceof Uint8Array ? this.c.validator.validateHead(input) : input
    const record = verified.record
    const log = record.sth.head.log
    const own = this.ownLog()
    if (own !== undefined && own.namespace === log && equalBytes(own.signer.publicKey, record.key)) return 'own'
    return await this.perLog(log, async () => {
      this.counters.headsSeen++
      const previous = this.known.get(log)
      if (previous === undefined) {
        await this.remember(record)
        return 'first'
      }
      if (!equalBytes(previous.key, record.key)) {
        // a re-issued certificate or a rotation: a new key starts a new log under the namespace
        this.log('log %s is now signed by another key', log)
        await this.remember(record)
        return 'key-changed'
      }
      const a = previous.sth.head
      const b = record.sth.head
      let outcome: Outcome | undefined
      if (a.size === b.size) {
        outcome = this.compare(previous, record, [])
      } else {
        const [older, newer] = a.size < b.size ? [previous, record] : [record, previous]
        if (newer === record && source.proof !== undefined && source.proof.fromSize === older.sth.head.size) outcome = this.compare(older, newer, source.proof.hashes)
        outcome ??= await this.fetchAndCompare(log, older, newer, source.peer, options)
        outcome ??= await this.compareWithOwnerHead(log, [previous, record], source.peer, options)
      }
      if (outcome === undefined) {
        this.counters.undecided++
        this.log('could not check head %d of %s against %d: no usable proof', b.size, log, a.size)
        return 'undecided'
      }
      if (outcome.status === 'fork') {
        await this.raiseAlarm({ log, key: record.key, chain: record.chain, kind: outcome.kind, evidence: outcome.evidence, source: 'local' })
        return 'fork'
      }
      this.counters.consistent++
      if (b.size > a.size) {
        await this.remember(record)
        return 'consistent'
      }
      if (b.size === a.size) {
        // same tree: keep whichever carries more cosignatures
        if (record.cosignatures.length > previous.cosignatures.length) await this.remember(record)
        return 'same'
      }
      return 'stale'
    })
  }

  /**
   * compareTreeHeads, with "this proof decides nothing" as undefined. Both heads were verified
   * under the same key when they were taken (validateHead; the callers compare keys first), so their
   * signatures are not checked again.
   */
  private compare (a: HeadRecord, b: HeadRecord, proof: readonly Uint8Array[]): Outcome | undefined {
    let result: HeadComparison
    try {
      result = compareVerifiedTreeHeads(a.sth, b.sth, a.sth.head.size === b.sth.head.size ? undefined : proof)
    } catch (err) {
      if ((err as Error).name === 'InvalidProofError') return undefined
      throw err
    }
    return result.status === 'consistent' ? { status: 'consistent' } : { status: 'fork', kind: result.kind, evidence: result.evidence }
  }

  /** Asks the log's node (the sender first, then the namespace's holder) for the proof between two heads. */
  private async fetchAndCompare (log: string, older: HeadRecord, newer: HeadRecord, peer: string | undefined, options: AbortOptions): Promise<Outcome | undefined> {
    for (const candidate of await this.ownersOf(log, peer, options)) {
      try {
        const answer = await this.ask(candidate, { op: 'get-consistency', log, oldSize: older.sth.head.size, newSize: newer.sth.head.size }, options)
        const outcome = this.compare(older, newer, answer.proof)
        if (outcome !== undefined) return outcome
      } catch (err) {
        this.log('consistency proof for %s from %s failed: %s', log, typeof candidate === 'string' ? candidate : candidate.id, (err as Error).message)
      }
    }
    return undefined
  }

  /**
   * When the proofs served do not lead to a head this node holds (a node showing different trees to
   * different peers), compare each held head with the log's current head instead: a fork against it
   * is evidence too, and two heads that are both prefixes of it are consistent.
   */
  private async compareWithOwnerHead (log: string, heads: HeadRecord[], peer: string | undefined, options: AbortOptions): Promise<Outcome | undefined> {
    for (const candidate of await this.ownersOf(log, peer, options)) {
      try {
        const current = this.c.validator.validateHead((await this.ask(candidate, { op: 'get-head', log }, options)).record, log).record
        if (!equalBytes(current.key, (heads[0] as HeadRecord).key)) continue
        let consistent = 0
        for (const h of heads) {
          if (h.sth.head.size > current.sth.head.size) break
          const proof = h.sth.head.size === current.sth.head.size ? [] : (await this.ask(candidate, { op: 'get-consistency', log, oldSize: h.sth.head.size, newSize: current.sth.head.size }, options)).proof
          const outcome = this.compare(h, current, proof)
          if (outcome?.status === 'fork') return outcome
          if (outcome?.status === 'consistent') consistent++
        }
        if (consistent === heads.length) return { status: 'consistent' }
      } catch (err) {
        this.log('head of %s from its node failed: %s', log, (err as Error).message)
      }
    }
    return undefined
  }

  private async ownersOf (log: string, peer: string | undefined, options: AbortOptions): Promise<Array<string | PeerRef>> {
    const out: Array<string | PeerRef> = []
    if (peer !== undefined) out.push(peer)
    if (this.c.locate !== undefined) {
      const located = await this.c.locate(log, options).catch(() => undefined)
      if (located !== undefined && located.id !== peer) out.push(located)
    }
    return out
  }

  private async remember (record: HeadRecord): Promise<void> {
    const log = record.sth.head.log
    if (!this.known.has(log) && this.known.size >= MAX_KNOWN_LOGS) return
    // a copy without the chain: a few hundred bytes per log, and no reference into a gossip buffer
    this.known.set(log, decodeHeadRecord(encodeHeadRecord({ head: Uint8Array.from(record.sth.bytes), key: Uint8Array.from(record.key), chain: [], cosignatures: record.cosignatures })))
    this.dirty.add(log)
  }

  private async flushKnown (): Promise<void> {
    if (this.dirty.size === 0) return
    const batch = this.c.datastore.batch()
    for (const log of this.dirty) {
      const record = this.known.get(log)
      if (record !== undefined) batch.put(new Key(SEEN_PREFIX + log), record.bytes)
    }
    this.dirty.clear()
    await batch.commit()
  }

  private async loadKnown (): Promise<void> {
    for await (const { key, value } of this.c.datastore.query({ prefix: SEEN_PREFIX })) {
      try {
        const record = decodeHeadRecord(value)
        if (key.toString() === SEEN_PREFIX + record.sth.head.log) this.known.set(record.sth.head.log, record)
      } catch (err) {
        this.log.error('dropping a damaged stored head %s: %s', key.toString(), (err as Error).message)
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Alarms

  alarms (): ForkAlarm[] {
    return [...this.alarmsByKey.values()]
  }

  async clearAlarm (key: Uint8Array): Promise<boolean> {
    const hex = toHex(key)
    const had = this.alarmsByKey.delete(hex)
    this.c.validator.trust(key)
    await this.c.datastore.delete(new Key(ALARM_PREFIX + hex))
    return had
  }

  private async raiseAlarm (fields: Omit<ForkAlarm, 'detectedAt'>): Promise<void> {
    const hex = toHex(fields.key)
    if (this.alarmsByKey.has(hex)) return
    const alarm: ForkAlarm = { ...fields, detectedAt: this.c.now() }
    this.alarmsByKey.set(hex, alarm)
    this.counters.forks++
    this.distrust(alarm)
    this.log.error('FORK: the ledger of %s (key %s) forked (%s, %s evidence); its records are refused until an operator clears the alarm', alarm.log, hex.slice(0, 16), alarm.kind, alarm.source)
    await this.c.datastore.put(new Key(ALARM_PREFIX + hex), encodeCbor({
      log: alarm.log, key: alarm.key, kind: alarm.kind, evidence: alarm.evidence, chain: [...alarm.chain], detectedAt: alarm.detectedAt, source: alarm.source
    }))
    const libp2p = this.c.libp2p
    if (alarm.source === 'local' && libp2p !== undefined && this.running) {
      await publishHeadsMessage(libp2p.services.pubsub, encodeHeadsMessage({ type: 'fork-alarm', evidence: alarm.evidence, key: alarm.key, chain: [...alarm.chain] }))
        .catch(err => { this.log('gossip of fork evidence failed: %s', (err as Error).message) })
    }
  }

  private distrust (alarm: ForkAlarm): void {
    // a node never distrusts its own key (it would stop publishing): the alarm is logged for its operator
    if (equalBytes(this.c.signer()?.publicKey ?? new Uint8Array(0), alarm.key)) return
    this.c.validator.distrust(alarm.key, { log: alarm.log, reason: `ledger fork (${alarm.kind})` })
  }

  private async loadAlarms (): Promise<void> {
    for await (const { value } of this.c.datastore.query({ prefix: ALARM_PREFIX })) {
      try {
        const r = new FieldReader(decodeCanonical(value, ALARM_MAX_BYTES, 'fork alarm'), 'fork alarm', ['log', 'key', 'kind', 'evidence', 'chain', 'detectedAt', 'source'])
        const kind = r.string('kind', 16) === 'same-size' ? 'same-size' : 'not-extended'
        const alarm: ForkAlarm = {
          log: r.string('log', 64), key: r.bytes('key', 32), kind, evidence: r.bytes('evidence'), chain: r.bytesArray('chain', MAX_CHAIN_LENGTH),
          detectedAt: r.uint('detectedAt'), source: r.string('source', 8) === 'local' ? 'local' : 'gossip'
        }
        this.alarmsByKey.set(toHex(alarm.key), alarm)
        this.distrust(alarm)
      } catch (err) {
        this.log.error('dropping a damaged stored fork alarm: %s', (err as Error).message)
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Cosignature requirement and audit

  async requireCosignatures (verified: VerifiedRecord, requirement: CosignatureRequirement, options: AbortOptions = {}): Promise<void> {
    const log = verified.chain.namespace
    const key = verified.record.body.key
    const policy = { witnesses: requirement.witnesses, threshold: requirement.k }
    const check = { now: this.c.now() }
    // the head must cover this version: signed (by the authority's clock) no earlier than the record
    const meets = (h: HeadRecord | undefined): boolean => {
      if (h === undefined || !equalBytes(h.key, key) || h.sth.head.time < verified.record.body.issuedAt) return false
      try {
        verifyCosignatures(h.sth, h.cosignatures, policy, check)
        return true
      } catch {
        return false
      }
    }
    const own = this.ownLog()
    const held = own?.namespace === log ? this.store?.head : this.known.get(log)
    if (meets(held)) return
    // ask for the latest head: the DHT, and the log's own node
    const peer = verified.record.body.code === log ? holderOf(verified) : undefined
    const candidates: Array<{ bytes: Uint8Array, peer?: string }> = []
    for (const bytes of await this.dhtHeads(log, options)) candidates.push({ bytes })
    for (const owner of peer !== undefined ? [peer] : await this.ownersOf(log, undefined, options)) {
      try {
        candidates.push({ bytes: (await this.ask(owner, { op: 'get-head', log }, options)).record, peer: typeof owner === 'string' ? owner : owner.id })
        break
      } catch (err) {
        this.log('head of %s from its node failed: %s', log, (err as Error).message)
      }
    }
    for (const candidate of candidates) {
      try {
        const v = this.c.validator.validateHead(candidate.bytes, log)
        const result = await this.checkHead(v, candidate.peer !== undefined ? { peer: candidate.peer } : {}, options)
        if (result !== 'fork' && result !== 'undecided' && meets(v.record)) return
      } catch {}
    }
    const latest = held ?? candidates[0]
    throw new InsufficientCosignaturesError(`the latest head of ${log} lacks ${requirement.k} valid cosignatures of the required witnesses`,
      { log, threshold: requirement.k, known: latest !== undefined })
  }

  async audit (target: string, options: AuditOptions = {}): Promise<AuditReport> {
    return await auditTarget(target, {
      ...(options.state !== undefined ? { state: options.state } : {}),
      ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
      validator: this.c.validator,
      now: this.c.now,
      locate: async (log, opts) => await this.c.locate?.(log, opts),
      ask: this.ask.bind(this),
      dhtHeads: async (log, opts) => await this.dhtHeads(log, opts),
      heldHeads: (log) => {
        const out: Array<{ source: 'seen' | 'own', record: HeadRecord }> = []
        const seen = this.known.get(log)
        if (seen !== undefined) out.push({ source: 'seen', record: seen })
        const ownHead = this.store?.head
        if (ownHead !== undefined && ownHead.sth.head.log === log) out.push({ source: 'own', record: ownHead })
        return out
      },
      alarms: () => this.alarms(),
      raiseAlarm: async (alarm) => { await this.raiseAlarm(alarm) }
    }, options)
  }

  async readLog (log: string, options: ReadLogOptions = {}): Promise<VerifiedLog> {
    const store = this.requireStore()
    if (this.ownLog()?.namespace === log) {
      const head = store.head
      if (head === undefined) throw new UnknownLogError(`no head of ${log} signed yet`, { log })
      const maxEntries = options.maxEntries ?? DEFAULT_MAX_LOG_ENTRIES
      if (head.sth.head.size > maxEntries) throw new LogTooLargeError(`the log of ${log} has ${head.sth.head.size} entries, more than the ${maxEntries} read at once`, { log, size: head.sth.head.size, maxEntries })
      return verifiedLog(log, head, await store.entries(0, head.sth.head.size))
    }
    return await readRemoteLog(log, { validator: this.c.validator, locate: async (l, opts) => await this.c.locate?.(l, opts), ask: this.ask.bind(this) }, options)
  }

  async readPage (log: string, request: PageRequest, options: AbortOptions = {}): Promise<LogPage> {
    const store = this.requireStore()
    if (this.ownLog()?.namespace !== log) {
      const page = await readRemotePage(log, request, { validator: this.c.validator, locate: async (l, opts) => await this.c.locate?.(l, opts), ask: this.ask.bind(this) }, options)
      this.refuseRollback(log, page.head)
      return page
    }
    const head = store.head
    if (head === undefined) throw new UnknownLogError(`no head of ${log} signed yet`, { log })
    const query = pageQuery(log, request, head.sth.head.size, PAGE_LIMIT_MAX)
    const page = await store.page(query, head.sth.head.size)
    // checked like a served page: the store's proofs and the signed head must agree
    return checkedPage(log, head, query, page.items, page.next)
  }

  async checkpoint (log: string, options: AbortOptions = {}): Promise<HeadRecord> {
    if (this.ownLog()?.namespace === log) {
      const head = this.requireStore().head
      if (head === undefined) throw new UnknownLogError(`no head of ${log} signed yet`, { log })
      return head
    }
    const peer = await this.c.locate?.(log, options)
    if (peer === undefined) throw new UnknownLogError(`no node found for the log of ${log}`, { log })
    const verified = this.c.validator.validateHead((await this.ask(peer, { op: 'get-head', log }, options)).record, log)
    const held = this.known.get(log)
    this.refuseRollback(log, verified.record)
    switch (await this.checkHead(verified, { peer: peer.id }, options)) {
      case 'stale': throw new CheckpointRollbackError(`the node of ${log} serves a head of ${verified.record.sth.head.size} entries, this node holds one of ${String(held?.sth.head.size)}`, { log, size: verified.record.sth.head.size, held: held?.sth.head.size })
      case 'fork': throw new InconsistentTreeError(`the head the node of ${log} serves forks from the one this node holds`, { log })
      default: return verified.record
    }
  }

  /** A node serving an older tree than one its key signed has rolled back, whether or not the two agree. */
  private refuseRollback (log: string, served: HeadRecord): void {
    const held = this.known.get(log)
    if (held !== undefined && equalBytes(held.key, served.key) && held.sth.head.size > served.sth.head.size) {
      throw new CheckpointRollbackError(`the node of ${log} serves a head of ${served.sth.head.size} entries, this node holds one of ${held.sth.head.size}`, { log, size: served.sth.head.size, held: held.sth.head.size })
    }
  }

  async tile (log: string, ref: TileRef, options: AbortOptions = {}): Promise<Uint8Array> {
    if (this.ownLog()?.namespace === log) return await this.ownTile(this.servedLog(log), ref)
    const reader = this.tiles(log)
    const hit = reader.cached(ref)
    if (hit !== undefined) return hit
    const head = (await this.checkpoint(log, options)).sth.head
    return ref.kind === 'hash' ? await reader.hashTile(ref, head, options) : await reader.entryBundle(ref, head, options)
  }

  tiles (log: string): TileReader {
    let reader = this.tileReaders.get(log)
    if (reader === undefined) {
      reader = new TileReader(log, async (ref, options) => {
        const peer = await this.c.locate?.(log, options)
        if (peer === undefined) throw new UnknownLogError(`no node found for the log of ${log}`, { log })
        return (await this.ask(peer, { op: 'get-tile', log, tile: ref }, options)).data
      })
      if (this.tileReaders.size >= MAX_TILE_READERS) this.tileReaders.delete(this.tileReaders.keys().next().value as string)
      this.tileReaders.set(log, reader)
    }
    return reader
  }

  /** A tile of the own log as of its latest signed head (never beyond: a reader checks tiles against a head). */
  private async ownTile (store: LedgerStore, ref: TileRef): Promise<Uint8Array> {
    const size = store.head?.sth.head.size ?? 0
    checkServable(ref, size)
    if (ref.kind === 'hash') return hashTile(store, ref, size)
    return encodeEntryBundle(await store.entries(ref.index * TILE_WIDTH, ref.index * TILE_WIDTH + ref.width))
  }

  async consistencyOf (log: string, oldSize: number, newSize: number, options: AbortOptions = {}): Promise<Uint8Array[]> {
    if (this.ownLog()?.namespace === log) return this.requireStore().consistencyProof(oldSize, newSize)
    const peer = await this.c.locate?.(log, options)
    if (peer === undefined) throw new UnknownLogError(`no node found for the log of ${log}`, { log })
    return (await this.ask(peer, { op: 'get-consistency', log, oldSize, newSize }, options)).proof
  }

  private async dhtHeads (log: string, options: AbortOptions): Promise<Uint8Array[]> {
    const dht = this.c.libp2p?.services.dht
    if (dht === undefined) return []
    const out: Uint8Array[] = []
    const deadline = deadlineSignal(this.requestTimeoutMs, options.signal)
    try {
      for await (const event of dht.get(headKey(log), { signal: deadline.signal })) {
        if (event.name === 'VALUE') out.push(event.value)
      }
    } catch (err) {
      this.log('DHT get of the head of %s failed: %s', log, (err as Error).message)
    } finally {
      deadline.clear()
    }
    return out
  }

  // -------------------------------------------------------------------------------------------
  // Plumbing

  private async ask<K extends LedgerOp> (peer: string | PeerRef, request: Extract<LedgerRequest, { op: K }>, options: AbortOptions & { timeoutMs?: number } = {}): Promise<LedgerAnswers[K]> {
    const libp2p = this.c.libp2p
    if (libp2p === undefined) throw new UnknownLogError('this ledger has no network', {})
    let target: PeerId | Multiaddr
    if (typeof peer === 'string') {
      target = peer.startsWith('/') ? multiaddr(peer) : peerIdFromString(peer)
    } else {
      target = peerIdFromString(peer.id)
      if (peer.addrs.length > 0) await libp2p.peerStore.merge(target, { multiaddrs: peer.addrs.map(a => multiaddr(a)) }).catch(() => undefined)
    }
    let response: Uint8Array
    try {
      response = await sendRequest(libp2p, target, LEDGER_PROTOCOL, encodeLedgerRequest(request), {
        signal: options.signal, timeoutMs: options.timeoutMs ?? this.requestTimeoutMs, maxResponseBytes: LEDGER_RESPONSE_MAX_BYTES
      })
    } catch (err) {
      // a node that does not speak the ledger protocol keeps no log: say so in our terms
      if ((err as Error).name !== 'UnsupportedProtocolError') throw err
      throw new UnknownLogError(`${typeof peer === 'string' ? peer : peer.id} keeps no ledger`, { log: 'log' in request ? request.log : undefined })
    }
    return decodeLedgerResponse(response, request.op as K)
  }

  private async perLog<T> (log: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.logQueues.get(log) ?? Promise.resolve()
    const run = previous.then(fn, fn)
    const settled = run.catch(() => undefined)
    this.logQueues.set(log, settled)
    void settled.then(() => { if (this.logQueues.get(log) === settled) this.logQueues.delete(log) })
    return await run
  }

  private track (p: Promise<unknown>): void {
    this.background.add(p)
    void p.finally(() => this.background.delete(p))
  }
}

/** The first head (one entry: its first record) of a city-level or deeper log. */
function isFirstCityHead (head: HeadRecord): boolean {
  return head.sth.head.size <= 1 && parseCode(head.sth.head.log).segments.length > COUNTRY_DEPTH
}
