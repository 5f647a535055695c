import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { CitycodeError } from '../../core/errors.ts'
import { parseWithSchema } from '../config/parse-with-schema.ts'

/** A scenario file that cannot be read or does not match the schema; `details.field` names the field. */
export class ScenarioError extends CitycodeError {
  static override readonly code = 'ERR_SCENARIO'
}

const share = z.number().min(0).max(1)

/**
 * A declarative simulation (simulations/*.json). A new scenario needs no code: everything the runner
 * does is chosen here.
 */
export const scenarioSchema = z.object({
  name: z.string().min(1),
  description: z.string().default(''),
  seed: z.number().int().min(0).default(1),
  /** Which real cities: Chinese GB/T 2260 cities (with coordinates where known), then the largest cities of these countries. */
  cities: z.object({
    count: z.number().int().min(1).max(5000),
    /** ISO 3166-1 alpha-2 countries to draw from, in order; `CN` uses GB/T 2260 codes. */
    countries: z.array(z.string().regex(/^[A-Z]{2}$/)).min(1).default(['CN']),
    minPopulation: z.number().int().min(0).default(0),
    /** `register`: every GB/T 2260 division (no coordinates); `gazetteer`: GeoNames cities with coordinates. */
    source: z.enum(['gazetteer', 'register']).default('gazetteer')
  }).strict(),
  resolvers: z.number().int().min(0).default(0),
  transport: z.enum(['memory', 'tcp']).default('memory'),
  /** `plaintext` is for scale runs only (shared/BASELINE.md: noise is about half the CPU). */
  encryption: z.enum(['noise', 'plaintext']).default('noise'),
  /**
   * Run each node's authority ledger (Merkle log, signed heads, monitoring). `false` for scale runs
   * only: docs/SIMULATION.md says why and what it changes.
   */
  ledger: z.boolean().default(true),
  /** Lean simulated nodes: fewer connections, slower DHT self-queries (docs/SIMULATION.md). */
  lean: z.boolean().default(false),
  latency: z.discriminatedUnion('model', [
    z.object({ model: z.literal('none') }).strict(),
    z.object({ model: z.literal('fixed'), ms: z.number().min(0).max(5000), jitterMs: z.number().min(0).default(0) }).strict(),
    z.object({ model: z.literal('geo'), msPer1000Km: z.number().min(0).default(5), baseMs: z.number().min(0).default(2), jitterMs: z.number().min(0).default(0) }).strict()
  ]).default({ model: 'none' }),
  packetLoss: share.default(0),
  churn: z.object({
    /** Share of city nodes that leave during the run. */
    rate: share,
    /** Mean session length before a node leaves, ms (exponential). */
    meanSessionMs: z.number().min(100),
    mode: z.enum(['crash', 'graceful']).default('crash'),
    /**
     * Nodes that left come back after an exponential downtime of this mean (ms), with the same keys
     * and data, and announce their record again. Absent: they stay away.
     */
    rejoinAfterMs: z.number().min(100).optional(),
    /** Kill this share of nodes at once at `atMs` instead of a steady rate. */
    massKill: z.object({ share, atMs: z.number().min(0) }).strict().optional()
  }).strict().optional(),
  /** Split the city nodes in two groups at `atMs`, heal at `healAtMs` (needs the link model; used automatically). */
  partition: z.object({ share, atMs: z.number().min(0), healAtMs: z.number().min(0) }).strict()
    .refine(p => p.healAtMs > p.atMs, { message: 'healAtMs must be after atMs', path: ['healAtMs'] }).optional(),
  adversaries: z.object({
    share,
    behaviour: z.enum(['drop', 'stale', 'forge', 'spam'])
  }).strict().optional(),
  /**
   * At `atMs` into the workload, the parent authorities of `count` cities (seeded choice) revoke
   * their certificates; the run measures how long until every live node refuses them, and how many
   * lookups of a revoked code were still answered with its record.
   */
  revocations: z.object({ count: z.number().int().min(1), atMs: z.number().min(0) }).strict().optional(),
  workload: z.object({
    lookupsPerSecond: z.number().min(0.1).max(10_000),
    /** Zipf exponent of code popularity (0: uniform). */
    zipf: z.number().min(0).max(3).default(1),
    updatesPerSecond: z.number().min(0).default(0),
    durationMs: z.number().int().min(100).max(3_600_000),
    /** Deadline of one lookup. */
    timeoutMs: z.number().int().min(100).default(10_000),
    /**
     * `dht`: lookups skip the direct questions and read the DHT alone, as they do when every
     * authority of the code is out of reach (a refused dial fails at once and the walk starts):
     * the DHT fallback's own latency and success beside plain kad-dht's. @default "all"
     */
    path: z.enum(['all', 'dht']).default('all')
  }).strict(),
  /** Also run plain kad-dht GET/PUT of the same records on the same nodes and report ratios. */
  baseline: z.boolean().default(true),
  /** Build concurrency (nodes applying and publishing at once). */
  concurrency: z.number().int().min(1).max(256).default(16),
  dialsPerNode: z.number().int().min(1).max(32).default(4),
  /** Shard processes the nodes are spread over (coordinator.ts); 1 runs everything in this process. */
  shards: z.number().int().min(1).max(64).default(1),
  /**
   * `virtual`: every timer, Date and performance.now of the process on one simulated clock that moves
   * only when the process is idle, so CPU costs no simulated time and a seed gives one run
   * (virtual-clock.ts). `real`: wall-clock time (sharded runs, CPU-inclusive studies). Absent:
   * virtual for one process, real for sharded runs.
   */
  clock: z.enum(['virtual', 'real']).optional(),
  /** The instant a virtual clock starts at, so the dates inside records are the same run to run. */
  startAt: z.string().datetime().default('2026-01-01T00:00:00.000Z'),
  /** Per-link bandwidth in Mbit/s: a buffer of n bytes holds its link n x 8 / rate (needs the link model; used automatically). */
  bandwidthMbps: z.number().positive().max(100_000).optional(),
  /**
   * What the run must show, checked after its metrics (assertions.ts): figure name (a key of
   * metrics.json's `figures`) -> bounds on its value, e.g. `{ "lookupSuccessRate": { "min": 0.999 } }`.
   */
  assertions: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.object({ min: z.number().optional(), max: z.number().optional() }).strict()
    .refine(b => b.min !== undefined || b.max !== undefined, { message: 'give min, max or both' })).default({})
}).strict()
  .refine(s => s.clock !== 'virtual' || s.shards === 1, { message: 'a virtual clock runs in one process: not with shards', path: ['clock'] })
  .refine(s => s.clock !== 'virtual' || s.transport === 'memory', { message: 'a virtual clock needs transport "memory" (real sockets deliver on the real clock)', path: ['clock'] })

