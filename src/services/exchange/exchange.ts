import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { CID } from 'multiformats/cid'
import { catalogueIdOf, createCatalogue, findDataset, isDatasetName, policyAdmits, verifyCatalogue } from '../../core/catalogue/catalogue.ts'
import type { AccessPolicy, DatasetEntry, SignedCatalogue } from '../../core/catalogue/catalogue.ts'
import { DAG_PB } from '../../core/catalogue/content-id.ts'
import { AccessDeniedError, DatasetMismatchError, InvalidCatalogueError, InvalidRequestError, TransferIncompleteError, UnknownDatasetError } from '../../core/catalogue/errors.ts'
import { verifyExchangeLog, decodeLogEntry } from '../../core/catalogue/exchange-log.ts'
import type { ExchangeLogFields, LogVerification } from '../../core/catalogue/exchange-log.ts'
import { createExchangeRequest, createReceipt, decodeExchangeRequest, MAX_WANT, NONCE_BYTES, NonceCache, verifyExchangeRequest, verifyReceipt } from '../../core/catalogue/exchange.ts'
import type { VerifiedExchangeRequest } from '../../core/catalogue/exchange.ts'
import { inNamespace, parseCode } from '../../core/code/grammar.ts'
import { toHex } from '../../core/crypto/hash.ts'
import { DistrustedAuthorityError } from '../../core/errors.ts'
import type { Signer } from '../../core/crypto/signature.ts'
import { deadlineSignal } from '../../network/deadline.ts'
import { ExchangeStream, EXCHANGE_PROTOCOL, serveExchange } from '../../network/protocols/exchange.ts'
import type { ExchangeBatch, ServedTransfer } from '../../network/protocols/exchange.ts'
import { BlockStore } from '../../storage/block-store.ts'
import { ExchangeLogStore, ShareStore } from '../../storage/exchange-store.ts'
import { StorageError } from '../../storage/errors.ts'
import type { StoredShare } from '../../storage/exchange-store.ts'
import { NotAllocatedError } from '../errors.ts'
import { holderOf } from '../resolver/resolver.ts'
import { blockLinks, exportContent, importFile } from './content.ts'
import { DEFAULT_FETCH_TIMEOUT_MS } from './index.ts'
import type { Exchange, ExchangeComponents, ExchangeInit, ExchangeLogView, FetchOptions, FetchResult, ShareRequest, ShareView } from './index.ts'

const TEXT_MAX = 128
/** Refusals given only after the request verified (11.3): the requester's signature is in the log. */
const LOGGED_REFUSALS = new Set(['AccessDeniedError', 'UnknownDatasetError'])

/** A policy as the log writes it. */
export function policyText (policy: AccessPolicy): string {
  switch (policy.kind) {
    case 'public': return 'public'
    case 'namespace': return policy.namespace
    default: return `codes:${policy.codes.join(',')}`
  }
}

export class ExchangeService implements Exchange {
  private readonly init: ExchangeInit
  private readonly c: ExchangeComponents
  private readonly blocks: BlockStore
  private readonly store: ShareStore
  private readonly logStore: ExchangeLogStore
  private readonly nonces: NonceCache
  private readonly logger: Logger
  /** Catalogues this node signs, by code and by CID (what a requester names). */
  private readonly catalogues = new Map<string, SignedCatalogue>()
  private readonly cataloguesByCid = new Map<string, SignedCatalogue>()
  /** Blocks of each share (`code/name`), as multihash hex: what a request for it may want. */
  private readonly shareBlocks = new Map<string, Set<string>>()
  /** Catalogue changes one at a time: two shares at once must not both build on one seq. */
  private writing: Promise<unknown> = Promise.resolve()
  private started = false

  constructor (init: ExchangeInit, components: ExchangeComponents) {
    this.init = init
    this.c = components
    this.blocks = new BlockStore(components.datastore)
    this.store = new ShareStore(components.datastore)
    this.logStore = new ExchangeLogStore(components.datastore)
    this.nonces = new NonceCache(init.nonceCacheSize)
    this.logger = components.logger.forComponent('citycode:exchange')
  }

