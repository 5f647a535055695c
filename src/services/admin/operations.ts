import { parseCodeInput } from '../../core/code/check-character.ts'
import { CitycodeError } from '../../core/errors.ts'
import type { Authority } from '../authority/index.ts'
import { NotAllocatedError } from '../errors.ts'
import { buildBundle } from '../proof/build.ts'
import { revokeCertificate } from '../proof/revoke.ts'
import { AdminRequestError } from './errors.ts'
import { APPLICATION_ID, DEFAULT_PROVE_TIMEOUT_MS, MAX_IDS_PER_REQUEST, MAX_INVITATION_DAYS, MAX_PROVE_TIMEOUT_MS } from './index.ts'
import type { BulkReport } from '../authority/bulk-register.ts'
import { checkBatchLines } from '../../core/allocation/batch.ts'
import type { RegisterBatchRequest, AdminOperations, AdminOperationsComponents, AdminOperationsInit, Decision, InvitationResult, InviteRequest, NodeStatus, PendingApplicationView, ProofResult, ProveRequest, PublishOutcome, PublishRequest, ReinstateRequest, ReinstateResult, RevocationResult, RevokeRequest, RotationResult } from './index.ts'
import { retireReplaced } from '../authority/reinstate.ts'
import { decodeCertificate } from '../../core/trust/certificate.ts'
import type { RecordValue } from '../../core/record/values.ts'
import type { PublishResult } from '../publisher/index.ts'
import { decodeInvitation } from '../../core/application/invitation.ts'
import { fromHex, toHex } from '../../core/crypto/hash.ts'
import { isAbsolute } from 'node:path'
import type { Exchange, FetchResult, ShareView } from '../exchange/index.ts'
import { policyText } from '../exchange/exchange.ts'
import { MAX_FETCH_TIMEOUT_MS, MAX_LOG_ENTRIES_PER_REQUEST } from './index.ts'
import type { ExchangeLogRequest, ExchangeLogResult, FetchRequest, ShareAddRequest, ShareRemoveRequest, ShareResult } from './index.ts'

/** An Ed25519 key or a SHA-256, as operators type them. */
const HEX_KEY = /^[0-9a-f]{64}$/

export class AdminOperationsService implements AdminOperations {
  private readonly init: AdminOperationsInit
  private readonly node: AdminOperationsComponents['node']

  constructor (init: AdminOperationsInit, components: AdminOperationsComponents) {
    this.init = init
    this.node = components.node
  }

  async status (): Promise<NodeStatus> {
    return {
      role: this.node.role,
      namespace: this.node.identity?.namespace ?? null,
      peerId: this.node.peerId.toString(),
      approval: this.node.authority === undefined ? null : (this.init.approval ?? 'manual')
    }
  }

  async registerBatch (request: RegisterBatchRequest): Promise<BulkReport> {
    const namespace = this.node.identity?.namespace
    if (namespace === undefined || this.node.authority === undefined || this.node.registerBatch === undefined) throw new NotAllocatedError('bulk registration needs a city that holds its code and key', {})
    const lines = checkBatchLines(namespace, request.lines)
    return await this.node.registerBatch(lines, { ...(request.check === true ? { check: true } : {}), ...(request.onProgress !== undefined ? { onProgress: request.onProgress } : {}) })
  }

  async pending (): Promise<PendingApplicationView[]> {
    return await this.authority().pending()
  }

  async approve (ids: readonly string[], options: { reinstate?: boolean } = {}): Promise<Decision[]> {
    const authority = this.authority()
    return await this.decide(ids, async (id) => {
      const outcome = await authority.approve(id, options.reinstate === true ? { reinstate: true } : {})
      if (outcome.status !== 'allocated') return { id, status: 'pending' }
      if (outcome.replaced !== undefined) await retireReplaced(this.node, outcome.replaced)
      return { id, status: 'allocated', code: outcome.code, duplicate: outcome.duplicate }
    })
  }

  async rotate (): Promise<RotationResult> {
    if (this.node.rotate === undefined) throw new NotAllocatedError('this node cannot rotate its key', { role: this.node.role })
    const r = await this.node.rotate()
    return { code: r.code, key: toHex(r.key), previousKey: toHex(r.previousKey), serial: r.serial, ledgerIndex: r.ledgerIndex, republished: r.republished }
  }

