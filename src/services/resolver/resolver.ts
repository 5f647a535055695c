import { COUNTRY_DEPTH, inNamespace, isDirectoryCode, lineage, parent, parseCode } from '../../core/code/grammar.ts'
import type { VerifiedRecord } from '../../core/record/verify.ts'
import { verifyAbsence } from '../../core/proof/absence.ts'
import type { VerifiedAbsence } from '../../core/proof/absence.ts'
import { NotFoundError, ResolveTimeoutError, RevokedAnswerError, SlowPeerError, StaleAnswerError } from '../errors.ts'
import { RevokedError, StaleRevocationStatusError } from '../../core/errors.ts'
import { checkLinkStatus, checkRevocationStatus, issuerOf } from '../../core/trust/revocation-status.ts'
import { equalBytes } from '../../core/crypto/hash.ts'
import { deadlineSignal } from '../../network/deadline.ts'
import { DEFAULT_CACHE_ENTRIES, DEFAULT_DHT_DELAY_MS, DEFAULT_DHT_GRACE_MS, DEFAULT_DHT_QUORUM, DEFAULT_DIRECT_TIMEOUT_MS, DEFAULT_FAILED_PEER_MS, DEFAULT_HEDGE_DELAY_MS, DEFAULT_RESOLVE_TIMEOUT_MS, MAX_CACHE_TTL_MS } from './index.ts'
import type { PeerRef, Resolution, ResolutionSource, Resolver, ResolverComponents, ResolverInit, ResolveOptions } from './index.ts'
import { TtlCache } from './ttl-cache.ts'
import type { Logger } from '@libp2p/interface'
import type { MessageCost } from '../../network/message-cost.ts'

/** Peers asked directly (holder, then authorities above it, nearest first). */
const MAX_DIRECT_CANDIDATES = 3
/** Bound on the failed-peer memory. */
const MAX_FAILED_PEERS = 10_000

