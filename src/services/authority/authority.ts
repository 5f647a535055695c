import { checkAllocationRule, countryCode, allocateCity, allocateSub } from '../../core/allocation/rule.ts'
import { decodeApplication, verifyApplication } from '../../core/application/application.ts'
import { createInvitation, decodeInvitation, verifyInvitation } from '../../core/application/invitation.ts'
import type { Application } from '../../core/application/application.ts'
import { parseCode, parent, AGENCY_DEPTH, COUNTRY_DEPTH } from '../../core/code/grammar.ts'
import { equalBytes, sha256, toHex } from '../../core/crypto/hash.ts'
import { AllocationError, PendingLimitError } from '../../core/errors.ts'
import { decodeCertificate, issueCertificate } from '../../core/trust/certificate.ts'
import { AllocationSetTree, childTowards, DEFAULT_ABSENCE_TTL_MS } from '../../core/proof/absence.ts'
import type { SignedAllocationSet } from '../../core/proof/absence.ts'
import type { Permission } from '../../core/trust/certificate.ts'
import { CERTIFICATE_BACKDATE_MS, DEFAULT_CERTIFICATE_VALIDITY_MS, DEFAULT_INVITATION_VALIDITY_MS, DEFAULT_PENDING_PER_KEY, DEFAULT_PENDING_PER_PEER, DEFAULT_PENDING_TOTAL } from './index.ts'
import type { AllocatedOutcome, ApplyOutcome, Authority, AuthorityComponents, AuthorityInit, PreapprovedApplicant } from './index.ts'
import type { Logger } from '@libp2p/interface'

export class AuthorityService implements Authority {
  readonly namespace: string
  private readonly components: AuthorityComponents
  private readonly approval: 'auto' | 'manual'
  /** Preapproved applicants by key (hex) -> the code pinned for them, if any. */
  private readonly preapproved = new Map<string, string | undefined>()
  private readonly limits: { perKey: number, perPeer: number, total: number }
  /** What waits for the operator, counted by key and by peer; loaded from the store on first use. */
  private waiting: { total: number, byKey: Map<string, number>, byPeer: Map<string, number> } | undefined
  private readonly validityMs: number
  private readonly childPermissions: Permission[]
  private readonly log: Logger
  private readonly absenceTtlMs: number
  /** The allocation set as last signed, with its tree; dropped by every allocation. */
  private signedSet: { tree: AllocationSetTree, set: SignedAllocationSet } | undefined
  /** Allocation reads the table and then writes it: one at a time, so two applicants never get one code. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor (init: AuthorityInit, components: AuthorityComponents) {
    this.namespace = parseCode(components.namespace).text
    this.components = components
    // manual by default: a stranger who asks gets a place in the operator's queue, never a code (issue #16)
    this.approval = init.approval ?? 'manual'
    for (const p of init.preapproved ?? []) this.preapprove(p)
    this.limits = {
      perKey: init.pendingLimits?.perKey ?? DEFAULT_PENDING_PER_KEY,
      perPeer: init.pendingLimits?.perPeer ?? DEFAULT_PENDING_PER_PEER,
      total: init.pendingLimits?.total ?? DEFAULT_PENDING_TOTAL
    }
    this.validityMs = init.certificateValidityMs ?? DEFAULT_CERTIFICATE_VALIDITY_MS
    this.childPermissions = init.childPermissions ?? ['sign', 'delegate']
    this.log = components.logger.forComponent('citycode:authority')
    this.absenceTtlMs = init.absenceTtlMs ?? DEFAULT_ABSENCE_TTL_MS
  }

  async apply (bytes: Uint8Array, from: { peer?: string } = {}): Promise<ApplyOutcome> {
    const application = decodeApplication(bytes)
    verifyApplication(application)
    if (application.body.parent !== this.namespace) {
      throw new AllocationError(`this authority holds ${this.namespace}, not ${application.body.parent}`, { namespace: this.namespace, parent: application.body.parent })
    }
    return await this.serialised(async () => {
      const existing = await this.components.store.bySubject(application.body.subject)
      if (existing !== undefined) return this.outcome(existing.code, existing.certificate, true)
      const key = toHex(application.body.subject)
      const id = toHex(sha256(application.bytes)).slice(0, 16)
      const named = this.approval === 'auto' ? this.namedApplicant(application) : undefined
      if (named !== undefined) {
        const outcome = await this.allocate(application, named.code)
        // queued before the operator named the key: the place is free now
        const queued = await this.components.store.getPending(id)
        if (queued !== undefined) {
          await this.components.store.deletePending(id)
          this.uncount(queued)
        }
        return outcome
      }
      if (await this.components.store.isRejected(id)) throw new AllocationError(`application ${id} was rejected by the operator of ${this.namespace}`, { id, rejected: true })
      if (await this.components.store.getPending(id) === undefined) {
        await this.checkPendingBounds(key, from.peer)
        await this.components.store.putPending({ id, application: application.bytes, receivedAt: this.components.now(), ...(from.peer !== undefined ? { peer: from.peer } : {}) })
        this.count(key, from.peer, 1)
        this.log('application %s from %s queued for approval', id, application.body.name)
      }
      return { status: 'pending', id }
    })
  }

  /**
   * Whether the operator named this applicant: its key listed, or an invitation it presents that
   * this authority signed for its key (InvitationError when it presents one that does not admit it).
   */
  private namedApplicant (application: Application): { code: string | undefined } | undefined {
    const key = toHex(application.body.subject)
    if (this.preapproved.has(key)) return { code: this.preapproved.get(key) }
    if (application.body.invitation === undefined) return undefined
    const invitation = verifyInvitation(decodeInvitation(application.body.invitation), {
      authorityKey: this.components.signer.publicKey,
      namespace: this.namespace,
      subject: application.body.subject,
      now: this.components.now()
    })
    return { code: invitation.body.code ?? undefined }
  }