  async reinstate (request: ReinstateRequest): Promise<ReinstateResult> {
    const code = parseCodeInput(request.code).text
    if (!HEX_KEY.test(request.key)) throw new AdminRequestError('key must be 64 lower-case hex characters (the new holder\'s authority key, printed by its citycode init)', { field: 'key' })
    if (request.next !== undefined && !HEX_KEY.test(request.next)) throw new AdminRequestError('next must be 64 lower-case hex characters (SHA-256 of the holder\'s next key)', { field: 'next' })
    const outcome = await this.authority().reinstate(code, fromHex(request.key), { next: request.next === undefined ? null : fromHex(request.next) })
    const retired = outcome.replaced !== undefined ? await retireReplaced(this.node, outcome.replaced) : { revoked: false }
    return { code: outcome.code, key: request.key, serial: decodeCertificate(outcome.certificate).body.serial, revokedPrevious: retired.revoked, duplicate: outcome.duplicate }
  }

  async publish (request: PublishRequest): Promise<PublishOutcome> {
    if (this.node.publishOwn === undefined || this.node.publish === undefined) throw new NotAllocatedError('this node publishes no records', { role: this.node.role })
    const values: RecordValue[] = (request.values ?? []).map(v => ({ type: 'data', name: v.name, value: v.value }))
    let result: PublishResult
    if (request.sub !== undefined) {
      if (request.sub.length === 0 || request.sub.length > 256) throw new AdminRequestError('sub must be a name of 1 to 256 characters', { field: 'sub' })
      const code = await this.authority().allocateOwn(request.sub)
      result = await this.node.publish(code, [{ type: 'name', lang: 'en', value: request.sub }, ...values])
    } else {
      result = await this.node.publishOwn(values)
    }
    return { code: result.record.body.code, seq: result.record.body.seq, dhtPeers: result.dhtPeers }
  }

  async reject (ids: readonly string[]): Promise<Decision[]> {
    const authority = this.authority()
    return await this.decide(ids, async (id) => {
      await authority.reject(id)
      return { id, status: 'rejected' }
    })
  }

