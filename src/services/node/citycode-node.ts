import { defaultLogger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createApplication } from '../../core/application/application.ts'
import { inNamespace, isDirectoryCode, lineage, parent, parseCode } from '../../core/code/grammar.ts'
import { CitycodeError, DistrustedAuthorityError, RotationError } from '../../core/errors.ts'
import type { Signer } from '../../core/crypto/signature.ts'
import { decodeCertificate } from '../../core/trust/certificate.ts'
import { MAX_CHAIN_LENGTH } from '../../core/trust/chain.ts'
import { issueRotation } from '../../core/trust/rotation.ts'
import { revoke } from '../../core/trust/revocation.ts'
import type { AuthorityKeyring } from '../../storage/keys.ts'
import { equalBytes, sha256, toHex } from '../../core/crypto/hash.ts'
import type { VerifiedAbsence } from '../../core/proof/absence.ts'
import { NotAllocatedError, NotFoundError } from '../errors.ts'
import { RecordValidator } from '../../core/record/validator.ts'
import type { VerifiedRecord } from '../../core/record/verify.ts'
import type { EquivocationEvidence } from '../../core/record/equivocation.ts'
import type { RecordValue } from '../../core/record/values.ts'
import { decodeRecord } from '../../core/record/record.ts'
import { codeFromRecordKey } from '../../core/record/dht-key.ts'
import { decodeHeadRecord, dhtKeyKind, logFromHeadKey } from '../../core/record/head-record.ts'
import { APPLY_PROTOCOL, APPLY_REQUEST_MAX_BYTES, decodeApplyResponse, encodeApplyResponse } from '../../network/protocols/apply.ts'
import { REVOCATION_SYNC_PROTOCOL, REVOCATION_SYNC_REQUEST_MAX_BYTES, REVOCATION_SYNC_RESPONSE_MAX_BYTES, decodeSyncRequest, decodeSyncResponse, encodeSyncRequest, encodeSyncResponse } from '../../network/protocols/revocation-sync.ts'
import { announcementForChain, encodeRevocationAnnouncement } from '../../core/trust/revocation-announcement.ts'
import { certificateHash } from '../../core/trust/revocation.ts'
import { REVOCATION_STATUS_PROTOCOL, REVOCATION_STATUS_REQUEST_MAX_BYTES, REVOCATION_STATUS_RESPONSE_MAX_BYTES, decodeStatusRequest, decodeStatusResponse, encodeStatusRequest, encodeStatusResponse } from '../../network/protocols/revocation-status.ts'
import { RevocationStatusKeeper } from '../revocations/status.ts'
import { issuerOf } from '../../core/trust/revocation-status.ts'
import { RESOLVE_PROTOCOL, RESOLVE_SESSION_PROTOCOL, RESOLVE_REQUEST_MAX_BYTES, RESOLVE_RESPONSE_MAX_BYTES, decodeResolveRequest, decodeResolveResponse, encodeResolveRequest, encodeResolveResponse } from '../../network/protocols/resolve.ts'
import { PUSH_PROTOCOL, PUSH_REQUEST_MAX_BYTES, decodePushRequest, decodePushResponse, encodePushRequest, encodePushResponse } from '../../network/protocols/push.ts'
import { publishRecordUpdate, subscribeRecordUpdates } from '../../network/gossip/record-updates.ts'
import type { GossipCounters } from '../../network/gossip/record-updates.ts'
import { dhtPut, dhtValues } from '../../network/dht/record-routing.ts'
import type { MessageCost } from '../../network/message-cost.ts'
import { createCitycodeLibp2p } from '../../network/node/index.ts'
import type { CitycodeLibp2p } from '../../network/node/index.ts'
import { handleRequests, sendRequest } from '../../network/rpc/index.ts'
import { handleSessions, SessionPool } from '../../network/rpc/session.ts'
import { DIRECTORY_PROTOCOL, DIRECTORY_REQUEST_MAX_BYTES, DIRECTORY_RESPONSE_MAX_BYTES, decodeDirectoryRequest, decodeDirectoryResponse, encodeDirectoryRequest, encodeDirectoryResponse } from '../../network/protocols/directory.ts'
import { AllocationStore } from '../../storage/allocation-store.ts'
import { RecordStore } from '../../storage/record-store.ts'
import { RevocationStore } from '../../storage/revocation-store.ts'
import { authority } from '../authority/index.ts'
import type { Authority } from '../authority/index.ts'
import { publisher } from '../publisher/index.ts'
import type { Publisher, PublishResult } from '../publisher/index.ts'
import { resolver } from '../resolver/index.ts'
import { holderOf } from '../resolver/resolver.ts'
import { ledger } from '../ledger/index.ts'
import { DEFAULT_SYNC_PEERS, DEFAULT_SYNC_TIMEOUT_MS, revocations } from '../revocations/index.ts'
import type { Revocations } from '../revocations/index.ts'
import type { Ledger } from '../ledger/index.ts'
import { registerBatch } from '../authority/bulk-register.ts'
import type { BulkRegisterOptions, BulkReport } from '../authority/bulk-register.ts'
import type { BatchLine } from '../../core/allocation/batch.ts'
import { DEFAULT_RECORD_TTL_MS, DEFAULT_RECORD_VALIDITY_MS } from '../publisher/index.ts'
import { LedgeredRecordStore } from '../ledger/ledgered-record-store.ts'
import type { AbsenceAnswer, RecordAnswer, PeerRef, Resolution, Resolver, ResolveOptions, RevokedAnswer } from '../resolver/index.ts'
import { deadlineSignal } from '../../network/deadline.ts'
import { exchange } from '../exchange/index.ts'
import type { Exchange } from '../exchange/index.ts'
import { catalogueValue, CATALOGUE_VALUE_NAME } from '../../core/catalogue/catalogue.ts'
import type { CID } from 'multiformats/cid'
import { loadIdentity, saveIdentity } from './identity-store.ts'
import type { Identity } from './identity-store.ts'
import type { CitycodeNodeInit, NodeResolution, NodeRole, ResolutionEvent, Rotation } from './index.ts'

export const APPLY_TIMEOUT_MS = 30_000
/** The reason a holder's own revocation of the certificate it rotated away from carries. */
export const ROTATION_REASON = 'rotated to its pre-committed key'
/** Authorities' peers this node keeps a resolve session open to: the root and countries are few. */
const MAX_AUTHORITY_PEERS = 512
/** While an application waits for manual approval, ask again this often. */
export const APPLY_POLL_INTERVAL_MS = 1_000
/** A node that waits for its parent's answer backs off to asking once a minute. */
export const APPLY_POLL_MAX_INTERVAL_MS = 60_000
export const APPLY_ATTEMPT_TIMEOUT_MS = 10_000
export const APPLY_RETRY_MS = 250