  async start (): Promise<void> {
    if (this.started) return
    for (const catalogue of await this.store.catalogues()) this.indexCatalogue(catalogue)
    for (const share of await this.store.shares()) this.indexShare(share)
    await serveExchange(this.c.libp2p, async (request, peer) => this.serve(request, peer), {
      ...(this.init.batchTimeoutMs !== undefined ? { batchTimeoutMs: this.init.batchTimeoutMs } : {}),
      ...(this.init.idleTimeoutMs !== undefined ? { idleTimeoutMs: this.init.idleTimeoutMs } : {}),
      onTransfer: (transfer) => { void this.logServed(transfer) }
    })
    this.started = true
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.c.libp2p.unhandle(EXCHANGE_PROTOCOL).catch(() => undefined)
    await this.writing
  }

  catalogueOf (code: string): SignedCatalogue | undefined {
    return this.catalogues.get(code)
  }

  private indexCatalogue (catalogue: SignedCatalogue): void {
    // earlier versions stay servable this session: a requester may hold a cached record naming one
    this.catalogues.set(catalogue.body.code, catalogue)
    this.cataloguesByCid.set(catalogue.cid.toString(), catalogue)
  }

  private indexShare (share: StoredShare): void {
    this.shareBlocks.set(`${share.code}/${share.name}`, new Set(share.blocks.map(c => toHex(c.multihash.bytes))))
  }

  // ------------------------------------------------------------ provider

  /** The provider's door: verify the request like every other signed object, then the policy. */
  private async serve (bytes: Uint8Array, peer: PeerId): Promise<ExchangeBatch> {
    const signer = this.c.signer()
    if (signer === undefined) throw new NotAllocatedError('this node has no code key: it serves no data', {})
    const verified = verifyExchangeRequest(bytes, this.c.validator.chains, {
      now: this.c.now(),
      localPeer: this.c.libp2p.peerId.toString(),
      remotePeer: peer.toString(),
      nonces: this.nonces,
      revocations: this.c.validator.revocations
    })
    this.checkTrusted(verified)
    const body = verified.request.body
    if (new Set(body.want.map(c => c.toString())).size !== body.want.length) throw new InvalidRequestError('a request may want each block once', { want: body.want.length })
    let catalogue: SignedCatalogue
    if (body.dataset === '') {
      // the catalogue itself: any requester whose code verifies may read what is offered
      const found = this.cataloguesByCid.get(body.root.toString())
      if (found === undefined) throw new UnknownDatasetError(`this node serves no catalogue ${body.root.toString()}`, { cid: body.root.toString() })
      if (body.want.some(c => !c.equals(body.root))) throw new InvalidRequestError('a catalogue request may want only the catalogue block', { cid: body.root.toString() })
      catalogue = found
    } else {
      const found = this.findShare(body.dataset, body.root)
      if (found === undefined) throw new UnknownDatasetError(`this node shares no dataset "${body.dataset}" under ${body.root.toString()}`, { dataset: body.dataset, cid: body.root.toString() })
      if (!policyAdmits(found.entry.access, body.code)) {
        throw new AccessDeniedError(`${body.code} may not fetch ${found.catalogue.body.code}/${body.dataset} (access: ${policyText(found.entry.access)})`, { code: body.code, dataset: body.dataset, access: policyText(found.entry.access) })
      }
      const held = this.shareBlocks.get(`${found.catalogue.body.code}/${body.dataset}`)
      const foreign = body.want.find(c => held?.has(toHex(c.multihash.bytes)) !== true)
      // a requester admitted to one dataset must not reach another's blocks by naming their CIDs
      if (foreign !== undefined) throw new InvalidRequestError(`block ${foreign.toString()} is not part of ${body.dataset}`, { cid: foreign.toString() })
      catalogue = found.catalogue
    }
    const now = this.c.now()
    return {
      want: body.want,
      block: async (cid, options) => await this.blocks.has(cid, options) ? await this.blocks.getBlock(cid, options) : undefined,
      receipt: (sent) => createReceipt({ request: verified.request.hash, root: body.root, bytes: sent, time: now, code: catalogue.body.code }, signer).bytes
    }
  }

