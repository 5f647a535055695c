import { z } from 'zod'
import { isCode } from '../../core/code/grammar.ts'
import { DEFAULT_CONNECTION_LIMITS } from '../gateway/constants.ts'
import type { GatewayConnectionLimits } from '../gateway/constants.ts'

/**
 * Node configuration (configs/*.json). Precedence, resolved in one place (load.ts): command-line
 * flags > environment (CITYCODE_*) > config file > defaults. A bad config names the bad field.
 */
const hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex characters (a 32-byte Ed25519 key)')
const code = z.string().refine(isCode, 'must be a canonical code such as MA.156.1301')
const rateBudget = z.union([z.literal(false), z.object({ perSecond: z.number().positive(), burst: z.number().int().min(1) }).strict()])
const CONNECTION_LIMIT_FIELDS = Object.keys(DEFAULT_CONNECTION_LIMITS) as Array<keyof GatewayConnectionLimits>

export const anchorSchema = z.object({
  name: z.string().min(1),
  namespace: code,
  keys: z.array(hex32).min(1),
  threshold: z.number().int().min(1)
}).strict().refine(a => a.threshold <= a.keys.length, { message: 'threshold must not exceed the number of keys', path: ['threshold'] })

export const valueSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('name'), lang: z.string().max(16), value: z.string().max(1024) }).strict(),
  z.object({ type: z.literal('geo'), lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }).strict(),
  z.object({ type: z.literal('service'), name: z.string().max(64), url: z.string().max(1024) }).strict(),
  z.object({ type: z.literal('data'), name: z.string().max(64), value: z.string().max(1024) }).strict()
])

export const configSchema = z.object({
  /** root: holds the agency namespace (a trust anchor key); country / city: apply to a parent; resolver: DHT client only. */
  role: z.enum(['root', 'country', 'city', 'resolver']),
  /** Where LevelDB and the keychain live, relative to this config file (paths.ts); omitted: memory only (nothing survives a restart). */
  dataDir: z.string().min(1).optional(),
  transport: z.enum(['tcp', 'memory']).default('tcp'),
  listen: z.array(z.string()).default(['/ip4/127.0.0.1/tcp/0']),
  bootstrap: z.array(z.string()).default([]),
  anchors: z.array(anchorSchema).default([]),
  authority: z.object({
    /** The namespace this node holds (root: the agency, e.g. MA) or will apply for under `parent`. */
    namespace: code.optional(),
    /** The parent authority to apply to: its namespace and multiaddr (with /p2p/<peer id>). */
    parent: z.object({ namespace: code, addr: z.string().min(1) }).strict().optional(),
    name: z.string().min(1).max(256).optional(),
    /** ISO 3166-1 code for a country, national division code (GB/T 2260) for a Chinese city. */
    officialCode: z.string().max(16).optional(),
    /**
     * `manual` (default): every application waits for the operator (`citycode approve`). `auto`:
     * applications from the keys in `preapproved` are allocated at once; strangers still wait.
     */
    approval: z.enum(['auto', 'manual']).default('manual'),
    /** Applicants the operator names beforehand: their authority key and optionally the one code they may get. */
    preapproved: z.array(z.object({ key: hex32, code: code.optional(), name: z.string().max(256).optional() }).strict()).max(100_000).optional(),
    /** A file (relative to this config file) holding the invitation (`citycode invite --out`) the parent's operator made for this node's key; presented when applying. */
    invitation: z.string().min(1).optional(),
    /** Bounds of the queue of applications waiting for the operator; past one an application is refused and not stored. */
    pendingLimits: z.object({ perKey: z.number().int().min(1).optional(), perPeer: z.number().int().min(1).optional(), total: z.number().int().min(1).optional() }).strict().optional(),
    /** `node start` asks its parent about a pending application every `intervalMs`, doubling up to `maxIntervalMs`. */
    applyPoll: z.object({ intervalMs: z.number().int().min(10).default(1_000), maxIntervalMs: z.number().int().min(10).default(60_000) }).strict()
      .refine(p => p.intervalMs <= p.maxIntervalMs, { message: 'intervalMs must not exceed maxIntervalMs', path: ['intervalMs'] }).optional()
  }).strict().default({ approval: 'manual' }),
  /** Authority nodes to ask directly (e.g. the root): namespace and multiaddr with /p2p/<peer id>. */
  authorities: z.array(z.object({ namespace: code, addr: z.string().min(1) }).strict()).default([]),
  /** Values published in this node's own record besides its peer id and addresses. */
  values: z.array(valueSchema).default([]),
  /**
   * The running node's admin socket (docs/spec/admin.md), which `approve` and `prove` use; omitted:
   * `<dataDir>/admin.sock` (none for a node without a dataDir). A Unix socket path has at most 107 bytes.
   */
  adminSocket: z.string().min(1).max(107).optional(),
  /** HTTP gateway address, e.g. 127.0.0.1:8080; omitted: no gateway. */
  http: z.string().regex(/^[^:]+:\d{1,5}$/, 'must be HOST:PORT').optional(),
  /** The gateway's access log on stderr, one line (`text`) or one JSON object (`json`) per request; omitted: none. */
  httpAccessLog: z.enum(['off', 'text', 'json']).optional(),
  /**
   * Limits of the HTTP gateway (docs/GATEWAY.md, "Limits and headers"): request budgets per client
   * and for all clients (`false`: none), connection caps and deadlines; omitted fields keep their defaults.
   */
  httpLimits: z.object({
    rateLimit: rateBudget.optional(),
    globalRateLimit: rateBudget.optional(),
    connections: z.object(Object.fromEntries(CONNECTION_LIMIT_FIELDS.map(f => [f, z.number().int().min(1).optional()])) as Record<keyof GatewayConnectionLimits, z.ZodOptional<z.ZodNumber>>).strict()
      .refine(c => c.headersTimeoutMs === undefined || c.requestTimeoutMs === undefined || c.headersTimeoutMs <= c.requestTimeoutMs, { message: 'headersTimeoutMs must not exceed requestTimeoutMs', path: ['headersTimeoutMs'] }).optional()
  }).strict().optional(),
  /**
   * The authority ledger (docs/spec/ledger.md): `witnesses` this authority asks to cosign its heads,
   * whether this node is a `witness` itself, and, for every record it resolves, `requireCosignatures`
   * (k of the listed witness keys) and `requireInclusion` (a proof that the version is in its signer's log).
   */
  ledger: z.object({
    enabled: z.boolean().optional(),
    witnesses: z.array(z.object({ namespace: code.optional(), addr: z.string().min(1) }).strict()).optional(),
    witness: z.boolean().optional(),
    requireInclusion: z.boolean().optional(),
    requireCosignatures: z.object({ k: z.number().int().min(1), witnesses: z.array(hex32).min(1) }).strict()
      .refine(r => r.k <= r.witnesses.length, { message: 'k must not exceed the number of witnesses', path: ['k'] }).optional()
  }).strict().optional(),
  /**
   * For every record this node resolves: a revocation status statement (SPEC 4.6) from the issuer of
   * each link of its chain, no older than `maxAgeMs`, or the answer is refused. Omitted: not required.
   */
  revocationStatus: z.object({ maxAgeMs: z.number().int().min(1_000).max(7 * 86_400_000) }).strict().optional(),
  /** Environment variable that holds the keychain passphrase. */
  passphraseEnv: z.string().default('CITYCODE_PASSPHRASE')
}).strict()

export type NodeConfig = z.infer<typeof configSchema>
