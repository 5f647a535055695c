import { join } from 'node:path'
import { z } from 'zod'
import type { ErrorDetails } from '../../core/errors.ts'
import { APPLICATION_ID, MAX_IDS_PER_REQUEST, MAX_INVITATION_DAYS, MAX_PROVE_TIMEOUT_MS } from '../../services/admin/index.ts'
import type { BulkReport } from '../../services/authority/bulk-register.ts'
import type { Decision, InvitationResult, NodeStatus, PendingApplicationView, ProofResult, PublishOutcome, ReinstateResult, RevocationResult, RotationResult } from '../../services/admin/index.ts'
import { MAX_FETCH_TIMEOUT_MS, MAX_LOG_ENTRIES_PER_REQUEST } from '../../services/admin/index.ts'
import type { ExchangeLogResult, ShareResult } from '../../services/admin/index.ts'
import type { FetchResult } from '../../services/exchange/index.ts'

/**
 * The admin protocol (docs/spec/admin.md), version 1: HTTP/1.1 over a Unix domain socket, one JSON
 * request per `POST /v1`, one JSON answer. The socket file's mode (0600) is the access control: only
 * the node's own user can connect, so there is no token and no network port.
 */
export const ADMIN_PROTOCOL_VERSION = 1
export const ADMIN_PATH = '/v1'
/** The socket file's name in the data directory, unless the config names another path. */
export const ADMIN_SOCKET_NAME = 'admin.sock'
/** Request bodies above this are refused (413): the largest real request, 256 ids, is about 5 KiB. */
export const ADMIN_REQUEST_MAX_BYTES = 16 * 1024
/** Request line and headers together: a client needs a few dozen bytes of them. */
export const ADMIN_HEADER_MAX_BYTES = 8 * 1024
/** A client that has not sent its whole request (headers and body) by then is cut off. */
export const ADMIN_REQUEST_TIMEOUT_MS = 10_000
/**
 * How often the socket looks for requests past that limit. node:http's default is 30 s, which let a
 * body dripped over 24.7 s through a 10 s limit; at most 16 connections make a frequent look cheap.
 */
export const ADMIN_TIMEOUT_CHECK_INTERVAL_MS = 250
/** One operator, a few commands at a time; more connections than this are refused by the socket. */
export const ADMIN_MAX_CONNECTIONS = 16
/** Answers above this are not read by the client (a bundle is a few KiB). */
export const ADMIN_RESPONSE_MAX_BYTES = 1024 * 1024
/** Linux's limit for a Unix socket path (sun_path, 108 bytes with its terminating NUL). */
export const UNIX_SOCKET_PATH_MAX_BYTES = 107

export function defaultSocketPath (dataDir: string): string {
  return join(dataDir, ADMIN_SOCKET_NAME)
}

export const ADMIN_OPS = ['status', 'pending', 'approve', 'reject', 'prove', 'revoke', 'invite', 'register-batch', 'share-add', 'share-list', 'share-remove', 'fetch', 'exchange-log', 'rotate', 'reinstate', 'publish'] as const
export type AdminOp = typeof ADMIN_OPS[number]

export function isAdminOp (op: string): op is AdminOp {
  return (ADMIN_OPS as readonly string[]).includes(op)
}

const applicationId = z.string().regex(APPLICATION_ID, 'must be an application id: 16 lower-case hex characters')
const ids = z.array(applicationId).min(1).max(MAX_IDS_PER_REQUEST)
const code = z.string().min(1).max(64)
const datasetName = z.string().min(1).max(64)
const accessPolicy = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('public') }).strict(),
  z.object({ kind: z.literal('namespace'), namespace: code }).strict(),
  z.object({ kind: z.literal('codes'), codes: z.array(code).min(1).max(256) }).strict()
])