  invite (request: { key: Uint8Array, code?: string, validForMs?: number }): Uint8Array {
    const code = request.code === undefined ? null : this.checkedPin(request.code)
    const validForMs = request.validForMs ?? DEFAULT_INVITATION_VALIDITY_MS
    if (!Number.isSafeInteger(validForMs) || validForMs <= 0) throw new AllocationError('an invitation is valid for a positive whole number of milliseconds', { validForMs })
    return createInvitation({ namespace: this.namespace, invitee: request.key, code, expiresAt: this.components.now() + validForMs }, this.components.signer).bytes
  }

  /** Refuses (PendingLimitError) an application that would pass a bound; inside `serialised`. */
  private async checkPendingBounds (key: string, peer: string | undefined): Promise<void> {
    const waiting = await this.loadWaiting()
    const refuse = (bound: string, limit: number): never => {
      throw new PendingLimitError(`too many applications wait for the operator of ${this.namespace} (${bound}: at most ${limit}); ask again once they are decided`, { bound, limit, namespace: this.namespace })
    }
    if ((waiting.byKey.get(key) ?? 0) >= this.limits.perKey) refuse('per key', this.limits.perKey)
    if (peer !== undefined && (waiting.byPeer.get(peer) ?? 0) >= this.limits.perPeer) refuse('per peer', this.limits.perPeer)
    if (waiting.total >= this.limits.total) refuse('total', this.limits.total)
  }

  private async loadWaiting (): Promise<{ total: number, byKey: Map<string, number>, byPeer: Map<string, number> }> {
    if (this.waiting !== undefined) return this.waiting
    this.waiting = { total: 0, byKey: new Map(), byPeer: new Map() }
    for await (const p of this.components.store.listPending()) {
      // a damaged entry still takes a place in the total (it is in the operator's list), under no key
      let key = ''
      try { key = toHex(decodeApplication(p.application).body.subject) } catch {}
      this.count(key, p.peer, 1)
    }
    return this.waiting
  }

  private count (key: string, peer: string | undefined, delta: number): void {
    const w = this.waiting
    if (w === undefined) return
    w.total += delta
    const bump = (m: Map<string, number>, k: string): void => {
      const n = (m.get(k) ?? 0) + delta
      if (n <= 0) m.delete(k)
      else m.set(k, n)
    }
    bump(w.byKey, key)
    if (peer !== undefined) bump(w.byPeer, peer)
  }

  /** A pending entry left the queue (approved or rejected). */
  private uncount (pending: { application: Uint8Array, peer?: string }): void {
    if (this.waiting === undefined) return
    let key = ''
    try { key = toHex(decodeApplication(pending.application).body.subject) } catch {}
    this.count(key, pending.peer, -1)
  }

  preapprove (applicant: PreapprovedApplicant): void {
    this.preapproved.set(toHex(applicant.key), applicant.code === undefined ? undefined : this.checkedPin(applicant.code))
  }

  /** A code the operator pins for a named applicant: a direct child of this namespace that passes the rule. */
  private checkedPin (text: string): string {
    const pinned = parseCode(text)
    if (parent(pinned)?.text !== this.namespace) throw new AllocationError(`code ${pinned.text} is not a direct child of ${this.namespace}`, { code: pinned.text, namespace: this.namespace })
    checkAllocationRule(pinned)
    return pinned.text
  }