async function sleepUnlessAborted (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve() }, ms)
    const onAbort = (): void => { clearTimeout(t); reject(signal.reason as Error) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

export interface ApplyOptions {
  signal?: AbortSignal
  /** Give up after this long (default APPLY_TIMEOUT_MS); Infinity: wait for the parent's answer. */
  timeoutMs?: number
  /**
   * Deadline of one attempt (default APPLY_ATTEMPT_TIMEOUT_MS). A parent that answers after it has
   * done the work for nothing: the retry gets the same allocation, but only if it is answered in
   * time. Simulations whose authorities share a saturated process give attempts longer.
   */
  attemptTimeoutMs?: number
  /** Asking again about a pending application: from `intervalMs`, doubling up to `maxIntervalMs` (default: no back-off). */
  poll?: { intervalMs?: number, maxIntervalMs?: number }
  /** The parent answered "pending": the application's id (its operator approves it by this id) and the wait before asking again. */
  onPending?: (id: string, nextPollMs: number) => void
  /** The parent could not be asked; retrying after `retryMs`. */
  onUnreachable?: (err: Error, retryMs: number) => void
}

// kept importable from here, where it was first defined
export { NotAllocatedError }

/**
 * One city node: libp2p (DHT, gossip, apply and resolve protocols) plus the services its role
 * needs. Everything it verifies goes through one RecordValidator.
 */
export class CitycodeNode {
  readonly role: NodeRole
  readonly validator: RecordValidator
  readonly records: RecordStore
  readonly allocations: AllocationStore
  readonly datastore: CitycodeNodeInit['datastore']
  libp2p!: CitycodeLibp2p
  resolver!: Resolver
  publisher!: Publisher
  authority: Authority | undefined
  /** The authority's ledger and this node's watch over other logs; undefined when `init.ledger.enabled` is false. */
  ledger: Ledger | undefined
  identity: Identity | undefined
  /** Data exchange (issue #19): this node's shares, served to whom their policy admits, and its fetches; undefined on a resolver-only node. */
  exchange: Exchange | undefined
  /** The revocations this node honours: stored across restarts, learnt and announced on gossip. */
  readonly revocations: Revocations
  /** Revocation status statements (SPEC 4.6): this authority's own, and those of the issuers above it it holds. */
  readonly statuses: RevocationStatusKeeper
  private purge: Promise<void> | undefined
  private purgeAgain = false
  /** Status fetches under way, one per issuer namespace. */
  private readonly statusFetches = new Map<string, Promise<void>>()
  gossip: GossipCounters = { accepted: 0, rejected: 0 }
  /** Bad input refused, by door and error name (`push:BadSignatureError`), for metrics. */
  readonly rejections = new Map<string, number>()
  private readonly resolutionObservers = new Set<(event: ResolutionEvent) => void>()
  private stopEquivocationWatch: (() => void) | undefined
  /** Resolve sessions to peers: one long-lived stream each, one round trip per question. */
  private sessions: SessionPool | undefined
  /**
   * Peers of the authorities this node asks (configured, or named by a root or country record it
   * holds): it keeps a resolve session open to each while connected, so a cold lookup's question
   * costs one round trip. Other peers get a session on their first question.
   */
  private readonly authorityPeers = new Set<string>()
  private readonly init: CitycodeNodeInit
  private readonly now: () => number
  private readonly log: Logger
  /** The authority key in use: the configured one until a rotation replaces it. */
  private currentKey: Signer | undefined
  private readonly keyring: AuthorityKeyring | undefined
  /** The key this node rotated away from (the one its keyring keeps), for the revocation statuses of what it certified. */
  private formerKeys: Signer[] = []
  /** One rotation at a time: two would both succeed the same certificate. */
  private rotating: Promise<unknown> = Promise.resolve()

  constructor (init: CitycodeNodeInit) {
    this.init = init
    this.currentKey = init.authorityKey
    // none given: applications commit to no next key (as before rotation existed), and simulations
    // whose keys come from a seed stay byte-identical run to run
    this.keyring = init.authorityKeys
    this.role = init.role
    this.now = init.now ?? Date.now
    this.validator = new RecordValidator(init.anchors, { now: this.now })
    this.records = new RecordStore(init.datastore)
    this.allocations = new AllocationStore(init.datastore)
    this.datastore = init.datastore
    this.log = (init.logger ?? defaultLogger()).forComponent('citycode:node')
    this.revocations = revocations(init.revocations)({
      validator: this.validator,
      store: new RevocationStore(init.datastore, init.revocations?.capacity !== undefined ? { maxEntries: init.revocations.capacity } : {}),
      reliedOn: (certHash, namespace) => this.reliesOn(certHash, namespace),
      pubsub: () => this.libp2p.services.pubsub,
      now: this.now,
      logger: init.logger ?? defaultLogger()
    })
    this.statuses = new RevocationStatusKeeper(init.revocationStatus ?? {}, {
      validator: this.validator,
      authority: () => {
        const identity = this.identity
        const signer = this.currentKey
        return identity === undefined || signer === undefined ? undefined : { namespace: identity.namespace, signer, chain: identity.chain, former: this.formerKeys }
      },
      fromParent: async (signal) => {
        const parent = this.identity?.parent
        if (parent === undefined) return []
        return decodeStatusResponse(await sendRequest(this.libp2p, multiaddr(parent.addr), REVOCATION_STATUS_PROTOCOL, encodeStatusRequest(), { signal, maxResponseBytes: REVOCATION_STATUS_RESPONSE_MAX_BYTES }))
      },
      now: this.now,
      logger: init.logger ?? defaultLogger()
    })
    this.revocations.onHonoured(() => {
      this.statuses.invalidate()
      this.purgeDhtSoon()
    })
  }

  /**
   * DHT copies under a revoked certificate are dropped, not only refused when read. One purge at a
   * time, and one more after it for whatever was revoked meanwhile: a flood of revocations costs two
   * passes over the store, not one per revocation.
   */
  private purgeDhtSoon (): void {
    if (this.purge !== undefined) {
      this.purgeAgain = true
      return
    }
    const records = this.libp2p?.services.dhtRecords
    if (records === undefined) return
    this.purge = records.purgeInvalid()
      .then((n) => { if (n > 0) this.log('dropped %d DHT records that no longer validate', n) })
      .catch((err: Error) => { this.log('purging DHT records failed: %s', err.message) })
      .finally(() => {
        this.purge = undefined
        if (this.purgeAgain) {
          this.purgeAgain = false
          this.purgeDhtSoon()
        }
      })
  }

  /**
   * Whether this node relies on a certificate: one of its own chain, or of the chain of the record it
   * caches for the certificate's namespace. Such a revocation is never dropped to make room.
   */
  private reliesOn (certHash: Uint8Array, namespace: string): boolean {
    let own = this.ownChainHashes
    if (own === undefined || own.chain !== this.identity?.chain) {
      // hashed once per identity: a full node asks this of every revocation it holds
      own = this.ownChainHashes = { chain: this.identity?.chain, hashes: (this.identity?.chain ?? []).map(c => certificateHash(c)) }
    }
    if (own.hashes.some(h => equalBytes(h, certHash))) return true
    return this.resolver?.cachedStale(namespace)?.chain.certificates.some(c => equalBytes(c.hash, certHash)) ?? false
  }

  private ownChainHashes: { chain: readonly Uint8Array[] | undefined, hashes: Uint8Array[] } | undefined

  get peerId (): PeerId {
    return this.libp2p.peerId
  }

  get addresses (): Multiaddr[] {
    return this.libp2p.getMultiaddrs()
  }

  async start (): Promise<void> {
    const logger = this.init.logger ?? defaultLogger()
    // before the DHT and gossip validators run: what this node refused before a restart stays refused
    await this.revocations.load()
    // the parent authority keeps its way in through a flood of strangers' connections
    const parentAddr = (await loadIdentity(this.init.datastore))?.parent?.addr
    const parentPeer = parentAddr !== undefined ? peerIdOf(parentAddr) : undefined
    const authority = this.role === 'root' || this.role === 'country'
    this.libp2p = await createCitycodeLibp2p({
      privateKey: this.init.peerKey,
      datastore: this.init.datastore,
      transport: this.init.network.transport,
      listen: this.init.network.listen,
      bootstrap: this.init.network.bootstrap,
      knownPeers: [...(this.init.network.knownPeers ?? []), ...(parentAddr !== undefined ? [parentAddr] : [])],
      ...(this.init.network.inboundUpgradeTimeoutMs !== undefined ? { inboundUpgradeTimeoutMs: this.init.network.inboundUpgradeTimeoutMs } : {}),
      encryption: this.init.network.encryption,
      customTransport: this.init.network.customTransport,
      clientMode: this.role === 'resolver',
      dht: this.init.network.dht,
      gossip: {
        ...(this.init.network.gossipHeartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: this.init.network.gossipHeartbeatIntervalMs } : {}),
        // an authority's mesh fills with its children; a peer it then refuses (one that dialled
        // in, e.g. a resolver that reaches only authorities) is told where else to join
        peerExchange: authority,
        // and only the authorities this node verified may tell it whom to dial
        trustedPeer: (peerId) => this.authorityPeers.has(peerId) || peerId === parentPeer
      },
      connectionMonitor: this.init.network.connectionMonitor,
      // authorities are dialled by every child and resolver: give them room
      maxConnections: this.init.network.maxConnections ?? (authority ? 1024 : undefined),
      validateRecord: this.init.network.dhtPolicyOverride?.validate ?? (async (key, value) => {
        try {
          this.validator.validateDhtRecord(key, value)
        } catch (err) {
          this.reject('dht', err)
          throw err
        }
      }),
      selectRecord: this.init.network.dhtPolicyOverride?.select ?? ((key, values) => this.validator.selectDhtRecord(key, values)),
      // counted like the validator's refusals: `dht:DhtRollbackError`, `dht:DhtQuotaExceededError`
      onDhtRefusal: (err) => { this.reject('dht', err) },
      dhtNewerKnown: async (key, value) => await this.newerKnown(key, value),
      ...(this.init.network.metrics !== undefined ? { metrics: this.init.network.metrics } : {}),
      logger: this.init.logger
    })
    this.identity = await loadIdentity(this.init.datastore)
    await this.finishRotation()
    if (this.identity === undefined && this.role === 'root') {
      const namespace = parseCode(this.init.rootNamespace ?? 'MA').text
      this.identity = { namespace, chain: [] }
      await saveIdentity(this.init.datastore, this.identity)
    }
    if (this.init.ledger?.enabled !== false) {
      this.ledger = ledger(this.init.ledger)({
        datastore: this.init.datastore,
        validator: this.validator,
        libp2p: this.libp2p,
        signer: () => this.currentKey,
        identity: () => this.identity,
        locate: async (log, options) => holderOf((await this.resolver.resolve(log, options)).verified),
        allocations: this.allocations,
        records: this.records,
        now: this.now,
        logger
      })
      await this.ledger.start()
    }
    this.resolver = resolver(this.init.resolver)({
      validator: this.validator,
      routing: {
        selfId: this.libp2p.peerId.toString(),
        askPeer: async (peer, code, options) => await this.askPeer(peer, code, options.signal, options.cost),
        connected: (peerId) => {
          try {
            return this.libp2p.getConnections(peerIdFromString(peerId)).length > 0
          } catch {
            // a record's peer value that is no peer id: nobody to be connected to
            return false
          }
        },
        dhtValues: (code, options) => dhtValues(this.libp2p.services.dht, code, options)
      },
      local: { get: async (code) => (await this.records.get('own', code))?.bytes ?? (await this.records.get('held', code))?.bytes },
      revocations: this.revocations,
      statuses: {
        forIssuers: (namespaces) => this.statuses.forIssuers(namespaces),
        offer: (statements, vouch) => { this.statuses.offer(statements, [vouch]) },
        fetch: async (issuer, options) => { await this.fetchStatus(issuer, options.signal, options.cost) }
      },
      now: this.now,
      logger,
      // what a peer answered wrongly (`answer:KeyMismatchError`, `answer:StaleAnswerError`...); a
      // peer out of reach fails with libp2p's own dial errors, which are no answer to count
      onPeerFailure: (_peer, err) => { if (err instanceof CitycodeError) this.reject('answer', err) },
      onAuthority: (peer) => { this.noteAuthorityPeer(peer.id) }
    })
    this.publisher = publisher(this.init.publisher)({
      signer: () => this.signer(),
      chain: () => this.requireIdentity().chain,
      ownCode: () => this.identity?.namespace,
      validator: this.validator,
      // own record versions are logged as they are stored
      store: this.ledger === undefined ? this.records : new LedgeredRecordStore(this.init.datastore, async (bytes) => await this.ledger?.appendRecord(bytes)),
      targets: {
        dhtPut: async (code, bytes, options) => await dhtPut(this.libp2p.services.dht, code, bytes, options),
        gossip: async (bytes) => { await publishRecordUpdate(this.libp2p.services.pubsub, bytes).catch(() => 0) },
        push: async (bytes, options) => {
          const parent = this.identity?.parent
          if (parent === undefined) return
          decodePushResponse(await sendRequest(this.libp2p, multiaddr(parent.addr), PUSH_PROTOCOL, encodePushRequest(bytes), { signal: options.signal }))
        }
      },
      now: this.now,
      logger
    })
    this.setUpAuthority()
    if (this.role !== 'resolver') {
      this.exchange = exchange(this.init.exchange)({
        libp2p: this.libp2p,
        datastore: this.init.datastore,
        validator: this.validator,
        identity: () => this.identity,
        signer: () => this.init.authorityKey,
        resolve: async (code, options) => (await this.resolve(code, options)).verified,
        publishCatalogue: async (code, cid, options) => { await this.publishCatalogue(code, cid, options) },
        now: this.now,
        logger
      })
      await this.exchange.start()
    }
    this.stopEquivocationWatch = this.validator.onEquivocation((evidence) => { this.onEquivocation(evidence) })
    // what the resolver caches is what a replay must beat to be forwarded
    this.gossip = subscribeRecordUpdates(this.libp2p.services.pubsub, this.validator, (verified) => { void this.onGossip(verified) }, this.log, { held: (code) => this.resolver.cached(code)?.record })
    await this.revocations.start()
    await this.finishRetirement()
    // before this node answers anything: the revocations in force that its first peers hold
    // and the directory (root and country records) they hold, offered once the revocations are known
    const [, directory] = await Promise.all([this.syncRevocations(), this.fetchDirectory()])
    let taken = 0
    for (const bytes of directory) if (this.offerDirectoryRecord(bytes)) taken++
    if (taken > 0) this.log('learnt %d directory records at start', taken)
    await handleRequests(this.libp2p, REVOCATION_STATUS_PROTOCOL, async (request) => {
      decodeStatusRequest(request)
      const statements = this.statuses.answer()
      // a peer learns of a refusal as a reset stream (rpc): only an authority has statements to give
      if (statements === undefined) throw new NotAllocatedError('this node signs no revocation status: it is no authority', {})
      return encodeStatusResponse(statements)
    }, { maxRequestBytes: REVOCATION_STATUS_REQUEST_MAX_BYTES })
    await handleRequests(this.libp2p, REVOCATION_SYNC_PROTOCOL, async (request) => encodeSyncResponse(await this.revocations.page(decodeSyncRequest(request))), { maxRequestBytes: REVOCATION_SYNC_REQUEST_MAX_BYTES })
    await handleRequests(this.libp2p, DIRECTORY_PROTOCOL, async (request) => {
      decodeDirectoryRequest(request)
      return encodeDirectoryResponse(await this.directoryRecords())
    }, { maxRequestBytes: DIRECTORY_REQUEST_MAX_BYTES })
    await handleRequests(this.libp2p, RESOLVE_PROTOCOL, async (request) => await this.answerResolve(request), { maxRequestBytes: RESOLVE_REQUEST_MAX_BYTES })
    await handleSessions(this.libp2p, RESOLVE_SESSION_PROTOCOL, async (request) => await this.answerResolve(request, { session: true }), { maxRequestBytes: RESOLVE_REQUEST_MAX_BYTES })
    this.sessions = new SessionPool(this.libp2p, {
      protocol: RESOLVE_SESSION_PROTOCOL,
      fallback: RESOLVE_PROTOCOL,
      maxRequestBytes: RESOLVE_REQUEST_MAX_BYTES,
      maxResponseBytes: RESOLVE_RESPONSE_MAX_BYTES,
      eager: (peer) => this.authorityPeers.has(peer.toString())
    })
    this.sessions.start()
    for (const id of this.authorityPeers) this.sessions.open(peerIdFromString(id))
    if (this.role !== 'resolver') {
      await handleRequests(this.libp2p, APPLY_PROTOCOL, async (request, peer) => await this.answerApply(request, peer.toString()), { maxRequestBytes: APPLY_REQUEST_MAX_BYTES })
      await handleRequests(this.libp2p, PUSH_PROTOCOL, async (request) => await this.answerPush(request), { maxRequestBytes: PUSH_REQUEST_MAX_BYTES })
    }
    if (this.identity?.parent !== undefined) await this.knowAuthority(this.identity.parent)
    // back in touch with the parent (a partition healed, it restarted): pushes it missed go now
    this.libp2p.addEventListener('peer:connect', (evt) => {
      const parent = this.identity?.parent
      if (parent !== undefined && parent.addr.endsWith(`/p2p/${evt.detail.toString()}`)) this.publisher.parentReachable()
    })
    await this.publisher.start()
  }

  async stop (): Promise<void> {
    this.purgeAgain = false
    await this.purge
    this.stopEquivocationWatch?.()
    await this.exchange?.stop()
    await this.publisher?.stop()
    this.sessions?.stop()
    await this.revocations.stop()
    await this.ledger?.stop()
    await this.libp2p?.stop()
  }

  /**
   * Applies to the parent authority for a code under `parent.namespace`; returns the code. A pending
   * application is asked about again every `poll.intervalMs`, doubling up to `poll.maxIntervalMs`; an
   * unreachable parent is retried the same way from APPLY_RETRY_MS. `timeoutMs: Infinity` waits until
   * the application is allocated or refused, or `signal` aborts.
   */
  /** `fields.invitation`: Invitation bytes the parent's operator made for this node's key (SPEC 2.2), presented in the application. */
  async apply (parent: { namespace: string, addr: string }, fields: { name: string, officialCode?: string, invitation?: Uint8Array }, options: ApplyOptions = {}): Promise<string> {
    if (this.identity !== undefined && inNamespace(parent.namespace, this.identity.namespace)) return this.identity.namespace
    const application = createApplication({
      parent: parent.namespace,
      name: fields.name,
      officialCode: fields.officialCode ?? null,
      peer: this.libp2p.peerId.toString(),
      // the key this node may rotate to without its parent (SPEC 4.4)
      next: this.keyring === undefined ? null : sha256((await this.keyring.next()).publicKey),
      time: this.now(),
      ...(fields.invitation !== undefined ? { invitation: fields.invitation } : {})
    }, this.signer())
    const timeoutMs = options.timeoutMs ?? APPLY_TIMEOUT_MS
    // setTimeout treats Infinity as 1 ms: waiting for ever has no deadline, only the caller's signal
    const deadline = Number.isFinite(timeoutMs) ? deadlineSignal(timeoutMs, options.signal) : { signal: options.signal ?? new AbortController().signal, clear: () => {} }
    const pollMs = options.poll?.intervalMs ?? APPLY_POLL_INTERVAL_MS
    const maxPollMs = Math.max(pollMs, options.poll?.maxIntervalMs ?? pollMs)
    let nextPollMs = pollMs
    let nextRetryMs = APPLY_RETRY_MS
    try {
      while (true) {
        let raw: Uint8Array
        try {
          raw = await sendRequest(this.libp2p, multiaddr(parent.addr), APPLY_PROTOCOL, application.bytes, { signal: deadline.signal, timeoutMs: options.attemptTimeoutMs ?? APPLY_ATTEMPT_TIMEOUT_MS })
        } catch (err) {
          // a busy parent may drop a connection mid-handshake: try again until the deadline
          if (deadline.signal.aborted) throw err
          this.log('application to %s failed, retrying: %s', parent.namespace, (err as Error).message)
          const retryMs = nextRetryMs
          options.onUnreachable?.(err as Error, retryMs)
          if (options.poll?.maxIntervalMs !== undefined) nextRetryMs = Math.min(nextRetryMs * 2, Math.max(APPLY_RETRY_MS, options.poll.maxIntervalMs))
          await sleepUnlessAborted(retryMs, deadline.signal)
          continue
        }
        nextRetryMs = APPLY_RETRY_MS
        const response = decodeApplyResponse(raw)
        if (response.status === 'refused') throw response.error
        if (response.status === 'allocated') {
          // Check what we were given before keeping it: the chain must certify our key for the code.
          const probe = this.validator.chains.verify(response.chain, this.signer().publicKey, { now: this.now() })
          if (probe.namespace !== response.code) throw new NotAllocatedError(`parent returned a chain for ${probe.namespace}, not ${response.code}`, { code: response.code })
          this.identity = { namespace: response.code, chain: response.chain, parent }
          await saveIdentity(this.init.datastore, this.identity)
          this.setUpAuthority()
          await this.knowAuthority(parent)
          return response.code
        }
        this.log('application %s pending approval', response.id)
        const waitMs = nextPollMs
        options.onPending?.(response.id, waitMs)
        nextPollMs = Math.min(nextPollMs * 2, maxPollMs)
        await sleepUnlessAborted(waitMs, deadline.signal)
      }
    } finally {
      deadline.clear()
    }
  }

  /**
   * Moves this node to the key its certificate committed to (SPEC 4.4): a rotation link signed by
   * the new key and the old one, committing to a fresh next key; the identity is stored with it
   * before the keys move, the old certificate is retired with the old key (so it signs nothing
   * more anywhere the revocation reaches: gossip, sync at start, revoked answers), both are logged,
   * and every own record is signed again under the new chain.
   */
  async rotate (options: AbortOptions = {}): Promise<Rotation> {
    const run = this.rotating.then(async () => await this.rotateNow(options))
    this.rotating = run.catch(() => undefined)
    return await run
  }

  private async rotateNow (options: AbortOptions): Promise<Rotation> {
    const identity = this.requireIdentity()
    const old = this.signer()
    const keyring = this.keyring
    if (keyring === undefined) throw new RotationError('this node keeps no next key to rotate to', { code: identity.namespace })
    const now = this.now()
    const current = this.validator.chains.verify(identity.chain, old.publicKey, { now, revocations: this.validator.revocations }).certificates.at(-1)
    if (current === undefined || current.body.namespace !== identity.namespace) throw new RotationError(`${identity.namespace} is held by a trust anchor's key, which is rotated in the anchors' configuration`, { code: identity.namespace })
    if (identity.chain.length >= MAX_CHAIN_LENGTH) throw new RotationError(`the chain of ${identity.namespace} holds ${identity.chain.length} links, the most allowed: ask the parent to re-certify the code to the next key`, { code: identity.namespace, reason: 'chain-full' })
    const next = await keyring.next()
    const after = await keyring.after()
    const link = issueRotation(current, old, next, { nextCommitment: sha256(after.publicKey), now })
    const chain = [...identity.chain, link.bytes]
    // the same check every verifier makes, before anything is stored
    this.validator.chains.verify(chain, next.publicKey, { now, revocations: this.validator.revocations })
    const retirement = revoke(current, old, ROTATION_REASON, now, { successor: link.hash })
    this.identity = { ...identity, chain }
    await saveIdentity(this.init.datastore, this.identity)
    await keyring.advance()
    this.formerKeys = [old]
    this.adoptKey(next)
    const ledgerIndex = this.ledger === undefined ? null : await this.ledger.appendRotation(identity.namespace, link.bytes)
    this.validator.revocations.add(retirement, current)
    await this.ledger?.appendRevocation(retirement.bytes)
    await this.revocations.announce(encodeRevocationAnnouncement({ revocation: retirement.bytes, certificate: current.bytes, chain: identity.chain.slice(0, -1) }))
    const republished = await this.resignOwnRecords(options)
    this.log('rotated %s to key %s (serial %d)', identity.namespace, toHex(next.publicKey).slice(0, 16), link.body.serial)
    return { code: identity.namespace, key: next.publicKey, previousKey: old.publicKey, serial: link.body.serial, certificate: link.bytes, ledgerIndex, republished }
  }

  /** A rotation stored but its keys not moved (the process stopped between): finished at start. */
  private async finishRotation (): Promise<void> {
    const leaf = this.identity?.chain.at(-1)
    const keyring = this.keyring
    if (leaf === undefined || keyring === undefined || this.currentKey === undefined) return
    const subject = decodeCertificate(leaf).body.subject
    if (equalBytes(subject, this.currentKey.publicKey) && !equalBytes((await keyring.next()).publicKey, subject)) return
    await keyring.advance()
    const current = await keyring.current()
    if (equalBytes(current.publicKey, subject)) this.currentKey = current
  }

  /**
   * The retirement a rotation cut short did not sign (SPEC 4.4), signed with the key it replaced,
   * once the ledger and the revocations run (start); nothing when the old certificate is revoked
   * already or the replaced key is not kept.
   */
  private async finishRetirement (): Promise<void> {
    const kept = await this.keyring?.retired()
    if (kept !== undefined && this.identity?.chain.some(c => equalBytes(decodeCertificate(c).body.subject, kept.publicKey)) === true) this.formerKeys = [kept]
    const chain = this.identity?.chain ?? []
    const leaf = chain.at(-1)
    const above = chain.at(-2)
    if (leaf === undefined || above === undefined || this.keyring === undefined) return
    const link = decodeCertificate(leaf)
    const previous = decodeCertificate(above)
    if (link.body.kind !== 'rotation' || this.validator.revocations.get(previous.hash) !== undefined) return
    const old = await this.keyring.retired()
    if (old === undefined || !equalBytes(old.publicKey, previous.body.subject)) return
    const retirement = revoke(previous, old, ROTATION_REASON, this.now(), { successor: link.hash })
    try {
      await this.ledger?.appendRotation(previous.body.namespace, link.bytes)
      await this.ledger?.appendRevocation(retirement.bytes)
      await this.revocations.announce(encodeRevocationAnnouncement({ revocation: retirement.bytes, certificate: previous.bytes, chain: chain.slice(0, -2) }))
      this.log('finished the rotation of %s: retired its previous certificate', previous.body.namespace)
    } catch (err) {
      this.log.error('could not retire the certificate %s rotated away from: %s', previous.body.namespace, (err as Error).message)
    }
  }

  /** The signer used from now on; the authority (signing allocations with its key and chain) is rebuilt for it. */
  private adoptKey (key: Signer): void {
    this.currentKey = key
    this.authority = undefined
    this.setUpAuthority()
  }

  /** Signs every own record again under the current key and chain (its values kept); returns how many. */
  private async resignOwnRecords (options: AbortOptions): Promise<number> {
    // read first: the store is written as the records are signed again
    const own: Array<{ code: string, values: RecordValue[] }> = []
    for await (const stored of this.records.list('own')) own.push({ code: stored.code, values: [...decodeRecord(stored.bytes).body.values] })
    for (const { code, values } of own) {
      options.signal?.throwIfAborted()
      await this.publisher.publish(code, values, { background: true })
    }
    return own.length
  }

  /** Publishes this node's own record: its values plus its peer id and addresses. */
  async publishOwn (extra: RecordValue[] = [], options: { background?: boolean, signal?: AbortSignal } = {}): Promise<PublishResult> {
    const identity = this.requireIdentity()
    const values: RecordValue[] = [...(this.init.values ?? []), ...extra, { type: 'peer', id: this.libp2p.peerId.toString() }]
    // the catalogue this node shares stays named by every version of its record
    const catalogue = this.exchange?.catalogueOf(identity.namespace)
    if (catalogue !== undefined && !values.some(isCatalogueValue)) values.push(catalogueValue(catalogue.cid))
    for (const addr of this.addresses.slice(0, 4)) values.push({ type: 'addr', value: addr.toString() })
    return await this.publisher.publish(identity.namespace, values, options)
  }

  /** Publishes a record for a code in this node's namespace (a sub-code it registered). */
  async publish (code: string, values: RecordValue[], options: { background?: boolean, signal?: AbortSignal } = {}): Promise<PublishResult> {
    const identity = this.requireIdentity()
    if (!inNamespace(identity.namespace, code)) throw new NotAllocatedError(`${code} is outside this node's namespace ${identity.namespace}`, { code })
    return await this.publisher.publish(code, values, options)
  }

  /**
   * A new catalogue version of `code`: its record is published again naming it (SPEC 11.1), with this
   * node as the peer to fetch from; the record version is logged in the ledger like every other, so
   * the ledger commits to each catalogue version through the CID its record names.
   */
  private async publishCatalogue (code: string, cid: CID, options: { signal?: AbortSignal } = {}): Promise<void> {
    const identity = this.requireIdentity()
    if (code === identity.namespace) {
      await this.publishOwn([], { signal: options.signal })
      return
    }
    const stored = await this.records.get('own', code)
    if (stored === undefined) throw new NotAllocatedError(`${code} has no record of this node's yet: register or publish it first`, { code })
    const kept = decodeRecord(stored.bytes).body.values.filter(v => !isCatalogueValue(v) && v.type !== 'peer' && v.type !== 'addr')
    const values: RecordValue[] = [...kept, catalogueValue(cid), { type: 'peer', id: this.libp2p.peerId.toString() }]
    for (const addr of this.addresses.slice(0, 4)) values.push({ type: 'addr', value: addr.toString() })
    await this.publisher.publish(code, values, options)
  }

  /** Registers checked batch lines as the city's own sub-codes (issue #20); see services/authority/bulk-register.ts. */
  async registerBatch (lines: readonly BatchLine[], options: BulkRegisterOptions = {}): Promise<BulkReport> {
    const identity = this.requireIdentity()
    const authority = this.authority
    if (authority === undefined) throw new NotAllocatedError('bulk registration needs this node\'s authority key', { code: identity.namespace })
    return await authority.writeOwnBatch(async () => await registerBatch({
      namespace: identity.namespace,
      signer: this.signer(),
      chain: identity.chain,
      allocations: this.allocations,
      records: this.records,
      ...(this.ledger !== undefined ? { ledger: this.ledger } : {}),
      validator: this.validator,
      now: this.now,
      recordValidityMs: this.init.publisher?.recordValidityMs ?? DEFAULT_RECORD_VALIDITY_MS,
      recordTtlMs: this.init.publisher?.ttlMs ?? DEFAULT_RECORD_TTL_MS
    }, lines, options))
  }

  async resolve (code: string, options?: ResolveOptions & { inclusion?: boolean }): Promise<NodeResolution> {
    const started = performance.now()
    let resolution: NodeResolution
    try {
      resolution = await this.resolveVerified(code, options)
    } catch (err) {
      for (const observe of this.resolutionObservers) observe({ code, error: err, elapsedMs: performance.now() - started })
      throw err
    }
    for (const observe of this.resolutionObservers) observe({ code, source: resolution.source, elapsedMs: resolution.elapsedMs })
    return resolution
  }

  private async resolveVerified (code: string, options?: ResolveOptions & { inclusion?: boolean }): Promise<NodeResolution> {
    let resolution: Resolution
    try {
      resolution = await this.resolver.resolve(code, options)
    } catch (err) {
      // a proven not-found is worth no more than the authority that signed it (fork alarms)
      if (err instanceof NotFoundError && err.absence !== undefined) this.checkAbsenceTrusted(err.absence)
      throw err
    }
    // a cached answer may predate a fork alarm against its authority
    this.validator.checkTrusted(resolution.verified)
    if (resolution.source === 'cache') {
      try {
        this.validator.checkNotRevoked(resolution.verified)
      } catch (err) {
        // revoked since it was cached: the holder may have signed under a new certificate; ask afresh
        // (answers are verified with the revocations, so this one is RevokedError if nothing newer exists)
        if (options?.fresh === true) throw err
        return await this.resolveVerified(code, { ...options, fresh: true })
      }
    }
    const required = this.init.resolver?.requireCosignatures
    if (required !== undefined) {
      if (this.ledger === undefined) throw new NotAllocatedError('requireCosignatures needs the ledger (init.ledger.enabled)', { code })
      await this.ledger.requireCosignatures(resolution.verified, required, options)
    }
    if (this.init.resolver?.requireInclusion === true || options?.inclusion === true) {
      if (this.ledger === undefined) throw new NotAllocatedError('ledger inclusion needs the ledger (init.ledger.enabled)', { code })
      return { ...resolution, inclusion: await this.ledger.recordInclusion(resolution.verified, options) }
    }
    return resolution
  }

  /** Calls `observer` after every resolution through `resolve` (metrics); returns the unsubscribe. */
  onResolution (observer: (event: ResolutionEvent) => void): () => void {
    this.resolutionObservers.add(observer)
    return () => { this.resolutionObservers.delete(observer) }
  }

  private checkAbsenceTrusted (absence: VerifiedAbsence): void {
    const keys = [absence.proof.set.key, ...absence.chain.certificates.flatMap(c => [c.body.subject, ...c.sigs.map(s => s.key)])]
    const distrusted = keys.find(k => this.validator.isDistrusted(k))
    if (distrusted !== undefined) {
      throw new DistrustedAuthorityError(`the proof that ${absence.code} does not exist is signed under a chain containing a distrusted key`, { code: absence.code, key: toHex(distrusted) })
    }
  }

  /** The record of `code` this node holds (its own or one it serves), verified. */
  async held (code: string): Promise<VerifiedRecord | undefined> {
    const stored = (await this.records.get('own', code)) ?? (await this.records.get('held', code))
    if (stored === undefined) return undefined
    try {
      return this.validator.validate(stored.bytes, code)
    } catch {
      return undefined
    }
  }

  /** Remembers an authority's node (e.g. the parent this node applied to) for direct questions. */
  async knowAuthority (authority: { namespace: string, addr: string }): Promise<void> {
    const id = peerIdOf(authority.addr)
    if (id !== undefined) {
      this.resolver.addAuthority(authority.namespace, { id, addrs: [authority.addr] })
      this.noteAuthorityPeer(id)
    }
  }

  private noteAuthorityPeer (id: string): void {
    if (id === this.libp2p.peerId.toString() || this.authorityPeers.has(id) || this.authorityPeers.size >= MAX_AUTHORITY_PEERS) return
    this.authorityPeers.add(id)
    try {
      this.sessions?.open(peerIdFromString(id))
    } catch {}
  }

  /** The authority key (signs records, heads, bundles); undefined on a resolver-only node. */
  get authorityKey (): CitycodeNodeInit['authorityKey'] {
    return this.currentKey
  }

  private signer (): NonNullable<CitycodeNodeInit['authorityKey']> {
    if (this.currentKey === undefined) throw new NotAllocatedError('this node has no authority key (resolver-only)', {})
    return this.currentKey
  }

  private requireIdentity (): Identity {
    if (this.identity === undefined) throw new NotAllocatedError('this node holds no code yet: apply first', {})
    return this.identity
  }

  private setUpAuthority (): void {
    if (this.identity === undefined || this.currentKey === undefined || this.authority !== undefined) return
    this.authority = authority(this.init.authority)({
      namespace: this.identity.namespace,
      signer: this.currentKey,
      chain: this.identity.chain,
      store: this.allocations,
      now: this.now,
      logger: this.init.logger ?? defaultLogger(),
      ...(this.ledger !== undefined ? { onAllocated: async (a: { code: string, certificate: Uint8Array }) => { await this.ledger?.appendAllocation(a.code, a.certificate) } } : {})
    })
  }

  /**
   * Two versions of one seq met here (SPEC "Equivocation"): said, counted (`rejections`
   * `equivocation:<code>`, the metrics' rejections), and both versions announced on the records
   * topic, so every node that took one of them meets the other and holds the evidence too (gossip
   * drops the copy a node has seen, so the announcement costs only those that lack one).
   */
  private onEquivocation (evidence: EquivocationEvidence): void {
    this.log.error('equivocation: the key %s signed two versions of %s seq %d', toHex(evidence.key).slice(0, 16), evidence.code, evidence.seq)
    this.reject('equivocation', { name: 'EquivocationError' })
    if (this.libp2p.status !== 'started') return
    for (const record of [evidence.a, evidence.b]) {
      publishRecordUpdate(this.libp2p.services.pubsub, record.bytes).catch(() => undefined)
    }
  }

  private async onGossip (verified: VerifiedRecord): Promise<void> {
    this.resolver.offer(verified)
    await this.keepChildRecord(verified).catch(err => { this.log.error('could not keep record of %s: %s', verified.record.body.code, (err as Error).message) })
  }

  /** Whether `code` is a direct child of this node's own code (one it certified and keeps). */
  private isOwnChild (code: string): boolean {
    const namespace = this.identity?.namespace
    return namespace !== undefined && parent(parseCode(code))?.text === namespace
  }

  /**
   * Keeps the newest record of each direct child of this node's namespace, so this node answers for
   * them like a DNS parent zone answers for its delegations. Returns whether it was stored.
   */
  private async keepChildRecord (verified: VerifiedRecord): Promise<boolean> {
    const code = verified.record.body.code
    if (!this.isOwnChild(code)) return false
    // compared only with a record that still verifies: after a re-certification the old key's
    // versions are revoked, and the new key's first version has a lower seq
    const existing = await this.held(code)
    if (existing !== undefined && this.validator.compare(verified.record, existing.record) <= 0) return false
    await this.records.put('held', code, verified.record.bytes, this.now())
    return true
  }

  /**
   * For the DHT store: whether this node has verified a newer version than `value` under `key`: a
   * head of a larger tree of the log (its own, or the one its ledger keeps from gossip and checks),
   * or a record of a higher seq (its own or held, or what its resolver verified and may still rely
   * on). Called on remote stores only, with values kad-dht has validated.
   */
  private async newerKnown (key: Uint8Array, value: Uint8Array): Promise<boolean> {
    try {
      if (dhtKeyKind(key) === 'h') {
        const log = logFromHeadKey(key)
        const known = log === this.identity?.namespace ? this.ledger?.head() : this.ledger?.knownHead(log)
        return known !== undefined && decodeHeadRecord(value).sth.head.size < known.sth.head.size
      }
      const code = codeFromRecordKey(key)
      const seq = decodeRecord(value).body.seq
      const held = await this.held(code)
      if (held !== undefined && seq < held.record.body.seq) return true
      // the resolver exists once the node has started; stores can arrive before
      const known = (this.resolver as Resolver | undefined)?.knownNewest(code)
      return known !== undefined && seq < known.record.body.seq
    } catch {
      // a value that does not decode (kad-dht's validator judges it): nothing newer to hold on to
      return false
    }
  }

  private reject (door: string, err: unknown): void {
    const key = `${door}:${(err as Error | undefined)?.name ?? 'Error'}`
    this.rejections.set(key, (this.rejections.get(key) ?? 0) + 1)
  }

  private async answerPush (request: Uint8Array): Promise<Uint8Array> {
    try {
      const verified = this.validator.validate(decodePushRequest(request))
      const code = verified.record.body.code
      if (!this.isOwnChild(code)) {
        throw new NotAllocatedError(`${code} is not a direct child of ${this.identity?.namespace ?? 'this node'}`, { code })
      }
      const stored = await this.keepChildRecord(verified)
      if (stored) this.resolver.offer(verified.record.bytes)
      return encodePushResponse({ stored })
    } catch (err) {
      this.reject('push', err)
      return encodePushResponse({ error: err })
    }
  }

  /**
   * `session`: the question came over a resolve session, whose answers may say `live` (SPEC 7): a
   * child's record held as its parent while a connection to its holder is open.
   */
  private async answerResolve (request: Uint8Array, via: { session?: boolean } = {}): Promise<Uint8Array> {
    let code: string
    try {
      code = decodeResolveRequest(request)
    } catch (err) {
      this.reject('resolve', err)
      return encodeResolveResponse({ status: 'refused', error: err })
    }
    const held = await this.held(code) ?? this.cachedNotRevoked(code)
    if (held !== undefined) {
      const statuses = this.statuses.staple(held.chain.certificates.map((_, i) => issuerOf(held.chain, i).namespace))
      return encodeResolveResponse({ status: 'found', record: held.record.bytes, statuses, live: via.session === true && this.keepsLive(held) })
    }
    // never the record of a revoked delegation (a parent stops serving it, as a DNS parent zone
    // drops the delegation): the revocation instead, which the asker verifies and honours
    const revoked = await this.revocationFor(code)
    if (revoked !== undefined) return encodeResolveResponse({ status: 'revoked', announcement: revoked })
    return encodeResolveResponse({ status: 'not-found', proof: await this.proveAbsence(code) })
  }

  /**
   * Whether this node holds `held` as the parent of its code with a connection open to its holder:
   * then the holder's publisher has pushed it every version since (it pushes on each publication
   * and again whenever the connection to its parent opens), but for one in flight.
   */
  private keepsLive (held: VerifiedRecord): boolean {
    if (!this.isOwnChild(held.record.body.code)) return false
    const holder = holderOf(held)
    if (holder === undefined || holder.id === this.libp2p.peerId.toString()) return false
    try {
      return this.libp2p.getConnections(peerIdFromString(holder.id)).length > 0
    } catch {
      return false
    }
  }

  private cachedNotRevoked (code: string): VerifiedRecord | undefined {
    const cached = this.resolver.cached(code)
    if (cached === undefined) return undefined
    try {
      this.validator.checkNotRevoked(cached)
      return cached
    } catch {
      return undefined
    }
  }

  /**
   * The announcement of a revocation in force that takes `code` down: of a certificate on the chain
   * of a record of it this node holds or cached, else of one for the code or a namespace above it.
   */
  private async revocationFor (code: string): Promise<Uint8Array | undefined> {
    const now = this.now()
    const stored = (await this.records.get('own', code)) ?? (await this.records.get('held', code))
    for (const bytes of [stored?.bytes, this.resolver.cachedStale(code)?.record.bytes]) {
      if (bytes === undefined) continue
      try {
        const found = announcementForChain(decodeRecord(bytes).chain, this.validator.revocations, now)
        if (found !== undefined) return found
      } catch {}
    }
    for (const ancestor of lineage(parseCode(code)).reverse()) {
      for (const revocation of this.validator.revocations.inForceFor(ancestor.text, now)) {
        const kept = await this.revocations.stored(revocation.target)
        if (kept !== undefined) return kept
      }
    }
    return undefined
  }

  /**
   * Asks the node of `issuer` for its revocation status statements (SPEC 4.6): found as the holder of
   * the issuer's own record, resolved like any other. One fetch per issuer at a time.
   */
  private async fetchStatus (issuer: string, signal: AbortSignal | undefined, cost?: MessageCost): Promise<void> {
    if (issuer === this.identity?.namespace) return
    let fetching = this.statusFetches.get(issuer)
    if (fetching === undefined) {
      fetching = (async () => {
        try {
          const verified = (await this.resolver.resolve(issuer, { signal, cost })).verified
          const holder = holderOf(verified)
          if (holder === undefined) return
          const id = await this.reach(holder)
          // the issuer's verified chain vouches for its own key and the issuers above it
          this.statuses.offer(decodeStatusResponse(await sendRequest(this.libp2p, id, REVOCATION_STATUS_PROTOCOL, encodeStatusRequest(), { signal, cost, maxResponseBytes: REVOCATION_STATUS_RESPONSE_MAX_BYTES })), [verified.chain])
        } catch (err) {
          this.log('could not fetch the revocation status of %s: %s', issuer, (err as Error).message)
        } finally {
          this.statusFetches.delete(issuer)
        }
      })()
      this.statusFetches.set(issuer, fetching)
    }
    await fetching
  }

  /** The peers asked at start for revocations and the directory: the parent, then the first bootstrap peers. */
  private syncPeers (): string[] {
    // the parent first: with a long bootstrap list it was the one cut off
    return [...new Set([...(this.identity?.parent !== undefined ? [this.identity.parent.addr] : []), ...(this.init.network.bootstrap ?? [])])].slice(0, DEFAULT_SYNC_PEERS)
  }

  /**
   * This node's own record when it is the root or a country, and the directory its resolver holds.
   * The own record goes as stored: every asker verifies what it takes, and a signature check per
   * request would be work any peer could ask of this node for nothing.
   */
  private async directoryRecords (): Promise<Uint8Array[]> {
    const namespace = this.identity?.namespace
    const own = namespace !== undefined && isDirectoryCode(namespace) ? (await this.records.get('own', namespace))?.bytes : undefined
    const cached = this.resolver.directory().filter(v => v.record.body.code !== namespace).map(v => v.record.bytes)
    return own !== undefined ? [own, ...cached] : cached
  }

  /**
   * Asks every sync peer at once, within the sync deadline; a peer that fails (out of reach, or
   * refusing) gives `none` and costs nothing but its share of the deadline.
   */
  private async askSyncPeers<T> (what: string, ask: (target: Multiaddr, signal: AbortSignal) => Promise<T>, none: T): Promise<T[]> {
    const addrs = this.syncPeers()
    if (addrs.length === 0) return []
    const deadline = deadlineSignal(this.init.revocations?.syncTimeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS)
    try {
      return await Promise.all(addrs.map(async (addr) => {
        try {
          return await ask(multiaddr(addr), deadline.signal)
        } catch (err) {
          this.log('%s with %s failed: %s', what, addr, (err as Error).message)
          return none
        }
      }))
    } finally {
      deadline.clear()
    }
  }

  /** The directory records the sync peers hold, all together. */
  private async fetchDirectory (): Promise<Uint8Array[]> {
    const pages = await this.askSyncPeers('directory sync', async (target, signal) =>
      decodeDirectoryResponse(await sendRequest(this.libp2p, target, DIRECTORY_PROTOCOL, encodeDirectoryRequest(), { signal, maxResponseBytes: DIRECTORY_RESPONSE_MAX_BYTES })), [] as Uint8Array[])
    return pages.flat()
  }

  /** A directory record from a peer: verified as one from gossip; anything below country depth is ignored. */
  private offerDirectoryRecord (bytes: Uint8Array): boolean {
    try {
      const verified = this.validator.validate(bytes)
      if (!isDirectoryCode(verified.record.body.code)) return false
      return this.resolver.offer(verified)
    } catch (err) {
      this.reject('directory', err)
      return false
    }
  }

  /** The revocations the sync peers hold, page by page from each. */
  private async syncRevocations (): Promise<void> {
    const learnt = await this.askSyncPeers('revocation sync', async (target, signal) =>
      await this.revocations.syncFrom(async (after) => decodeSyncResponse(await sendRequest(this.libp2p, target, REVOCATION_SYNC_PROTOCOL, encodeSyncRequest(after), { signal, maxResponseBytes: REVOCATION_SYNC_RESPONSE_MAX_BYTES }))), 0)
    const total = learnt.reduce((a, b) => a + b, 0)
    if (total > 0) this.log('learnt %d revocations from %d peers at start', total, learnt.length)
  }

  /** As the authority above `code`: the signed proof that it is not allocated, when it is not. */
  private async proveAbsence (code: string): Promise<Uint8Array | undefined> {
    const authority = this.authority
    if (authority === undefined || code === authority.namespace || !inNamespace(authority.namespace, code)) return undefined
    try {
      return await authority.proveAbsence(code)
    } catch (err) {
      this.log.error('could not prove %s absent: %s', code, (err as Error).message)
      return undefined
    }
  }

  private async answerApply (request: Uint8Array, peer: string): Promise<Uint8Array> {
    if (this.authority === undefined) return encodeApplyResponse({ status: 'refused', error: new NotAllocatedError('this node is not an authority yet', {}) })
    try {
      const outcome = await this.authority.apply(request, { peer })
      return encodeApplyResponse(outcome.status === 'allocated' ? { status: 'allocated', code: outcome.code, certificate: outcome.certificate, chain: outcome.chain } : outcome)
    } catch (err) {
      this.reject('apply', err)
      return encodeApplyResponse({ status: 'refused', error: err })
    }
  }

  /**
   * The peer id to dial for `peer`, its published addresses added so the dialler can pick a working
   * one; a peer-store write per question is measurable CPU with many nodes in one process, so it is
   * skipped when a connection is open already.
   */
  private async reach (peer: PeerRef): Promise<PeerId> {
    const id = peerIdFromString(peer.id)
    if (peer.addrs.length > 0 && this.libp2p.getConnections(id).length === 0) {
      await this.libp2p.peerStore.merge(id, { multiaddrs: peer.addrs.map(a => multiaddr(a)) }).catch(() => undefined)
    }
    return id
  }

  private async askPeer (peer: PeerRef, code: string, signal: AbortSignal | undefined, cost?: MessageCost): Promise<Uint8Array | null | RecordAnswer | AbsenceAnswer | RevokedAnswer> {
    const id = await this.reach(peer)
    const request = encodeResolveRequest(code)
    const bytes = this.sessions !== undefined
      ? await this.sessions.request(id, request, { signal, cost })
      : await sendRequest(this.libp2p, id, RESOLVE_PROTOCOL, request, { signal, cost, maxResponseBytes: RESOLVE_RESPONSE_MAX_BYTES })
    const response = decodeResolveResponse(bytes)
    if (response.status === 'refused') throw response.error
    if (response.status === 'found') {
      if (response.live !== true && response.statuses === undefined) return response.record
      // statuses are kept once the resolver has verified the record whose chain vouches for them
      return { record: response.record, ...(response.live === true ? { live: true as const } : {}), ...(response.statuses !== undefined ? { statuses: response.statuses } : {}) }
    }
    if (response.status === 'revoked') return { revoked: response.announcement }
    return response.proof !== undefined ? { absence: response.proof } : null
  }
}

export async function createCitycodeNode (init: CitycodeNodeInit): Promise<CitycodeNode> {
  const node = new CitycodeNode(init)
  await node.start()
  return node
}

function isCatalogueValue (v: RecordValue): boolean {
  return v.type === 'data' && v.name === CATALOGUE_VALUE_NAME
}

/** The peer id a multiaddr names (`/p2p/<id>`), if any. */
function peerIdOf (addr: string): string | undefined {
  try {
    return multiaddr(addr).getComponents().findLast(c => c.name === 'p2p')?.value
  } catch {
    return undefined
  }
}