  private checkTrusted (verified: VerifiedExchangeRequest): void {
    const keys = [verified.request.body.key, ...verified.chain.certificates.flatMap(c => [c.body.subject, ...c.sigs.map(s => s.key)])]
    const distrusted = keys.find(k => this.c.validator.isDistrusted(k))
    if (distrusted !== undefined) throw new DistrustedAuthorityError(`request of ${verified.request.body.code} is signed under a chain containing a distrusted key`, { code: verified.request.body.code, key: toHex(distrusted) })
  }

  private findShare (name: string, root: CID): { catalogue: SignedCatalogue, entry: DatasetEntry } | undefined {
    for (const catalogue of this.catalogues.values()) {
      const entry = findDataset(catalogue, name)
      if (entry !== undefined && entry.cid.equals(root)) return { catalogue, entry }
    }
    return undefined
  }

  private async logServed (transfer: ServedTransfer): Promise<void> {
    // a refusal of a request whose chain and signature verified is logged (who asked for what and was
    // told no); one that did not verify proves nobody asked, and logging it would let anyone fill the log
    const refusedVerified = transfer.refused !== undefined && transfer.error !== undefined && LOGGED_REFUSALS.has(transfer.error.name)
    if (transfer.batches.length === 0 && !refusedVerified) return
    try {
      const requests = [...transfer.batches.map(b => b.request), ...(refusedVerified && transfer.refused !== undefined ? [transfer.refused] : [])]
      // every logged request verified when it was served: decoding is enough here
      const bodies = requests.map(q => decodeExchangeRequest(q).body)
      const last = bodies.findLast(b => b.dataset !== '') ?? bodies[bodies.length - 1]
      if (last === undefined) return
      const share = last.dataset === '' ? undefined : this.findShare(last.dataset, last.root)
      await this.logStore.append({
        role: 'served',
        time: this.c.now(),
        peer: transfer.peer.toString(),
        requester: last.code,
        provider: share?.catalogue.body.code ?? this.cataloguesByCid.get(last.root.toString())?.body.code ?? this.c.identity()?.namespace ?? '',
        dataset: last.dataset,
        root: last.root,
        bytes: transfer.batches.reduce((a, b) => a + b.bytes, 0),
        policy: share !== undefined ? policyText(share.entry.access) : 'public',
        requests,
        receipts: transfer.batches.map(b => b.receipt),
        outcome: transfer.error?.name ?? 'complete'
      })
    } catch (err) {
      this.logger.error('could not log a transfer to %p: %s', transfer.peer, (err as Error).message)
    }
  }

  // ------------------------------------------------------------ shares

  private async serialised<T> (fn: () => Promise<T>): Promise<T> {
    const next = this.writing.then(fn)
    this.writing = next.catch(() => undefined)
    return await next
  }

  private holder (code?: string): { code: string, signer: Signer, chain: readonly Uint8Array[] } {
    const identity = this.c.identity()
    const signer = this.c.signer()
    if (identity === undefined || signer === undefined) throw new NotAllocatedError('this node holds no code (or no code key) yet: it cannot share data', {})
    const target = code === undefined ? identity.namespace : parseCode(code).text
    if (!inNamespace(identity.namespace, target)) throw new NotAllocatedError(`${target} is outside this node's namespace ${identity.namespace}`, { code: target })
    return { code: target, signer, chain: identity.chain }
  }