/**
 * Resolution order: this node's own store, the cache (while the TTL allows), then a race of hedged
 * direct questions to the holder and its nearest known authorities over `/citycode/resolve/1.0.0`
 * against a DHT quorum read that joins when they are slow or have failed. The plain DHT walk is slow
 * in js-libp2p (seconds at 200 nodes), so it is the fallback that works with no other node's help,
 * not the common path. An answer from a copy is checked against the holder it names when a connection
 * to it is open (the newer wins).
 * Every answer, from anywhere, is verified before it is returned or cached.
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
  private readonly hedgeDelayMs: number
  private readonly dhtDelayMs: number
  private readonly dhtQuorum: number
  private readonly dhtGraceMs: number
  private readonly failedPeerMs: number
  private readonly statusMaxAgeMs: number | undefined
  /**
   * Peer id -> until when (performance.now()) it counts as failing, and whether a connection to it
   * was open when it failed: a peer that failed over an open connection lied or kept silent, one
   * that failed unconnected was out of reach and may be back once a connection opens again.
   */
  private readonly failed = new Map<string, { until: number, connected: boolean }>()
  /** Root and country codes cached: few (one per country), kept as the directory (SPEC 7). */
  private readonly directoryCodes = new Set<string>()

  constructor (init: ResolverInit, components: ResolverComponents) {
    this.c = components
    this.cache = new TtlCache(init.cacheEntries ?? DEFAULT_CACHE_ENTRIES)
    this.absent = new TtlCache(init.cacheEntries ?? DEFAULT_CACHE_ENTRIES)
    this.timeoutMs = init.timeoutMs ?? DEFAULT_RESOLVE_TIMEOUT_MS
    this.directTimeoutMs = init.directTimeoutMs ?? DEFAULT_DIRECT_TIMEOUT_MS
    this.authorities = [...(init.authorities ?? [])].sort((a, b) => b.namespace.length - a.namespace.length)
    this.log = components.logger.forComponent('citycode:resolver')
    this.hedgeDelayMs = init.hedgeDelayMs ?? DEFAULT_HEDGE_DELAY_MS
    this.dhtDelayMs = init.dhtDelayMs ?? DEFAULT_DHT_DELAY_MS
    this.dhtQuorum = Math.max(1, init.dhtQuorum ?? DEFAULT_DHT_QUORUM)
    this.dhtGraceMs = init.dhtGraceMs ?? DEFAULT_DHT_GRACE_MS
    this.failedPeerMs = init.failedPeerMs ?? DEFAULT_FAILED_PEER_MS
    this.statusMaxAgeMs = init.revocationStatusMaxAgeMs
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

  cachedStale (code: string): VerifiedRecord | undefined {
    return this.cache.peek(code)?.value
  }

  cachedAbsence (code: string): VerifiedAbsence | undefined {
    return this.absent.get(code, this.c.now())
  }

  directory (): VerifiedRecord[] {
    const out: VerifiedRecord[] = []
    for (const code of this.directoryCodes) {
      const known = this.knownNewest(code)
      if (known !== undefined) out.push(known)
      else if (this.cache.peek(code) === undefined) this.directoryCodes.delete(code)
    }
    return out
  }

  async resolve (input: string, options: ResolveOptions = {}): Promise<Resolution> {
    const code = parseCode(input).text
    const started = performance.now()
    // the hot path: a cache hit that needs no issuer's status costs no deadline timer and no await
    if (options.fresh !== true && this.statusMaxAgeMs === undefined) {
      const hit = this.cache.get(code, this.c.now())
      if (hit !== undefined) {
        this.c.validator.checkNotEquivocated(hit.record)
        return { code, verified: hit, source: 'cache', elapsedMs: performance.now() - started }
      }
    }
    const deadline = deadlineSignal(this.timeoutMs, options.signal)
    const done = async (verified: VerifiedRecord, source: ResolutionSource, from?: string): Promise<Resolution> => {
      // this node's own records need no issuer's word; everything else does, when required
      if (source !== 'local') await this.checkStatus(verified, deadline.signal, options.cost)
      if (source !== 'cache') this.remember(verified)
      // two versions of this seq met (here or anywhere the validator compared them): refuse to pick one
      this.c.validator.checkNotEquivocated(verified.record)
      return { code, verified, source, from, elapsedMs: performance.now() - started }
    }
    try {
      return await this.resolveWithin(code, options, deadline.signal, done)
    } finally {
      deadline.clear()
    }
  }

  private async resolveWithin (code: string, options: ResolveOptions, signal: AbortSignal, done: (verified: VerifiedRecord, source: ResolutionSource, from?: string) => Promise<Resolution>): Promise<Resolution> {
    if (options.fresh !== true) {
      const hit = this.cache.get(code, this.c.now())
      if (hit !== undefined) return await done(hit, 'cache')
      const absent = this.absent.get(code, this.c.now())
      if (absent !== undefined) throw notFound(code, absent, 'cache')
    }
    const refusals: Refusals = {}
    const local = await this.c.local.get(code)
    if (local !== undefined) {
      let verified: VerifiedRecord | undefined
      try {
        verified = this.c.validator.validate(local, code)
      } catch (err) {
        noteRefusal(refusals, err)
        this.log.error('own stored record for %s no longer verifies: %s', code, (err as Error).message)
      }
      if (verified !== undefined) return await done(verified, 'local')
    }

    const asked = new Set<string>()
    let found = await this.race(code, async (raceSignal) => {
      if (options.dhtOnly === true) return []
      await this.learnParent(code, raceSignal, options.cost)
      return this.candidates(code)
    }, asked, signal, refusals, options.cost)
    if (found !== undefined && !('absence' in found) && options.dhtOnly !== true) found = await this.confirmWithHolder(code, found, asked, signal, options.cost)
    if (found !== undefined && 'absence' in found) {
      this.rememberAbsence(code, found.absence)
      throw notFound(code, found.absence, found.from)
    }
    if (found !== undefined) return await done(found.verified, found.source, found.from)
    // the network offered only older versions than the one verified: that one still stands
    const verifiedBefore = refusals.stale === true ? this.knownNewest(code) : undefined
    if (verifiedBefore !== undefined) return await done(verifiedBefore, 'cache')
    // every copy found is signed under a revoked certificate: say so, it is no mere absence
    if (refusals.revoked !== undefined) throw refusals.revoked
    // nothing found, and this node knows the delegation revoked (learnt at start or on gossip)
    const known = this.knownRevocation(code)
    if (known !== undefined) throw known
    // out of time (ours or the caller's) is not proof of absence: say so
    if (signal.aborted) {
      throw new ResolveTimeoutError(`no answer for ${code} before the deadline`, { code, timeoutMs: this.timeoutMs })
    }
    throw new NotFoundError(`no node holds a valid record for ${code}`, { code })
  }

  /**
   * With `revocationStatusMaxAgeMs` set: every link of the record's chain needs a statement from its
   * issuer no older than that, not listing it (SPEC 4.6). Stapled and held statements are tried
   * first; the issuers of links they do not cover are asked, together, and the check runs again.
   */
  private async checkStatus (verified: VerifiedRecord, signal: AbortSignal, cost?: MessageCost): Promise<void> {
    const maxAgeMs = this.statusMaxAgeMs
    const chain = verified.chain
    if (maxAgeMs === undefined || chain.certificates.length === 0) return
    const code = verified.record.body.code
    const statuses = this.c.statuses
    if (statuses === undefined) throw new StaleRevocationStatusError(`cannot check the revocation status of ${code}: this resolver has no source of statements`, { code })
    const issuers = chain.certificates.map((_, i) => issuerOf(chain, i).namespace)
    const check = (): void => { checkRevocationStatus(chain, statuses.forIssuers(issuers), { now: this.c.now(), maxAgeMs }) }
    try {
      check()
      return
    } catch (err) {
      if ((err as Error).name === 'RevokedError') throw err
    }
    const missing = issuers.filter((issuer, i) => {
      try {
        checkLinkStatus(chain, i, statuses.forIssuers([issuer]), { now: this.c.now(), maxAgeMs })
        return false
      } catch {
        return true
      }
    })
    await Promise.all(missing.map(async issuer => { await statuses.fetch(issuer, { signal, cost }) }))
    check()
  }

  offer (record: Uint8Array | VerifiedRecord): boolean {
    let verified: VerifiedRecord
    try {
      // a record this node's validator has just verified (a gossip message) is not verified twice
      verified = record instanceof Uint8Array ? this.c.validator.validate(record) : record
    } catch {
      return false
    }
    const code = verified.record.body.code
    this.absent.delete(code)
    const existing = this.cache.peek(code)
    // Updates refresh what is cached at once; authority-level records (root, countries) are kept by
    // everyone as the directory that makes direct questions possible.
    if (existing === undefined && !isDirectoryCode(code)) return false
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
    if (isDirectoryCode(body.code)) {
      this.directoryCodes.add(body.code)
      const holder = holderOf(verified)
      if (holder !== undefined) this.c.onAuthority?.(holder)
    }
  }

  /**
   * Like a DNS resolver walking down from the root: when no authority of the code's own country (or
   * nearer) is known, resolve the parent first (itself answered by its parent), so the question can
   * then go straight to the node that holds the code.
   */
  private async learnParent (code: string, signal: AbortSignal, cost?: MessageCost): Promise<void> {
    const parsed = parseCode(code)
    const above = parent(parsed)?.text
    if (above === undefined || parsed.segments.length <= COUNTRY_DEPTH) return
    // only the parent itself (or a copy of the code naming its holder) tells whom to ask: a country
    // cached for a sub-code of one of its cities led to the country, which holds no sub-codes, and
    // the lookup fell to the DHT, where no proof of absence can come from
    const known = this.cache.peek(code) !== undefined || this.cache.peek(above) !== undefined ||
      this.authorities.some(a => a.namespace === above)
    if (known) return
    try {
      await this.resolve(above, { signal, cost })
    } catch (err) {
      this.log('could not learn parent %s of %s: %s', above, code, (err as Error).message)
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
    // peers that failed lately go last: still asked (they may be back), but after the others
    const now = performance.now()
    const failing = (p: PeerRef): boolean => this.failingSince(p.id, now) !== undefined
    return [...out.filter(p => !failing(p)), ...out.filter(failing)]
  }

  /**
   * Asks the candidates one after another, but hedged: the next one is asked as soon as the previous
   * one fails or after `hedgeDelayMs` without an answer, so a dead holder costs a short delay, not a
   * direct timeout. A question unanswered after `directTimeoutMs` counts as failed for what comes
   * next (the next candidate, the DHT walk at once when none is left, the peer asked last for a
   * while), but it is not abandoned: a slow answer is still an answer, and it can win until the
   * lookup's deadline. (In a loaded network the parent authority, often the only node asked that
   * holds the record, answered after 2 s; abandoning it left a DHT walk that found nothing.)
   * The DHT walk joins after `dhtDelayMs`, or at once when every candidate has failed (a partition
   * refuses the links to them at once, so a lookup cut off from all of them walks at once).
   * The first verified answer wins and every question still in flight is abandoned (aborted).
   * Finding the candidates may itself take a lookup (the parent's record): the DHT clock runs meanwhile.
   */
  private async race (code: string, findCandidates: (signal: AbortSignal) => Promise<PeerRef[]>, asked: Set<string>, signal: AbortSignal, refusals?: Refusals, cost?: MessageCost): Promise<Found | ProvenAbsent | undefined> {
    const stop = new AbortController()
    const raceSignal = AbortSignal.any([signal, stop.signal])
    const timers: Array<ReturnType<typeof setTimeout>> = []
    try {
      return await new Promise<Found | ProvenAbsent | undefined>((resolve) => {
        let settled = false
        /** Questions not answered yet, slow ones included. */
        let inFlight = 0
        /** Questions neither answered, failed, nor slow: what the race still waits on before moving on. */
        let pending = 0
        let next = 0
        let candidates: PeerRef[] | undefined
        let dht: 'idle' | 'running' | 'done' = 'idle'
        let hedge: ReturnType<typeof setTimeout> | undefined
        /** Questions not answered yet, in the order they were asked. */
        const unanswered = new Map<number, PeerRef>()
        const finish = (found: Found | ProvenAbsent | undefined): void => {
          if (settled) return
          settled = true
          resolve(found)
        }
        // a peer still silent when one asked after it has answered would cost every lookup that
        // asks it first a hedge delay: it counts as failed (the abandoned question is no evidence otherwise)
        const outrun = (winner: number): void => {
          for (const [order, peer] of unanswered) {
            if (order < winner) this.markFailed(peer, new SlowPeerError(`${peer.id} had not answered for ${code} when a peer asked after it had`, { code, peer: peer.id }))
          }
        }
        const exhausted = (): void => {
          if (settled || candidates === undefined || pending > 0 || next < candidates.length) return
          // a verified revocation answer, and no candidate had a record under another certificate:
          // copies in the DHT are copies of the revoked record, so no walk for them
          if (dht === 'idle' && refusals?.revokedAnswer === true && inFlight === 0) finish(undefined)
          else if (dht === 'idle') startDht()
          else if (dht === 'done' && inFlight === 0) finish(undefined)
        }
        const startDht = (): void => {
          if (settled || dht !== 'idle') return
          dht = 'running'
          void this.walkDht(code, raceSignal, refusals, cost).then((found) => {
            dht = 'done'
            if (found !== undefined) finish(found)
            else exhausted()
          })
        }
        // a failed or slow question: the next candidate now, not at the hedge delay
        const moveOn = (): void => {
          if (next < (candidates?.length ?? 0)) askNext()
          else exhausted()
        }
        const askNext = (): void => {
          clearTimeout(hedge)
          if (settled || candidates === undefined) return
          const peer = candidates[next]
          if (peer === undefined) {
            exhausted()
            return
          }
          const order = next
          next++
          inFlight++
          pending++
          asked.add(peer.id)
          unanswered.set(order, peer)
          hedge = setTimeout(askNext, this.hedgeDelayMs)
          timers.push(hedge)
          let waitedOn = true
          const settle = (): boolean => {
            if (!waitedOn) return false
            waitedOn = false
            pending--
            return true
          }
          const slow = setTimeout(() => {
            if (!settle()) return
            this.markFailed(peer, new SlowPeerError(`${peer.id} did not answer for ${code} within ${this.directTimeoutMs} ms`, { code, peer: peer.id, timeoutMs: this.directTimeoutMs }))
            this.log('direct question to %s for %s is slow (%d ms): moving on, its answer still counts', peer.id, code, this.directTimeoutMs)
            moveOn()
          }, this.directTimeoutMs)
          timers.push(slow)
          void this.askOne(peer, code, raceSignal, refusals, cost).then((found) => {
            clearTimeout(slow)
            unanswered.delete(order)
            inFlight--
            const wasPending = settle()
            if (found !== undefined) {
              if (!settled) outrun(order)
              finish(found)
            } else if (wasPending) moveOn()
            else exhausted()
          })
        }
        if (raceSignal.aborted) {
          finish(undefined)
          return
        }
        raceSignal.addEventListener('abort', () => { finish(undefined) }, { once: true })
        timers.push(setTimeout(startDht, this.dhtDelayMs))
        void findCandidates(raceSignal).catch(() => []).then((found) => {
          candidates = found
          askNext()
        })
      })
    } finally {
      for (const t of timers) clearTimeout(t)
      stop.abort()
    }
  }

  /**
   * An answer from a copy (an authority's or a DHT peer's) can be behind its holder: a push or a DHT
   * PUT lost while the network was split leaves the parent serving the older version after the heal.
   * So the holder the record names is asked too, over a connection already open to it, unless it
   * already was in this resolution, and the newer of the two answers wins (selection rule). The holder
   * gets `hedgeDelayMs`: a slow one costs that delay, never the lookup, and the copy stands. Only over
   * an open connection: opening one for every lookup answered by a copy (handshakes, identify, a
   * routing-table ping) cost more than it won in the partition simulation, where every node shares
   * one process.
   */
  private async confirmWithHolder (code: string, found: Found, asked: ReadonlySet<string>, signal: AbortSignal, cost?: MessageCost): Promise<Found> {
    // a directory record's copy is as new as gossip made it; asking its holder as well cost a round
    // trip on the first lookup into every country (two questions of ~2 RTT each on 50 ms links)
    if (isDirectoryCode(code)) return found
    // the parent, connected to the holder, has every version the holder pushed: asking the holder
    // too would cost a second round trip in sequence on every cold lookup
    if (found.live === true) return found
    const holder = holderOf(found.verified)
    if (holder === undefined || holder.id === found.from || holder.id === this.c.routing.selfId || asked.has(holder.id)) return found
    if (this.c.routing.connected?.(holder.id) !== true) return found
    // a holder that lied or kept silent over an open connection is not asked again on every lookup
    // answered by a copy; one that failed out of reach is, once a connection to it is open again
    if (this.failingSince(holder.id, performance.now())?.connected === true) return found
    const grace = deadlineSignal(this.hedgeDelayMs, signal)
    try {
      const answer = await this.askOne(holder, code, grace.signal, undefined, cost)
      if (answer !== undefined && 'verified' in answer && this.c.validator.compare(answer.verified.record, found.verified.record) > 0) return answer
      if (answer === undefined && grace.signal.aborted && !signal.aborted) {
        this.markFailed(holder, new SlowPeerError(`${holder.id} did not confirm ${code} within ${this.hedgeDelayMs} ms`, { code, peer: holder.id, timeoutMs: this.hedgeDelayMs }))
      }
    } finally {
      grace.clear()
    }
    return found
  }

  /**
   * One direct question, until `signal` (the lookup's deadline, or the end of the race); a failure
   * is remembered, so the peer is asked last for a while. `confirmWithHolder` bounds it tighter.
   */
  private async askOne (peer: PeerRef, code: string, signal: AbortSignal, refusals?: Refusals, cost?: MessageCost): Promise<Found | ProvenAbsent | undefined> {
    try {
      const answer = await this.c.routing.askPeer(peer, code, { signal, cost })
      this.failed.delete(peer.id)
      if (answer === null) return undefined
      if (answer instanceof Uint8Array || 'record' in answer) {
        const verified = this.validateNoting(answer instanceof Uint8Array ? answer : answer.record, code, refusals)
        this.checkNotStale(verified, peer, refusals)
        if (answer instanceof Uint8Array) return { verified, source: 'direct', from: peer.id }
        if (answer.statuses !== undefined) this.c.statuses?.offer(answer.statuses, verified.chain)
        return { verified, source: 'direct', from: peer.id, ...(answer.live === true && this.isParentOf(peer, code) ? { live: true } : {}) }
      }
      if ('revoked' in answer) {
        await this.learnRevoked(answer.revoked, code, peer, refusals)
        return undefined
      }
      // believed only once verified: a liar cannot deny a code the authority's set holds
      const absence = verifyAbsence(answer.absence, this.c.validator.chains, { now: this.c.now(), code, revocations: this.c.validator.revocations })
      // ...nor one this resolver holds a valid record of: a set signed without it predates the allocation
      const known = this.knownNewest(code)
      if (known !== undefined) {
        if (refusals !== undefined) refusals.stale = true
        throw new StaleAnswerError(`${peer.id} answered that ${absence.code} does not exist (allocation set of ${new Date(absence.signedAt).toISOString()}), but a valid record of ${code} (seq ${known.record.body.seq}) is verified`, { code, from: peer.id, signedAt: absence.signedAt, seq: known.record.body.seq })
      }
      return { absence, from: peer.id }
    } catch (err) {
      // abandoned because another answer won, or the lookup ran out of time: not the peer's fault
      if (!signal.aborted) {
        this.markFailed(peer, err)
        this.log('direct question to %s for %s failed: %s', peer.id, code, (err as Error).message)
      }
      return undefined
    }
  }

  /**
   * Whether `peer` holds the record of the code's parent (it is the authority that certified the
   * code): only the parent's word that its copy is live counts, a cache's or a stranger's does not.
   */
  private isParentOf (peer: PeerRef, code: string): boolean {
    const above = parent(parseCode(code))?.text
    if (above === undefined) return false
    const record = this.cache.peek(above)
    if (record !== undefined) return holderOf(record.value)?.id === peer.id
    return this.authorities.some(a => a.peer.id === peer.id && a.namespace === above)
  }

  /**
   * A peer answered that the code's delegation is revoked: the revocation is verified (and so
   * honoured from now on) by this node's own revocations component, must concern a certificate for
   * the code or one above it and be in force; then the resolution fails with RevokedError unless
   * another candidate answers with a record under a certificate not revoked (a rotated key). A
   * revocation the peer cannot back is its failure, as a record that does not verify.
   */
  private async learnRevoked (bytes: Uint8Array, code: string, peer: PeerRef, refusals: Refusals | undefined): Promise<void> {
    if (this.c.revocations === undefined) throw new RevokedAnswerError(`${peer.id} answered that ${code} is revoked, and this resolver cannot check revocations`, { code, from: peer.id })
    const { revocation, certificate } = await this.c.revocations.learn(bytes)
    const namespace = certificate.body.namespace
    if (!inNamespace(namespace, code)) throw new RevokedAnswerError(`${peer.id} answered for ${code} with a revocation of ${namespace}, which is not on its chain`, { code, namespace, from: peer.id })
    if (revocation.revokedAt > this.c.now()) throw new RevokedAnswerError(`${peer.id} answered for ${code} with a revocation of ${namespace} not in force until ${new Date(revocation.revokedAt).toISOString()}`, { code, namespace, from: peer.id })
    // a cached copy signed under the revoked certificate is dropped at once
    const cached = this.cache.peek(code)
    if (cached !== undefined && cached.value.chain.certificates.some(c => equalBytes(c.hash, certificate.hash))) this.cache.delete(code)
    if (refusals === undefined) return
    refusals.revokedAnswer = true
    refusals.revoked ??= new RevokedError(`${code} is revoked: the certificate for ${namespace} was revoked ${new Date(revocation.revokedAt).toISOString()}: ${revocation.reason}`,
      { code, namespace, revokedAt: revocation.revokedAt, reason: revocation.reason, from: peer.id })
  }

  /** A revocation in force of a certificate for `code` or a namespace above it, as the error to answer with. */
  private knownRevocation (code: string): Error | undefined {
    const now = this.c.now()
    for (const ancestor of lineage(parseCode(code)).reverse()) {
      const revocation = this.c.validator.revocations.inForceFor(ancestor.text, now)[0]
      if (revocation !== undefined) {
        return new RevokedError(`no valid record for ${code}: the certificate for ${ancestor.text} was revoked ${new Date(revocation.revokedAt).toISOString()}: ${revocation.reason}`,
          { code, namespace: ancestor.text, revokedAt: revocation.revokedAt, reason: revocation.reason })
      }
    }
    return undefined
  }

  /**
   * The peer is asked after the others for `failedPeerMs` (it may be back by then), and, when it
   * failed over an open connection, not asked to confirm a copy meanwhile.
   */
  private markFailed (peer: PeerRef, err: unknown): void {
    const now = performance.now()
    if (this.failed.size >= MAX_FAILED_PEERS) for (const [id, entry] of this.failed) if (entry.until <= now) this.failed.delete(id)
    if (this.failed.size < MAX_FAILED_PEERS) this.failed.set(peer.id, { until: now + this.failedPeerMs, connected: this.c.routing.connected?.(peer.id) === true })
    this.c.onPeerFailure?.(peer.id, err instanceof Error ? err : new Error(String(err)))
  }

  /** The peer's failure while it still counts, or undefined. */
  private failingSince (peerId: string, now: number): { until: number, connected: boolean } | undefined {
    const entry = this.failed.get(peerId)
    return entry !== undefined && entry.until > now ? entry : undefined
  }

  knownNewest (code: string): VerifiedRecord | undefined {
    const entry = this.cache.peek(code)
    if (entry === undefined) return undefined
    const now = this.c.now()
    const known = entry.value
    if (known.record.body.expiresAt <= now || known.chain.notAfter <= now) return undefined
    try {
      this.c.validator.checkNotRevoked(known)
      this.c.validator.checkTrusted(known)
    } catch {
      return undefined
    }
    return known
  }

  /** Refuses a record of a lower seq than the one verified (StaleAnswerError: the peer's failure, the lookup goes on). */
  private checkNotStale (verified: VerifiedRecord, peer: PeerRef | string, refusals: Refusals | undefined): void {
    const code = verified.record.body.code
    const known = this.knownNewest(code)
    if (known === undefined || verified.record.body.seq >= known.record.body.seq) return
    if (refusals !== undefined) refusals.stale = true
    const from = typeof peer === 'string' ? peer : peer.id
    throw new StaleAnswerError(`${from} answered ${code} with seq ${verified.record.body.seq}, older than the verified seq ${known.record.body.seq}`, { code, from, seq: verified.record.body.seq, verifiedSeq: known.record.body.seq })
  }

  /** Verifies an answer; a refusal for a revoked certificate is remembered (only our own validator's word counts, never a peer's). */
  private validateNoting (bytes: Uint8Array, code: string, refusals: Refusals | undefined): VerifiedRecord {
    try {
      return this.c.validator.validate(bytes, code)
    } catch (err) {
      noteRefusal(refusals, err)
      throw err
    }
  }

  /**
   * A quorum read over the DHT walk: values are verified as they arrive and the walk is stopped once
   * `dhtQuorum` valid values are in, or `dhtGraceMs` after the first one, answering with the newest
   * (selection rule). Waiting for the whole walk costs seconds in js-libp2p; answering with the very
   * first value would let one stale peer decide.
   */
  private async walkDht (code: string, signal: AbortSignal, refusals?: Refusals, cost?: MessageCost): Promise<Found | undefined> {
    const stop = new AbortController()
    const walkSignal = AbortSignal.any([signal, stop.signal])
    let best: Found | undefined
    let valid = 0
    let grace: ReturnType<typeof setTimeout> | undefined
    let enough: () => void = () => {}
    const quorum = new Promise<void>((resolve) => { enough = resolve })
    const walk = (async () => {
      try {
        for await (const { value, from } of this.c.routing.dhtValues(code, { signal: walkSignal, cost })) {
          try {
            const verified = this.c.validator.validate(value, code)
            this.checkNotStale(verified, from, refusals)
            valid++
            if (best === undefined || this.c.validator.compare(verified.record, best.verified.record) > 0) best = { verified, source: 'dht', from }
            if (valid >= this.dhtQuorum) break
            if (valid === 1) grace = setTimeout(enough, this.dhtGraceMs)
          } catch (err) {
            noteRefusal(refusals, err)
            this.log('peer %s returned an invalid record for %s: %s', from, code, (err as Error).message)
          }
        }
      } catch (err) {
        if (!walkSignal.aborted) this.log('DHT walk for %s failed: %s', code, (err as Error).message)
      }
    })()
    const aborted = new Promise<void>((resolve) => {
      if (walkSignal.aborted) resolve()
      else walkSignal.addEventListener('abort', () => { resolve() }, { once: true })
    })
    try {
      await Promise.race([walk, quorum, aborted])
    } finally {
      clearTimeout(grace)
      // stops kad-dht's query when the answer came before the walk's end
      stop.abort()
    }
    return best
  }
}

function notFound (code: string, absence: VerifiedAbsence, from: string): NotFoundError {
  return new NotFoundError(`${code} does not exist: ${absence.namespace} signed an allocation set without ${absence.code}`,
    { code, absent: absence.code, authority: absence.namespace, signedAt: absence.signedAt, expiresAt: absence.expiresAt, from }, absence)
}

/** Why answers were refused during one resolution. */
interface Refusals {
  /** The first answer refused because a certificate of its chain is revoked. */
  revoked?: Error
  /** A peer answered with a verified revocation of the code's delegation. */
  revokedAnswer?: boolean
  /** An answer was refused as older than the record verified (StaleAnswerError). */
  stale?: boolean
}

function noteRefusal (refusals: Refusals | undefined, err: unknown): void {
  if (refusals !== undefined && refusals.revoked === undefined && (err as Error | undefined)?.name === 'RevokedError') refusals.revoked = err as Error
}

interface Found {
  verified: VerifiedRecord
  source: ResolutionSource
  from?: string
  /** The holder's parent answered and keeps the copy current (SPEC 7 `live`): no confirmation needed. */
  live?: true
}

/** A direct answer that nobody holds the code, with its verified proof: ends the race like a record. */
interface ProvenAbsent {
  absence: VerifiedAbsence
  from: string
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

