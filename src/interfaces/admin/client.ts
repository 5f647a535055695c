import { request as httpRequest } from 'node:http'
import type { z } from 'zod'
import * as coreErrors from '../../core/errors.ts'
import { CitycodeError } from '../../core/errors.ts'
import type { ErrorDetails } from '../../core/errors.ts'
import * as adminErrors from '../../services/admin/errors.ts'
import type { AdminOperations, Decision, InvitationResult, InviteRequest, NodeStatus, PendingApplicationView, ProofResult, ProveRequest, PublishOutcome, PublishRequest, RegisterBatchRequest, ReinstateRequest, ReinstateResult, RevocationResult, RevokeRequest, RotationResult } from '../../services/admin/index.ts'
import type { BulkReport } from '../../services/authority/bulk-register.ts'
import { DEFAULT_PROVE_TIMEOUT_MS } from '../../services/admin/index.ts'
import * as serviceErrors from '../../services/errors.ts'
import { NotAllocatedError } from '../../services/errors.ts'
import * as storageErrors from '../../storage/errors.ts'
import * as exchangeErrors from '../../core/catalogue/errors.ts'
import type { AccessPolicy } from '../../core/catalogue/catalogue.ts'
import type { ExchangeLogRequest, ExchangeLogResult, FetchRequest, ShareAddRequest, ShareRemoveRequest, ShareResult } from '../../services/admin/index.ts'
import { DEFAULT_FETCH_TIMEOUT_MS } from '../../services/exchange/index.ts'
import type { FetchResult } from '../../services/exchange/index.ts'
import * as interfaceErrors from './errors.ts'
import { AdminProtocolError, AdminUnavailableError } from './errors.ts'
import { ADMIN_PATH, ADMIN_PROTOCOL_VERSION, ADMIN_RESPONSE_MAX_BYTES, answerSchema, exchangeResultSchemas, resultSchemas } from './protocol.ts'
import type { AdminRequest, AdminWireError } from './protocol.ts'

/** A status, pending list or decision answers in well under a second; the authority's queue may hold it behind live applications. */
export const ADMIN_CALL_TIMEOUT_MS = 30_000
/** A prove resolves its code first: its own deadline plus this. */
export const ADMIN_PROVE_MARGIN_MS = 10_000
/** A share imports its file (hashing every chunk) before it answers. */
export const ADMIN_SHARE_TIMEOUT_MS = 10 * 60_000

type ErrorClass = new (message: string, details?: ErrorDetails) => CitycodeError
const byName = new Map<string, ErrorClass>()
for (const module of [coreErrors, serviceErrors, storageErrors, adminErrors, interfaceErrors, exchangeErrors, { NotAllocatedError }]) {
  for (const value of Object.values(module)) {
    if (typeof value === 'function' && value.prototype instanceof CitycodeError) byName.set(value.name, value as unknown as ErrorClass)
  }
}

function accessToWire (access: AccessPolicy | undefined): { kind: 'public' } | { kind: 'namespace', namespace: string } | { kind: 'codes', codes: string[] } | undefined {
  if (access === undefined) return undefined
  return access.kind === 'codes' ? { kind: 'codes', codes: [...access.codes] } : access
}

/** A typed error of the node that this build has no class for: its name and code are kept, so callers still branch on them. */
export class RemoteAdminError extends CitycodeError {
  static override readonly code = 'ERR_REMOTE'

  constructor (wire: AdminWireError) {
    super(wire.message, wire.details)
    this.name = wire.name
    Object.defineProperty(this, 'code', { value: wire.code })
  }
}

/** Re-raises the node's typed refusal as the same class here, so the CLI reports it as if it had been made locally. */
export function errorFromAdminWire (wire: AdminWireError): CitycodeError {
  const Class = byName.get(wire.name)
  return Class !== undefined ? new Class(wire.message, wire.details) : new RemoteAdminError(wire)
}

