import { COUNTRY_DEPTH, inNamespace, lineage, parseCode } from '../../core/code/grammar.ts'
import type { VerifiedRecord } from '../../core/record/verify.ts'
import { verifyAbsence } from '../../core/proof/absence.ts'
import type { VerifiedAbsence } from '../../core/proof/absence.ts'
import { NotFoundError, ResolveTimeoutError } from '../errors.ts'
import { deadlineSignal } from '../../network/deadline.ts'
import { DEFAULT_CACHE_ENTRIES, DEFAULT_DIRECT_TIMEOUT_MS, DEFAULT_RESOLVE_TIMEOUT_MS, MAX_CACHE_TTL_MS } from './index.ts'
import type { PeerRef, Resolution, ResolutionSource, Resolver, ResolverComponents, ResolverInit, ResolveOptions } from './index.ts'
import { TtlCache } from './ttl-cache.ts'
import type { Logger } from '@libp2p/interface'

/** Direct questions asked before falling back to the DHT walk. */
const MAX_DIRECT_CANDIDATES = 3

/**
 * Resolution order: this node's own store, the cache (while the TTL allows), a direct question to
 * the holder or its nearest known authority over `/citycode/resolve/1.0.0`, then a DHT walk. The
 * plain DHT walk is slow in js-libp2p (seconds at 200 nodes), so it is the fallback that works with
 * no other node's help, not the common path. Every answer, from anywhere, is verified before it is
 * returned or cached.
 */
export class ResolverService implements Resolver {
  private readonly c: ResolverComponents
  private readonly cache: TtlCache<VerifiedRecord>
  /** Proven not-founds, kept until their allocation set's ttl runs out (a DNS negative cache). */
  private readonly absent: TtlCache<VerifiedAbsence>
  private readonly timeoutMs: number
  private readonly directTimeoutMs: number
  private authorities: Array<{ namespace: string, peer: PeerRef }>
  private readonly log: Logger

  constructor (init: ResolverInit, components: ResolverComponents) {
    this.c = components
    this.cache = new TtlCache(init.cacheEntries ?? DEFAULT_CACHE_ENTRIES)
    this.absent = new TtlCache(init.cacheEntries ?? DEFAULT_CACHE_ENTRIES)
    this.timeoutMs = init.timeoutMs ?? DEFAULT_RESOLVE_TIMEOUT_MS
    this.directTimeoutMs = init.directTimeoutMs ?? DEFAULT_DIRECT_TIMEOUT_MS
    this.authorities = [...(init.authorities ?? [])].sort((a, b) => b.namespace.length - a.namespace.length)
    this.log = components.logger.forComponent('citycode:resolver')
  }

  get cacheSize (): number {
    return this.cache.size
  }

  addAuthority (namespace: string, peer: PeerRef): void {
    const ns = parseCode(namespace).text
    this.authorities = [...this.authorities.filter(a => a.namespace !== ns || a.peer.id !== peer.id), { namespace: ns, peer }]
      .sort((a, b) => b.namespace.length - a.namespace.length)
  }

  cached (code: string): VerifiedRecord | undefined {
    return this.cache.get(code, this.c.now())
  }

  cachedAbsence (code: string): VerifiedAbsence | undefined {
    return this.absent.get(code, this.c.now())
  }

  async resolve (input: string, options: ResolveOptions = {}): Promise<Resolution> {
    const code = parseCode(input).text
    const started = performance.now()
    const done = (verified: VerifiedRecord, source: ResolutionSource, from?: string): Resolution => {
      if (source !== 'cache') this.remember(verified)
      return { code, verified, source, from, elapsedMs: performance.now() - started }
    }

    if (options.fresh !== true) {
      const hit = this.cache.get(code, this.c.now())
      if (hit !== undefined) return done(hit, 'cache')
      const absent = this.absent.get(code, this.c.now())
      if (absent !== undefined) throw notFound(code, absent, 'cache')
    }
    const local = await this.c.local.get(code)
    if (local !== undefined) {
      try {
        return done(this.c.validator.validate(local, code), 'local')
      } catch (err) {
        this.log.error('own stored record for %s no longer verifies: %s', code, (err as Error).message)
      }
    }

    const deadline = deadlineSignal(this.timeoutMs, options.signal)
    try {
      if (options.dhtOnly !== true) {
        await this.learnParent(code, deadline.signal)
        for (const peer of this.candidates(code)) {
          if (deadline.signal.aborted) break
          const ask = deadlineSignal(this.directTimeoutMs, deadline.signal)
          try {
            const answer = await this.c.routing.askPeer(peer, code, { signal: ask.signal })
            if (answer instanceof Uint8Array) return done(this.c.validator.validate(answer, code), 'direct', peer.id)
            if (answer !== null) {
              // believed only once verified: a liar cannot deny a code the authority's set holds
              const absence = verifyAbsence(answer.absence, this.c.validator.chains, { now: this.c.now(), code, revocations: this.c.validator.revocations })
              this.rememberAbsence(code, absence)
              throw notFound(code, absence, peer.id)
            }
          } catch (err) {
            if (err instanceof NotFoundError) throw err
            this.log('direct question to %s for %s failed: %s', peer.id, code, (err as Error).message)
          } finally {
            ask.clear()
          }
        }
      }
      const best = await this.walkDht(code, deadline.signal)
      if (best !== undefined) return done(best.verified, 'dht', best.from)
      // out of time (ours or the caller's) is not proof of absence: say so
      if (deadline.signal.aborted) {
        throw new ResolveTimeoutError(`no answer for ${code} before the deadline`, { code, timeoutMs: this.timeoutMs })
      }
      throw new NotFoundError(`no node holds a valid record for ${code}`, { code })
    } finally {
      deadline.clear()
    }
  }