  async prove (request: ProveRequest): Promise<ProofResult> {
    const code = parseCodeInput(request.code).text
    const timeoutMs = request.timeoutMs ?? DEFAULT_PROVE_TIMEOUT_MS
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_PROVE_TIMEOUT_MS) {
      throw new AdminRequestError(`timeoutMs must be a whole number of milliseconds from 1 to ${MAX_PROVE_TIMEOUT_MS}`, { field: 'timeoutMs' })
    }
    const built = await buildBundle(this.node, code, { ledger: request.ledger ?? true, signal: AbortSignal.timeout(timeoutMs) })
    const ledger = built.verified.ledger
    return {
      code: built.verified.verified.record.body.code,
      bytes: built.bytes,
      text: built.text,
      madeAt: built.verified.madeAt,
      ledger: ledger === null ? null : { log: ledger.log, index: ledger.index, size: ledger.size, cosignatures: ledger.witnesses.length }
    }
  }

  async revoke (request: RevokeRequest): Promise<RevocationResult> {
    const code = parseCodeInput(request.code).text
    const timeoutMs = request.timeoutMs ?? DEFAULT_PROVE_TIMEOUT_MS
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_PROVE_TIMEOUT_MS) {
      throw new AdminRequestError(`timeoutMs must be a whole number of milliseconds from 1 to ${MAX_PROVE_TIMEOUT_MS}`, { field: 'timeoutMs' })
    }
    if (request.reason.length === 0 || request.reason.length > 256) throw new AdminRequestError('reason must be 1 to 256 characters', { field: 'reason' })
    if (request.revokedAt !== undefined && (!Number.isSafeInteger(request.revokedAt) || request.revokedAt < 0)) throw new AdminRequestError('revokedAt must be Unix milliseconds', { field: 'revokedAt' })
    const { revocation, ledgerIndex } = await revokeCertificate(this.node, code, { reason: request.reason, revokedAt: request.revokedAt, signal: AbortSignal.timeout(timeoutMs) })
    return { code, bytes: revocation.bytes, revokedAt: revocation.revokedAt, reason: revocation.reason, ledgerIndex }
  }

  async invite (request: InviteRequest): Promise<InvitationResult> {
    if (!/^[0-9a-f]{64}$/.test(request.key)) throw new AdminRequestError('key must be 64 lower-case hex characters (the invitee\'s authority key, printed by its citycode init)', { field: 'key' })
    const days = request.validDays ?? 7
    if (!Number.isSafeInteger(days) || days < 1 || days > MAX_INVITATION_DAYS) throw new AdminRequestError(`validDays must be a whole number from 1 to ${MAX_INVITATION_DAYS}`, { field: 'validDays' })
    const authority = this.authority()
    const bytes = authority.invite({ key: fromHex(request.key), ...(request.code !== undefined ? { code: parseCodeInput(request.code).text } : {}), validForMs: days * 86_400_000 })
    const invitation = decodeInvitation(bytes)
    return { namespace: invitation.body.namespace, key: request.key, code: invitation.body.code, expiresAt: invitation.body.expiresAt, bytes }
  }

  async shareAdd (request: ShareAddRequest): Promise<ShareResult> {
    if (!isAbsolute(request.path)) throw new AdminRequestError('path must be absolute: the node reads the file itself, from its own working directory', { field: 'path' })
    return shareResult(await this.exchange().share({ ...request, ...(request.code !== undefined ? { code: parseCodeInput(request.code).text } : {}) }))
  }

  async shareList (): Promise<ShareResult[]> {
    return (await this.exchange().shares()).map(shareResult)
  }

  async shareRemove (request: ShareRemoveRequest): Promise<ShareResult> {
    return shareResult(await this.exchange().unshare(request.name, request.code !== undefined ? parseCodeInput(request.code).text : undefined))
  }

  async fetch (request: FetchRequest): Promise<FetchResult> {
    if (request.out !== undefined && !isAbsolute(request.out)) throw new AdminRequestError('out must be an absolute path: the node writes the file itself', { field: 'out' })
    const timeoutMs = request.timeoutMs
    if (timeoutMs !== undefined && (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_FETCH_TIMEOUT_MS)) {
      throw new AdminRequestError(`timeoutMs must be a whole number of milliseconds from 1 to ${MAX_FETCH_TIMEOUT_MS}`, { field: 'timeoutMs' })
    }
    return await this.exchange().fetch(parseCodeInput(request.code).text, request.name, { ...(request.out !== undefined ? { out: request.out } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) })
  }

  async exchangeLog (request: ExchangeLogRequest): Promise<ExchangeLogResult> {
    const limit = request.limit ?? MAX_LOG_ENTRIES_PER_REQUEST
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LOG_ENTRIES_PER_REQUEST) throw new AdminRequestError(`limit must be 1 to ${MAX_LOG_ENTRIES_PER_REQUEST}`, { field: 'limit' })
    const exchange = this.exchange()
    // the whole log is verified, whatever page is shown: a page cannot hide a broken link before it
    const verified = await exchange.verifyLog()
    return { entries: await exchange.log({ from: request.from ?? Math.max(0, verified.entries - limit), limit }), verified }
  }

  private exchange (): Exchange {
    const exchange = this.node.exchange
    if (exchange === undefined) throw new NotAllocatedError('this node shares and fetches no data (a resolver-only node)', { role: this.node.role })
    return exchange
  }

  private authority (): Authority {
    const authority = this.node.authority
    if (authority === undefined) {
      throw new NotAllocatedError(this.node.role === 'resolver' ? 'a resolver node is no authority: it has no applications' : 'this node holds no code yet, so it has no applications', { role: this.node.role })
    }
    return authority
  }

  /** One id at a time, in the order given: each goes through the authority's own queue, between live applications. */
  private async decide (ids: readonly string[], one: (id: string) => Promise<Decision>): Promise<Decision[]> {
    if (ids.length === 0) throw new AdminRequestError('name at least one application id', { field: 'ids' })
    if (ids.length > MAX_IDS_PER_REQUEST) throw new AdminRequestError(`at most ${MAX_IDS_PER_REQUEST} ids per request`, { field: 'ids', count: ids.length })
    const bad = ids.findIndex(id => !APPLICATION_ID.test(id))
    if (bad >= 0) throw new AdminRequestError(`ids.${bad}: ${JSON.stringify(String(ids[bad]).slice(0, 64))} is not an application id (16 lower-case hex characters)`, { field: `ids.${bad}` })
    const out: Decision[] = []
    for (const id of ids) {
      try {
        out.push(await one(id))
      } catch (err) {
        // a typed refusal (no such pending application) belongs to this id; anything else is the node's failure
        if (!(err instanceof CitycodeError)) throw err
        out.push({ id, status: 'failed', error: { name: err.name, code: err.code, message: err.message } })
      }
    }
    return out
  }
}

function shareResult (view: ShareView): ShareResult {
  const d = view.dataset
  return { code: view.code, catalogue: view.catalogue, seq: view.seq, name: d.name, version: d.version, cid: d.cid.toString(), size: d.size, mediaType: d.mediaType, licence: d.licence, description: d.description, access: policyText(d.access) }
}