  async share (request: ShareRequest, options: AbortOptions = {}): Promise<ShareView> {
    const holder = this.holder(request.code)
    if (!isDatasetName(request.name)) throw new InvalidCatalogueError(`"${request.name.slice(0, 64)}" is not a dataset name: 1 to 64 lower-case letters, digits and "-", not starting or ending with "-"`, { field: 'name' })
    for (const [field, value] of [['mediaType', request.mediaType], ['licence', request.licence]] as const) {
      if (value !== undefined && value.length > TEXT_MAX) throw new InvalidCatalogueError(`${field} is longer than ${TEXT_MAX} characters`, { field })
    }
    const info = await stat(request.path).catch(() => undefined)
    if (info === undefined) throw new UnknownDatasetError(`${request.path} does not exist`, { path: request.path })
    if (!info.isFile()) throw new InvalidCatalogueError(`${request.path} is not a regular file (sharing a directory is not supported yet: share an archive of it)`, { path: request.path })
    const imported = await importFile(request.path, this.blocks, options)
    const blocks = await this.dagBlocks(imported.cid, options)
    return await this.serialised(async () => {
      const previous = this.catalogues.get(holder.code)
      const old = previous !== undefined ? findDataset(previous, request.name) : undefined
      const entry: DatasetEntry = {
        name: request.name,
        version: (old?.version ?? 0) + 1,
        cid: imported.cid,
        size: imported.size,
        mediaType: request.mediaType ?? 'application/octet-stream',
        licence: request.licence ?? '',
        description: request.description ?? '',
        access: request.access ?? { kind: 'public' }
      }
      const datasets = [...(previous?.body.datasets ?? []).filter(d => d.name !== request.name), entry]
      const catalogue = await this.putCatalogue(holder, previous, datasets, options)
      await this.store.putShare({ code: holder.code, name: request.name, root: imported.cid, blocks })
      this.indexShare({ code: holder.code, name: request.name, root: imported.cid, blocks })
      this.indexCatalogue(catalogue)
      await this.c.publishCatalogue(holder.code, catalogue.cid, options)
      return { code: holder.code, catalogue: catalogue.cid.toString(), seq: catalogue.body.seq, dataset: entry }
    })
  }

  async unshare (name: string, code?: string, options: AbortOptions = {}): Promise<ShareView> {
    const holder = this.holder(code)
    return await this.serialised(async () => {
      const previous = this.catalogues.get(holder.code)
      const entry = previous !== undefined ? findDataset(previous, name) : undefined
      if (previous === undefined || entry === undefined) throw new UnknownDatasetError(`${holder.code} shares no dataset "${name.slice(0, 64)}"`, { code: holder.code, dataset: name.slice(0, 64) })
      const catalogue = await this.putCatalogue(holder, previous, previous.body.datasets.filter(d => d.name !== name), options)
      this.indexCatalogue(catalogue)
      // blocks stay: another share (or a copy this node fetched) may hold the same bytes
      await this.store.deleteShare(holder.code, name)
      this.shareBlocks.delete(`${holder.code}/${name}`)
      await this.c.publishCatalogue(holder.code, catalogue.cid, options)
      return { code: holder.code, catalogue: catalogue.cid.toString(), seq: catalogue.body.seq, dataset: entry }
    })
  }

  private async putCatalogue (holder: { code: string, signer: Signer, chain: readonly Uint8Array[] }, previous: SignedCatalogue | undefined, datasets: DatasetEntry[], options: AbortOptions): Promise<SignedCatalogue> {
    const now = this.c.now()
    const catalogue = createCatalogue({ code: holder.code, seq: (previous?.body.seq ?? 0) + 1, issuedAt: now, datasets }, holder.signer, holder.chain)
    // what every requester will check, checked before anything is stored or published
    verifyCatalogue(catalogue.bytes, this.c.validator.chains, { now, expectedCode: holder.code, revocations: this.c.validator.revocations })
    await this.blocks.put(catalogue.cid, catalogue.bytes, options)
    await this.store.putCatalogue(catalogue)
    return catalogue
  }

  async shares (): Promise<ShareView[]> {
    return [...this.catalogues.values()].flatMap(c => c.body.datasets.map(dataset => ({ code: c.body.code, catalogue: c.cid.toString(), seq: c.body.seq, dataset })))
  }

  /** Every block of a DAG this node holds, root first. */
  private async dagBlocks (root: CID, options: AbortOptions): Promise<CID[]> {
    const out: CID[] = []
    let level = [root]
    while (level.length > 0) {
      out.push(...level)
      const next: CID[] = []
      for (const cid of level) if (cid.code === DAG_PB) next.push(...blockLinks(cid, await this.blocks.getBlock(cid, options)))
      level = unique(next)
    }
    return out
  }