  offer (bytes: Uint8Array): boolean {
    let verified: VerifiedRecord
    try {
      verified = this.c.validator.validate(bytes)
    } catch {
      return false
    }
    const code = verified.record.body.code
    this.absent.delete(code)
    const existing = this.cache.peek(code)
    // Updates refresh what is cached at once; authority-level records (root, countries) are kept by
    // everyone as the directory that makes direct questions possible.
    if (existing === undefined && parseCode(code).segments.length > COUNTRY_DEPTH) return false
    if (existing !== undefined && this.c.validator.compare(verified.record, existing.value.record) <= 0) return false
    this.remember(verified)
    return true
  }

  private rememberAbsence (code: string, absence: VerifiedAbsence): void {
    const expiresAt = Math.min(absence.expiresAt, this.c.now() + MAX_CACHE_TTL_MS, absence.chain.notAfter)
    this.absent.set(code, absence, expiresAt)
  }

  private remember (verified: VerifiedRecord): void {
    const body = verified.record.body
    const now = this.c.now()
    // a record outranks any cached denial of it (e.g. the code was allocated since)
    this.absent.delete(body.code)
    const expiresAt = Math.min(now + Math.min(body.ttl, MAX_CACHE_TTL_MS), body.expiresAt, verified.chain.notAfter)
    const existing = this.cache.peek(body.code)
    if (existing !== undefined && this.c.validator.compare(verified.record, existing.value.record) < 0 && now < existing.expiresAt) return
    this.cache.set(body.code, verified, expiresAt)
  }

  /**
   * Like a DNS resolver walking down from the root: when no authority of the code's own country (or
   * nearer) is known, resolve the parent first (itself answered by its parent), so the question can
   * then go straight to the node that holds the code.
   */
  private async learnParent (code: string, signal: AbortSignal): Promise<void> {
    const parsed = parseCode(code)
    if (parsed.segments.length <= COUNTRY_DEPTH) return
    const parent = parsed.segments.slice(0, -1).join('.')
    const known = lineage(parsed).slice(COUNTRY_DEPTH - 1, -1).some(a => this.cache.peek(a.text) !== undefined) ||
      this.authorities.some(a => a.namespace === parent)
    if (known) return
    try {
      await this.resolve(parent, { signal })
    } catch (err) {
      this.log('could not learn parent %s of %s: %s', parent, code, (err as Error).message)
    }
  }

  /** Who to ask directly, nearest first: the holder (from a stale copy), then authorities above it. */
  private candidates (code: string): PeerRef[] {
    const out: PeerRef[] = []
    const seen = new Set<string>([this.c.routing.selfId])
    const add = (peer: PeerRef | undefined): void => {
      if (peer !== undefined && !seen.has(peer.id) && out.length < MAX_DIRECT_CANDIDATES) {
        seen.add(peer.id)
        out.push(peer)
      }
    }
    const stale = this.cache.peek(code)
    if (stale !== undefined) add(holderOf(stale.value))
    const ancestors = lineage(parseCode(code)).slice(0, -1).reverse()
    for (const ancestor of ancestors) {
      const entry = this.cache.peek(ancestor.text)
      if (entry !== undefined && ancestor.segments.length >= 1) add(holderOf(entry.value))
    }
    for (const a of this.authorities) if (inNamespace(a.namespace, code)) add(a.peer)
    return out
  }

  private async walkDht (code: string, signal: AbortSignal): Promise<{ verified: VerifiedRecord, from: string } | undefined> {
    let best: { verified: VerifiedRecord, from: string } | undefined
    try {
      for await (const { value, from } of this.c.routing.dhtValues(code, { signal })) {
        try {
          const verified = this.c.validator.validate(value, code)
          if (best === undefined || this.c.validator.compare(verified.record, best.verified.record) > 0) best = { verified, from }
        } catch (err) {
          this.log('peer %s returned an invalid record for %s: %s', from, code, (err as Error).message)
        }
      }
    } catch (err) {
      if (!signal.aborted) this.log('DHT walk for %s failed: %s', code, (err as Error).message)
    }
    return best
  }
}

function notFound (code: string, absence: VerifiedAbsence, from: string): NotFoundError {
  return new NotFoundError(`${code} does not exist: ${absence.namespace} signed an allocation set without ${absence.code}`,
    { code, absent: absence.code, authority: absence.namespace, signedAt: absence.signedAt, expiresAt: absence.expiresAt, from }, absence)
}

/** The holder's node as its record publishes it (`peer` and `addr` values). */
export function holderOf (verified: VerifiedRecord): PeerRef | undefined {
  let id: string | undefined
  const addrs: string[] = []
  for (const v of verified.record.body.values) {
    if (v.type === 'peer') id = v.id
    else if (v.type === 'addr') addrs.push(v.value)
  }
  return id === undefined ? undefined : { id, addrs }
}