export type Scenario = z.infer<typeof scenarioSchema>

/** The clock a scenario runs on: its own choice, else virtual for one process and real for shards. */
export function clockOf (s: Pick<Scenario, 'clock' | 'shards' | 'transport'>): 'virtual' | 'real' {
  return s.clock ?? (s.shards > 1 || s.transport !== 'memory' ? 'real' : 'virtual')
}

export function parseScenario (raw: unknown, source: string): Scenario {
  return parseWithSchema(scenarioSchema, raw, source, ScenarioError)
}

export function loadScenario (path: string, overrides: { seed?: number, nodes?: number, shards?: number, clock?: 'virtual' | 'real', baseline?: boolean } = {}): Scenario {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new ScenarioError(`cannot read scenario ${path}: ${e.code ?? e.message}`, { field: '(file)', source: path })
  }
  const scenario = parseScenario(raw, path)
  if (overrides.seed !== undefined) scenario.seed = overrides.seed
  if (overrides.nodes !== undefined) scenario.cities.count = overrides.nodes
  if (overrides.shards !== undefined) scenario.shards = overrides.shards
  if (overrides.clock !== undefined) scenario.clock = overrides.clock
  if (overrides.baseline !== undefined) scenario.baseline = overrides.baseline
  return parseScenario(scenario, path)
}