export interface AdminClientOptions {
  /** @default ADMIN_CALL_TIMEOUT_MS */
  timeoutMs?: number
}

/** The admin operations of a running node, asked over its socket (docs/spec/admin.md). */
export class AdminClient implements AdminOperations {
  readonly path: string
  private readonly timeoutMs: number

  constructor (socketPath: string, options: AdminClientOptions = {}) {
    this.path = socketPath
    this.timeoutMs = options.timeoutMs ?? ADMIN_CALL_TIMEOUT_MS
  }

  async status (options: { timeoutMs?: number } = {}): Promise<NodeStatus> {
    return this.check(resultSchemas.status, await this.call({ op: 'status' }, options.timeoutMs ?? this.timeoutMs))
  }

  async pending (): Promise<PendingApplicationView[]> {
    return this.check(resultSchemas.pending, await this.call({ op: 'pending' }, this.timeoutMs))
  }

  async approve (ids: readonly string[], options: { reinstate?: boolean } = {}): Promise<Decision[]> {
    return this.check(resultSchemas.decisions, await this.call({ op: 'approve', ids: [...ids], ...(options.reinstate === true ? { reinstate: true } : {}) }, this.timeoutMs))
  }

  async rotate (): Promise<RotationResult> {
    return this.check(resultSchemas.rotate, await this.call({ op: 'rotate' }, this.timeoutMs))
  }

  async reinstate (request: ReinstateRequest): Promise<ReinstateResult> {
    return this.check(resultSchemas.reinstate, await this.call({ op: 'reinstate', code: request.code, key: request.key, ...(request.next !== undefined ? { next: request.next } : {}) }, this.timeoutMs))
  }

  async publish (request: PublishRequest): Promise<PublishOutcome> {
    return this.check(resultSchemas.publish, await this.call({ op: 'publish', ...(request.sub !== undefined ? { sub: request.sub } : {}), ...(request.values !== undefined ? { values: request.values.map(v => ({ name: v.name, value: v.value })) } : {}) }, this.timeoutMs))
  }

  async reject (ids: readonly string[]): Promise<Decision[]> {
    return this.check(resultSchemas.decisions, await this.call({ op: 'reject', ids: [...ids] }, this.timeoutMs))
  }

  async prove (request: ProveRequest): Promise<ProofResult> {
    const wait = (request.timeoutMs ?? DEFAULT_PROVE_TIMEOUT_MS) + ADMIN_PROVE_MARGIN_MS
    const wire = this.check(resultSchemas.prove, await this.call({ op: 'prove', code: request.code, ledger: request.ledger, timeoutMs: request.timeoutMs }, wait))
    return { ...wire, bytes: new Uint8Array(Buffer.from(wire.bytes, 'base64')) }
  }

  async revoke (request: RevokeRequest): Promise<RevocationResult> {
    const wait = (request.timeoutMs ?? DEFAULT_PROVE_TIMEOUT_MS) + ADMIN_PROVE_MARGIN_MS
    const wire = this.check(resultSchemas.revoke, await this.call({ op: 'revoke', code: request.code, reason: request.reason, revokedAt: request.revokedAt, timeoutMs: request.timeoutMs }, wait))
    return { ...wire, bytes: new Uint8Array(Buffer.from(wire.bytes, 'base64')) }
  }

  async invite (request: InviteRequest): Promise<InvitationResult> {
    const wire = this.check(resultSchemas.invite, await this.call({ op: 'invite', key: request.key, ...(request.code !== undefined ? { code: request.code } : {}), ...(request.validDays !== undefined ? { validDays: request.validDays } : {}) }, this.timeoutMs))
    return { ...wire, bytes: new Uint8Array(Buffer.from(wire.bytes, 'base64')) }
  }