  // ------------------------------------------------------------ requester

  async fetch (code: string, name: string, options: FetchOptions = {}): Promise<FetchResult> {
    const me = this.holder()
    const target = parseCode(code).text
    const deadline = deadlineSignal(options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS, options.signal)
    const signal = deadline.signal
    try {
      const record = await this.c.resolve(target, { signal })
      const catalogueCid = catalogueIdOf(record.record.body.values)
      if (catalogueCid === undefined) throw new UnknownDatasetError(`${target} publishes no catalogue`, { code: target })
      const provider = options.provider ?? await this.providerOf(record)
      const session = new FetchSession(this, me, provider, signal)
      let outcome = 'complete'
      let catalogue: SignedCatalogue | undefined
      let result: Omit<FetchResult, 'receipts' | 'logSeq' | 'out'> | undefined
      let out: string | null = null
      try {
        const held = await this.blocks.has(catalogueCid, { signal })
        const catalogueBytes = held ? await this.blocks.getBlock(catalogueCid, { signal }) : await session.fetchCatalogue(catalogueCid)
        // a held copy is verified again: its chain may have been revoked since
        catalogue = verifyCatalogue(catalogueBytes, this.c.validator.chains, { now: this.c.now(), expectedCode: target, expectedCid: catalogueCid, revocations: this.c.validator.revocations }).catalogue
        if (!held) await this.blocks.put(catalogueCid, catalogueBytes, { signal })
        session.providerKey = catalogue.body.key
        session.checkReceipts()
        const entry = findDataset(catalogue, name)
        if (entry === undefined) throw new UnknownDatasetError(`${target} shares no dataset "${name.slice(0, 64)}"`, { code: target, dataset: name.slice(0, 64) })
        session.entry = entry
        const moved = await session.fetchDag(entry, options.onProgress)
        await session.close()
        if (options.out !== undefined) out = await this.writeOut(entry, options.out, signal)
        result = { code: target, dataset: entry.name, cid: entry.cid.toString(), size: entry.size, mediaType: entry.mediaType, licence: entry.licence, provider: provider.toString(), ...moved }
      } catch (err) {
        outcome = (err as Error).name
        session.abort(err instanceof Error ? err : new Error(String(err)))
        throw err
      } finally {
        if (session.requests.length > 0) {
          session.logSeq = (await this.logStore.append({
            role: 'fetched',
            time: this.c.now(),
            peer: provider.toString(),
            requester: me.code,
            provider: catalogue?.body.code ?? target,
            dataset: session.entry?.name ?? '',
            root: session.entry?.cid ?? catalogueCid,
            bytes: session.bytes,
            policy: session.entry !== undefined ? policyText(session.entry.access) : 'public',
            requests: session.requests,
            receipts: session.receipts,
            outcome
          } satisfies ExchangeLogFields).catch((err: Error) => { this.logger.error('could not log a fetch: %s', err.message); return undefined }))?.seq
        }
      }
      return { ...result, receipts: session.receipts.length, out, logSeq: session.logSeq ?? -1 }
    } finally {
      deadline.clear()
    }
  }

  private async providerOf (record: Awaited<ReturnType<ExchangeComponents['resolve']>>): Promise<PeerId> {
    const holder = holderOf(record)
    if (holder === undefined) throw new UnknownDatasetError(`the record of ${record.record.body.code} names no node to fetch from`, { code: record.record.body.code })
    const id = peerIdFromString(holder.id)
    if (holder.addrs.length > 0 && this.c.libp2p.getConnections(id).length === 0) {
      await this.c.libp2p.peerStore.merge(id, { multiaddrs: holder.addrs.map(a => multiaddr(a)) }).catch(() => undefined)
    }
    return id
  }