/** The arguments of each operation; unknown fields are refused so a typo is never silently ignored. */
export const requestSchemas = {
  status: z.object({ op: z.literal('status') }).strict(),
  pending: z.object({ op: z.literal('pending') }).strict(),
  approve: z.object({ op: z.literal('approve'), ids, reinstate: z.boolean().optional() }).strict(),
  reject: z.object({ op: z.literal('reject'), ids }).strict(),
  prove: z.object({
    op: z.literal('prove'),
    code: z.string().min(1).max(64),
    ledger: z.boolean().optional(),
    timeoutMs: z.number().int().min(1).max(MAX_PROVE_TIMEOUT_MS).optional()
  }).strict(),
  revoke: z.object({
    op: z.literal('revoke'),
    code: z.string().min(1).max(64),
    reason: z.string().min(1).max(256),
    revokedAt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    timeoutMs: z.number().int().min(1).max(MAX_PROVE_TIMEOUT_MS).optional()
  }).strict(),
  invite: z.object({
    op: z.literal('invite'),
    key: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex characters (an Ed25519 key)'),
    code: z.string().min(1).max(64).optional(),
    validDays: z.number().int().min(1).max(MAX_INVITATION_DAYS).optional()
  }).strict(),
  // a batch crosses the socket in requests under ADMIN_REQUEST_MAX_BYTES: the client checks every
  // chunk first (`check`), then writes them, so a conflict in the last chunk still writes nothing
  'register-batch': z.object({
    op: z.literal('register-batch'),
    lines: z.array(z.object({
      line: z.number().int().min(1),
      code: z.string().min(1).max(64),
      name: z.string().max(256),
      type: z.string().max(64),
      values: z.record(z.string().max(64), z.string().max(1024))
    }).strict()).min(1).max(1000),
    check: z.boolean().optional()
  }).strict(),
  'share-add': z.object({
    op: z.literal('share-add'),
    path: z.string().min(1).max(4096),
    name: datasetName,
    code: code.optional(),
    access: accessPolicy.optional(),
    mediaType: z.string().max(128).optional(),
    licence: z.string().max(128).optional(),
    description: z.string().max(4096).optional()
  }).strict(),
  'share-list': z.object({ op: z.literal('share-list') }).strict(),
  'share-remove': z.object({ op: z.literal('share-remove'), name: datasetName, code: code.optional() }).strict(),
  fetch: z.object({
    op: z.literal('fetch'),
    code,
    name: datasetName,
    out: z.string().min(1).max(4096).optional(),
    timeoutMs: z.number().int().min(1).max(MAX_FETCH_TIMEOUT_MS).optional()
  }).strict(),
  'exchange-log': z.object({
    op: z.literal('exchange-log'),
    from: z.number().int().min(0).optional(),
    limit: z.number().int().min(1).max(MAX_LOG_ENTRIES_PER_REQUEST).optional()
  }).strict(),
  rotate: z.object({ op: z.literal('rotate') }).strict(),
  reinstate: z.object({
    op: z.literal('reinstate'),
    code: z.string().min(1).max(64),
    key: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex characters (an Ed25519 key)'),
    next: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex characters (a SHA-256)').optional()
  }).strict(),
  publish: z.object({
    op: z.literal('publish'),
    sub: z.string().min(1).max(256).optional(),
    values: z.array(z.object({ name: z.string().min(1).max(64), value: z.string().max(1024) }).strict()).max(32).optional()
  }).strict()
} satisfies Record<AdminOp, z.ZodType>

export type AdminRequest = { [K in AdminOp]: z.infer<typeof requestSchemas[K]> }[AdminOp]

/** A typed error as it crosses the socket: its stable name and code, message and details; never a stack. */
export interface AdminWireError {
  name: string
  code: string
  message: string
  details: ErrorDetails
}

export type AdminAnswer = { v: number, result: unknown } | { v: number, error: AdminWireError }

/** The proof result on the wire: bundle bytes in base64. */
export interface ProofResultWire extends Omit<ProofResult, 'bytes'> { bytes: string }

/** The revocation result on the wire: its bytes in base64. */
export interface RevocationResultWire extends Omit<RevocationResult, 'bytes'> { bytes: string }

/** The invitation on the wire: its bytes in base64. */
export interface InvitationResultWire extends Omit<InvitationResult, 'bytes'> { bytes: string }

export function invitationToWire (r: InvitationResult): InvitationResultWire {
  return { ...r, bytes: Buffer.from(r.bytes).toString('base64') }
}

export function revocationToWire (r: RevocationResult): RevocationResultWire {
  return { ...r, bytes: Buffer.from(r.bytes).toString('base64') }
}

export function proofToWire (p: ProofResult): ProofResultWire {
  return { ...p, bytes: Buffer.from(p.bytes).toString('base64') }
}