  async approve (id: string, options: { reinstate?: boolean } = {}): Promise<ApplyOutcome> {
    return await this.serialised(async () => {
      const pending = await this.components.store.getPending(id)
      if (pending === undefined) throw new AllocationError(`no pending application ${id}`, { id })
      const application = decodeApplication(pending.application)
      const existing = await this.components.store.bySubject(application.body.subject)
      const outcome = existing !== undefined
        ? this.outcome(existing.code, existing.certificate, true)
        : options.reinstate === true ? await this.reinstateApplicant(application) : await this.allocate(application).catch((err: unknown) => { throw withReinstateHint(err) })
      await this.components.store.deletePending(id)
      this.uncount(pending)
      return outcome
    })
  }

  async reinstate (code: string, subject: Uint8Array, options: { next?: Uint8Array | null } = {}): Promise<AllocatedOutcome> {
    const canonical = this.checkedPin(code)
    return await this.serialised(async () => await this.recertify(canonical, subject, options.next ?? null))
  }

  /** The code an application names by its official code, re-certified to its key if another holds it; inside `serialised`. */
  private async reinstateApplicant (application: Application): Promise<AllocatedOutcome> {
    const code = this.namedCode(application)
    if (!(await this.components.store.codes()).has(code)) return await this.allocate(application, code)
    return await this.recertify(code, application.body.subject, application.body.next)
  }

  /** The one code an application's official code maps to here, allocated or not. */
  private namedCode (application: Application): string {
    const depth = parseCode(this.namespace).segments.length
    const official = application.body.officialCode ?? undefined
    const named = official === undefined
      ? undefined
      : depth === AGENCY_DEPTH ? countryCode(this.namespace, official) : depth === COUNTRY_DEPTH ? allocateCityOrUndefined(this.namespace, official) : undefined
    if (named === undefined) {
      throw new AllocationError(`the application names no code of ${this.namespace} by an official code: re-certify the code by name (citycode reinstate CODE --key KEY)`, { namespace: this.namespace, officialCode: official ?? null })
    }
    return named
  }

  /** Inside `serialised`. */
  private async recertify (code: string, subject: Uint8Array, next: Uint8Array | null): Promise<AllocatedOutcome> {
    const previous = await this.components.store.get(code)
    if (previous === undefined) throw new AllocationError(`${code} is not allocated: there is nothing to re-certify`, { code })
    if (equalBytes(previous.subject, this.components.signer.publicKey)) throw new AllocationError(`${code} is held by this authority's own key, not by a child`, { code })
    if (equalBytes(previous.subject, subject)) return this.outcome(code, previous.certificate, true)
    const holding = await this.components.store.bySubject(subject)
    if (holding !== undefined) throw new AllocationError(`that key already holds ${holding.code}`, { code, held: holding.code })
    const replaced = decodeCertificate(previous.certificate)
    const now = this.components.now()
    const certificate = issueCertificate({
      namespace: code,
      subject,
      // a higher serial: every verifier and the log tell the new certificate from the one it replaces
      serial: replaced.body.serial + 1,
      notBefore: now - CERTIFICATE_BACKDATE_MS,
      notAfter: now + this.validityMs,
      perms: this.childPermissions,
      next
    }, [this.components.signer])
    await this.components.store.reassign(previous, { ...previous, subject, certificate: certificate.bytes, allocatedAt: now })
    await this.components.onAllocated?.({ code, certificate: certificate.bytes })
    this.signedSet = undefined
    this.log('re-certified %s to another key (serial %d)', code, certificate.body.serial)
    return { status: 'allocated', code, certificate: certificate.bytes, chain: [...this.components.chain, certificate.bytes], duplicate: false, replaced: previous.certificate }
  }

  async reject (id: string): Promise<void> {
    // serialised with approve, so an application is never both allocated and rejected
    await this.serialised(async () => {
      const pending = await this.components.store.getPending(id)
      if (pending === undefined) throw new AllocationError(`no pending application ${id}`, { id })
      await this.components.store.rejectPending(id, this.components.now())
      this.uncount(pending)
      this.log('application %s rejected', id)
    })
  }

  async pending (): Promise<Array<{ id: string, name: string, officialCode: string | null, receivedAt: number }>> {
    const out = []
    for await (const p of this.components.store.listPending()) {
      const a = decodeApplication(p.application)
      out.push({ id: p.id, name: a.body.name, officialCode: a.body.officialCode, receivedAt: p.receivedAt })
    }
    return out
  }

  async allocateOwn (name: string): Promise<string> {
    return await this.serialised(async () => {
      const code = allocateSub(this.namespace, await this.components.store.codes())
      // An own sub-code is held by this authority's key under its own certificate (its chain's last link).
      const certificate = this.components.chain.at(-1) ?? new Uint8Array(0)
      await this.components.store.put({ code, subject: this.components.signer.publicKey, name, officialCode: null, certificate, allocatedAt: this.components.now() }, false)
      await this.components.onAllocated?.({ code, certificate })
      this.signedSet = undefined
      return code
    })
  }