  /** The file is written beside its target and renamed once whole and checked: a cut-off fetch never leaves a file that looks complete. */
  private async writeOut (entry: DatasetEntry, path: string, signal: AbortSignal): Promise<string> {
    const partial = `${path}.partial-${toHex(randomBytes(4))}`
    let written = 0
    try {
      const counted = async function * (source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
        for await (const chunk of source) {
          written += chunk.byteLength
          yield chunk
        }
      }
      await pipeline(Readable.from(counted(exportContent(entry.cid, this.blocks, { signal }))), createWriteStream(partial, { mode: 0o600 }), { signal })
      if (written !== entry.size) throw new DatasetMismatchError(`the dataset's file is ${written} bytes, its catalogue says ${entry.size}`, { cid: entry.cid.toString(), bytes: written, size: entry.size })
      await rename(partial, path)
      return path
    } catch (err) {
      await rm(partial, { force: true })
      // the operator's path (a missing directory, no permission): a typed error, not a trace
      const code = (err as NodeJS.ErrnoException).code
      if (typeof code === 'string' && code.startsWith('E')) throw new StorageError(`cannot write ${path}: ${code}`, { path, reason: code })
      throw err
    }
  }

  /** Block store access for one fetch. */
  async holds (cid: CID, options: AbortOptions): Promise<boolean> {
    return await this.blocks.has(cid, options)
  }

  async keep (cid: CID, bytes: Uint8Array, options: AbortOptions): Promise<void> {
    await this.blocks.put(cid, bytes, options)
  }

  async blockOf (cid: CID, options: AbortOptions): Promise<Uint8Array> {
    return await this.blocks.getBlock(cid, options)
  }

  requestFor (me: { code: string, signer: Signer, chain: readonly Uint8Array[] }, provider: PeerId, dataset: string, root: CID, want: readonly CID[]): ReturnType<typeof createExchangeRequest> {
    return createExchangeRequest({
      code: me.code,
      dataset,
      root,
      want,
      nonce: new Uint8Array(randomBytes(NONCE_BYTES)),
      time: this.c.now(),
      from: this.c.libp2p.peerId.toString(),
      to: provider.toString()
    }, me.signer, me.chain)
  }

  get selfId (): PeerId {
    return this.c.libp2p.peerId
  }

  get network (): ExchangeComponents['libp2p'] {
    return this.c.libp2p
  }

  get wantPerRequest (): number {
    return Math.max(1, Math.min(MAX_WANT, this.init.blocksPerRequest ?? MAX_WANT))
  }

  async log (options: { from?: number, limit?: number } = {}): Promise<ExchangeLogView[]> {
    return (await this.logStore.read(options.from ?? 0, options.limit)).map(bytes => {
      const e = decodeLogEntry(bytes)
      return {
        seq: e.seq,
        role: e.role,
        time: e.time,
        peer: e.peer,
        requester: e.requester,
        provider: e.provider,
        dataset: e.dataset,
        root: e.root.toString(),
        bytes: e.bytes,
        policy: e.policy,
        requests: e.requests.length,
        receipts: e.receipts.length,
        outcome: e.outcome,
        hash: toHex(e.hash)
      }
    })
  }

  async verifyLog (): Promise<LogVerification> {
    return verifyExchangeLog(await this.logStore.read())
  }
}

/**
 * One fetch on one stream: asks for the DAG level by level (a node's links are known only once it is
 * held), only for the blocks not held yet, so a fetch after an interruption moves only what is missing.
 */
class FetchSession {
  readonly requests: Uint8Array[] = []
  readonly receipts: Uint8Array[] = []
  bytes = 0
  providerKey: Uint8Array | undefined
  entry: DatasetEntry | undefined
  logSeq: number | undefined
  private readonly service: ExchangeService
  private readonly me: { code: string, signer: Signer, chain: readonly Uint8Array[] }
  private readonly provider: PeerId
  private stream: ExchangeStream | undefined
  private readonly signal: AbortSignal

  constructor (service: ExchangeService, me: { code: string, signer: Signer, chain: readonly Uint8Array[] }, provider: PeerId, signal: AbortSignal) {
    this.service = service
    this.me = me
    this.provider = provider
    this.signal = signal
  }