const wireError = z.object({ name: z.string().max(64), code: z.string().max(64), message: z.string().max(1024) })

/** What each operation answers, as the client checks it: a node of another build is caught here, not in the CLI's output. */
export const resultSchemas = {
  status: z.object({ role: z.string(), namespace: z.string().nullable(), peerId: z.string(), approval: z.enum(['auto', 'manual']).nullable() }) satisfies z.ZodType<NodeStatus>,
  pending: z.array(z.object({ id: z.string(), name: z.string(), officialCode: z.string().nullable(), receivedAt: z.number() })) satisfies z.ZodType<PendingApplicationView[]>,
  decisions: z.array(z.discriminatedUnion('status', [
    z.object({ id: z.string(), status: z.literal('allocated'), code: z.string(), duplicate: z.boolean() }),
    z.object({ id: z.string(), status: z.literal('pending') }),
    z.object({ id: z.string(), status: z.literal('rejected') }),
    z.object({ id: z.string(), status: z.literal('failed'), error: wireError })
  ])) satisfies z.ZodType<Decision[]>,
  prove: z.object({
    code: z.string(),
    bytes: z.base64(),
    text: z.string(),
    madeAt: z.number(),
    ledger: z.object({ log: z.string(), index: z.number(), size: z.number(), cosignatures: z.number() }).nullable()
  }) satisfies z.ZodType<ProofResultWire>,
  revoke: z.object({ code: z.string(), bytes: z.base64(), revokedAt: z.number(), reason: z.string(), ledgerIndex: z.number().nullable() }) satisfies z.ZodType<RevocationResultWire>,
  registerBatch: z.object({
    total: z.number(),
    registered: z.number(),
    already: z.number(),
    outcomes: z.array(z.object({ line: z.number(), code: z.string(), status: z.enum(['registered', 'already']) }))
  }) satisfies z.ZodType<BulkReport>,
  invite: z.object({ namespace: z.string(), key: z.string(), code: z.string().nullable(), expiresAt: z.number(), bytes: z.base64() }) satisfies z.ZodType<InvitationResultWire>,
  rotate: z.object({ code: z.string(), key: z.string(), previousKey: z.string(), serial: z.number(), ledgerIndex: z.number().nullable(), republished: z.number() }) satisfies z.ZodType<RotationResult>,
  reinstate: z.object({ code: z.string(), key: z.string(), serial: z.number(), revokedPrevious: z.boolean(), duplicate: z.boolean() }) satisfies z.ZodType<ReinstateResult>,
  publish: z.object({ code: z.string(), seq: z.number(), dhtPeers: z.number() }) satisfies z.ZodType<PublishOutcome>
}

const shareResult = z.object({
  code: z.string(), catalogue: z.string(), seq: z.number(), name: z.string(), version: z.number(), cid: z.string(), size: z.number(), mediaType: z.string(), licence: z.string(), description: z.string(), access: z.string()
}) satisfies z.ZodType<ShareResult>

/** The exchange's answers (issue #19), as the client checks them. */
export const exchangeResultSchemas = {
  share: shareResult,
  shares: z.array(shareResult),
  fetch: z.object({
    code: z.string(), dataset: z.string(), cid: z.string(), size: z.number(), mediaType: z.string(), licence: z.string(), provider: z.string(),
    blocks: z.number(), bytes: z.number(), alreadyHeld: z.number(), receipts: z.number(), out: z.string().nullable(), logSeq: z.number()
  }) satisfies z.ZodType<FetchResult>,
  log: z.object({
    entries: z.array(z.object({
      seq: z.number(), role: z.enum(['served', 'fetched']), time: z.number(), peer: z.string(), requester: z.string(), provider: z.string(), dataset: z.string(),
      root: z.string(), bytes: z.number(), policy: z.string(), requests: z.number(), receipts: z.number(), outcome: z.string(), hash: z.string()
    })),
    verified: z.object({ entries: z.number(), head: z.string().nullable() })
  }) satisfies z.ZodType<ExchangeLogResult>
}

export const answerSchema = z.union([
  z.object({ v: z.number(), result: z.unknown() }).strict(),
  z.object({ v: z.number(), error: z.object({ name: z.string().max(64), code: z.string().max(64), message: z.string().max(1024), details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}) }) }).strict()
])