  async registerBatch (request: RegisterBatchRequest): Promise<BulkReport> {
    // one chunk of lines per call; a chunk of 1000 is signed and logged in well under a second
    return this.check(resultSchemas.registerBatch, await this.call({ op: 'register-batch', lines: [...request.lines], ...(request.check === true ? { check: true } : {}) }, this.timeoutMs))
  }

  async shareAdd (request: ShareAddRequest): Promise<ShareResult> {
    // importing a large file takes the node a while: hashing runs at a few hundred MB/s
    return this.check(exchangeResultSchemas.share, await this.call({ op: 'share-add', ...request, access: accessToWire(request.access) }, ADMIN_SHARE_TIMEOUT_MS))
  }

  async shareList (): Promise<ShareResult[]> {
    return this.check(exchangeResultSchemas.shares, await this.call({ op: 'share-list' }, this.timeoutMs))
  }

  async shareRemove (request: ShareRemoveRequest): Promise<ShareResult> {
    return this.check(exchangeResultSchemas.share, await this.call({ op: 'share-remove', ...request }, this.timeoutMs))
  }

  async fetch (request: FetchRequest): Promise<FetchResult> {
    const wait = (request.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS) + ADMIN_PROVE_MARGIN_MS
    return this.check(exchangeResultSchemas.fetch, await this.call({ op: 'fetch', ...request }, wait))
  }

  async exchangeLog (request: ExchangeLogRequest): Promise<ExchangeLogResult> {
    return this.check(exchangeResultSchemas.log, await this.call({ op: 'exchange-log', ...request }, this.timeoutMs))
  }

  private check<S extends z.ZodType> (schema: S, result: unknown): z.infer<S> {
    const parsed = schema.safeParse(result)
    if (!parsed.success) throw new AdminProtocolError(`the node at ${this.path} answered a result this client does not understand (another citycode version?)`, { path: this.path })
    return parsed.data
  }

  /** One request, one answer; refusals come back as their typed errors, an unreachable socket as AdminUnavailableError. */
  private async call (body: AdminRequest, timeoutMs: number): Promise<unknown> {
    const payload = JSON.stringify(body)
    const { status, text } = await new Promise<{ status: number, text: string }>((resolve, reject) => {
      const req = httpRequest({
        socketPath: this.path,
        path: ADMIN_PATH,
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        signal: AbortSignal.timeout(timeoutMs)
      }, (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > ADMIN_RESPONSE_MAX_BYTES) {
            res.destroy()
            reject(new AdminProtocolError(`the answer of ${this.path} is over ${ADMIN_RESPONSE_MAX_BYTES} bytes`, { path: this.path }))
            return
          }
          chunks.push(chunk)
        })
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }) })
        res.on('error', (err) => { reject(this.unavailable(err)) })
      })
      req.on('error', (err) => { reject(this.unavailable(err)) })
      req.end(payload)
    })
    let raw: unknown
    try {
      raw = JSON.parse(text)
    } catch {
      throw new AdminProtocolError(`${this.path} answered HTTP ${status} without a JSON body: is it a citycode admin socket?`, { path: this.path, status })
    }
    const answer = answerSchema.safeParse(raw)
    if (!answer.success) throw new AdminProtocolError(`${this.path} answered HTTP ${status} with a body that is not an admin answer`, { path: this.path, status })
    if (answer.data.v !== ADMIN_PROTOCOL_VERSION) throw new AdminProtocolError(`${this.path} speaks admin protocol version ${answer.data.v}, this client ${ADMIN_PROTOCOL_VERSION}`, { path: this.path, version: answer.data.v })
    if ('error' in answer.data) throw errorFromAdminWire(answer.data.error)
    return answer.data.result
  }

  private unavailable (err: Error): AdminUnavailableError {
    const e = err as NodeJS.ErrnoException
    const reason = e.name === 'AbortError' || e.name === 'TimeoutError' ? 'timeout' : (e.code ?? e.message)
    return new AdminUnavailableError(`the admin socket ${this.path} does not answer (${reason})`, { path: this.path, reason })
  }
}