  /** The stream is opened at the first batch: a dataset already held whole costs no connection. */
  private async open (): Promise<ExchangeStream> {
    if (this.stream === undefined) {
      if (this.provider.equals(this.service.selfId)) throw new TransferIncompleteError('this node is the dataset\'s holder but lacks some of its blocks', { provider: this.provider.toString() })
      this.stream = await ExchangeStream.open(this.service.network, this.provider, { signal: this.signal })
    }
    return this.stream
  }

  async close (): Promise<void> {
    await this.stream?.close({ signal: this.signal })
  }

  abort (err: Error): void {
    this.stream?.abort(err)
  }

  async fetchCatalogue (cid: CID): Promise<Uint8Array> {
    let bytes: Uint8Array | undefined
    // the catalogue is kept only once it verifies (below, by the caller), not as any block
    await this.batch('', cid, [cid], async (_cid, data) => { bytes = data }, false)
    if (bytes === undefined) throw new TransferIncompleteError(`the provider does not hold catalogue ${cid.toString()}`, { cid: cid.toString() })
    return bytes
  }

  /** Receipts taken before the provider's key was known (the catalogue's own batch) are checked once it is. */
  checkReceipts (): void {
    if (this.providerKey === undefined) return
    this.receipts.forEach((receipt, i) => { verifyReceipt(receipt, this.providerKey as Uint8Array, this.requests[i]) })
  }

  async fetchDag (entry: DatasetEntry, onProgress?: FetchOptions['onProgress']): Promise<{ blocks: number, bytes: number, alreadyHeld: number }> {
    const signal = this.signal
    let blocks = 0
    let alreadyHeld = 0
    let leafBytes = 0
    // a file with repeated chunks (zeros, say) links one leaf many times: each is asked for once
    let level: CID[] = [entry.cid]
    while (level.length > 0) {
      const missing: CID[] = []
      for (const cid of level) {
        if (await this.service.holds(cid, { signal })) alreadyHeld++
        else missing.push(cid)
      }
      for (let i = 0; i < missing.length; i += this.service.wantPerRequest) {
        const want = missing.slice(i, i + this.service.wantPerRequest)
        await this.batch(entry.name, entry.cid, want, async (cid, data) => {
          if (cid.code !== DAG_PB) {
            leafBytes += data.byteLength
            // a DAG that unfolds into more bytes than the catalogue states is not this dataset
            if (leafBytes > entry.size) throw new DatasetMismatchError(`the DAG of ${entry.name} holds more than the ${entry.size} bytes its catalogue states`, { cid: entry.cid.toString(), size: entry.size })
          }
          await this.service.keep(cid, data, { signal })
          blocks++
          onProgress?.({ blocks, bytes: this.bytes })
        }, true)
      }
      const next: CID[] = []
      for (const cid of level) if (cid.code === DAG_PB) next.push(...blockLinks(cid, await this.service.blockOf(cid, { signal })))
      level = unique(next)
    }
    return { blocks, bytes: this.bytes, alreadyHeld }
  }

  private async batch (dataset: string, root: CID, want: CID[], onBlock: (cid: CID, data: Uint8Array) => Promise<void>, verifyReceiptNow: boolean): Promise<void> {
    const stream = await this.open()
    const request = this.service.requestFor(this.me, stream.peer, dataset, root, want)
    this.requests.push(request.hash)
    const result = await stream.batch(request.bytes, want, async (cid, data) => {
      this.bytes += data.byteLength
      await onBlock(cid, data)
    }, { signal: this.signal })
    if (verifyReceiptNow) {
      if (this.providerKey === undefined) throw new InvalidRequestError('no provider key to check the receipt with', {})
      verifyReceipt(result.receipt, this.providerKey, request.hash)
    }
    this.receipts.push(result.receipt)
    if (result.missing.length > 0) {
      throw new TransferIncompleteError(`the provider lacks ${result.missing.length} block(s) of ${dataset === '' ? 'its catalogue' : dataset}; the ${result.blocks} received are kept for a later fetch`, { missing: result.missing.length, received: result.blocks })
    }
  }
}

function unique (cids: readonly CID[]): CID[] {
  const seen = new Set<string>()
  return cids.filter(c => {
    const key = c.toString()
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