  async writeOwnBatch<T> (write: () => Promise<T>): Promise<T> {
    return await this.serialised(async () => {
      try {
        return await write()
      } finally {
        // also after a failed write: part of it may be stored
        this.signedSet = undefined
      }
    })
  }

  async proveAbsence (code: string): Promise<Uint8Array | undefined> {
    const target = childTowards(this.namespace, code)
    return await this.serialised(async () => {
      const age = this.signedSet === undefined ? Infinity : this.components.now() - this.signedSet.set.body.time
      if (age >= this.absenceTtlMs / 2) await this.signAllocationSet()
      const { tree, set } = this.signedSet as { tree: AllocationSetTree, set: SignedAllocationSet }
      if (tree.has(target)) return undefined
      return tree.proveAbsence(set, target).bytes
    })
  }

  /** Signs the current allocation set (inside `serialised`, so no allocation can slip in between reading and signing). */
  private async signAllocationSet (): Promise<void> {
    const tree = new AllocationSetTree(this.namespace, await this.components.store.codes())
    this.signedSet = { tree, set: tree.sign(this.components.signer, this.components.chain, this.components.now(), this.absenceTtlMs) }
  }

  async allocations (): Promise<Array<{ code: string, name: string, allocatedAt: number }>> {
    const out = []
    for await (const a of this.components.store.list()) out.push({ code: a.code, name: a.name, allocatedAt: a.allocatedAt })
    return out.sort((a, b) => a.code < b.code ? -1 : 1)
  }

  async allocation (code: string): Promise<{ code: string, name: string, allocatedAt: number } | undefined> {
    const a = await this.components.store.get(code)
    return a === undefined ? undefined : { code: a.code, name: a.name, allocatedAt: a.allocatedAt }
  }

  private async allocate (application: Application, pinned?: string): Promise<AllocatedOutcome> {
    const code = pinned !== undefined ? await this.pinnedCode(pinned) : await this.chooseCode(application)
    const now = this.components.now()
    const certificate = issueCertificate({
      namespace: code,
      subject: application.body.subject,
      serial: 1,
      notBefore: now - CERTIFICATE_BACKDATE_MS,
      notAfter: now + this.validityMs,
      perms: this.childPermissions,
      next: application.body.next
    }, [this.components.signer])
    await this.components.store.put({ code, subject: application.body.subject, name: application.body.name, officialCode: application.body.officialCode, certificate: certificate.bytes, allocatedAt: now })
    await this.components.onAllocated?.({ code, certificate: certificate.bytes })
    // the signed set no longer covers the table: the next not-found signs a new one, so a set
    // served after an allocation always includes it (and a busy authority does not rebuild the
    // tree on every allocation)
    this.signedSet = undefined
    this.log('allocated %s to %s', code, application.body.name)
    return this.outcome(code, certificate.bytes, false)
  }

  /** The code the operator named for a preapproved applicant, while nobody else holds it. */
  private async pinnedCode (code: string): Promise<string> {
    if ((await this.components.store.codes()).has(code)) throw new AllocationError(`${code} is already allocated to another key`, { code })
    return code
  }

  private async chooseCode (application: Application): Promise<string> {
    const depth = parseCode(this.namespace).segments.length
    const allocated = await this.components.store.codes()
    const official = application.body.officialCode ?? undefined
    if (depth === AGENCY_DEPTH) {
      if (official === undefined) throw new AllocationError('a country application must name its ISO 3166-1 code', { namespace: this.namespace })
      const code = countryCode(this.namespace, official)
      if (allocated.has(code)) throw new AllocationError(`${code} is already allocated to another key`, { code })
      return code
    }
    if (depth === COUNTRY_DEPTH) return allocateCity(this.namespace, allocated, official)
    return allocateSub(this.namespace, allocated)
  }

  private outcome (code: string, certificate: Uint8Array, duplicate: boolean): AllocatedOutcome {
    return { status: 'allocated', code, certificate, chain: [...this.components.chain, certificate], duplicate }
  }

  private async serialised<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => undefined)
    return await run
  }
}

/** The city code a national division code names (a scheme country), or undefined where codes are serials. */
function allocateCityOrUndefined (countryNamespace: string, officialCode: string): string | undefined {
  try {
    return allocateCity(countryNamespace, new Set(), officialCode)
  } catch {
    return undefined
  }
}

/** A code held by another key: the operator may mean a holder that lost its key, so say how to consent to that. */
function withReinstateHint (err: unknown): unknown {
  if (!(err instanceof AllocationError) || typeof err.details.code !== 'string') return err
  return new AllocationError(`${err.message}: if this applicant is its holder with a new key (a lost data directory), approve it with --reinstate`, { ...err.details, reinstate: true })
}
