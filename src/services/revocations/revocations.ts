import type { Logger } from '@libp2p/interface'
import { keepsRevocation } from '../../core/trust/revocation.ts'
import { isCitycodeError } from '../../core/errors.ts'
import { verifyRevocationAnnouncement } from '../../core/trust/revocation-announcement.ts'
import type { VerifiedRevocationAnnouncement } from '../../core/trust/revocation-announcement.ts'
import { publishRevocation, subscribeRevocations } from '../../network/gossip/revocations.ts'
import type { RevocationGossipCounters, RevocationsSubscription } from '../../network/gossip/revocations.ts'
import { DEFAULT_MAX_STORED_REVOCATIONS } from '../../storage/revocation-store.ts'
import { REVOCATION_SYNC_PAGE_BYTES, REVOCATION_SYNC_PAGE_MAX_ITEMS } from '../../network/protocols/revocation-sync.ts'
import type { SyncPage } from '../../network/protocols/revocation-sync.ts'
import type { StoredRevocation } from '../../storage/revocation-store.ts'
import { DEFAULT_FIRST_REANNOUNCE_DELAY_MS, DEFAULT_REANNOUNCE_INTERVAL_MS, DEFAULT_REANNOUNCE_PER_SUBTREE, MAX_SYNC_PAGES } from './index.ts'
import { admitRevocation, DEFAULT_REVOCATIONS_PER_SUBTREE, quotaSubtree } from '../../core/trust/revocation-admission.ts'
import type { AdmissionPolicy } from '../../core/trust/revocation-admission.ts'
import type { Revocation } from '../../core/trust/revocation.ts'
import type { Revocations, RevocationsComponents, RevocationsInit } from './index.ts'

export class RevocationsService implements Revocations {
  private readonly c: RevocationsComponents
  private readonly intervalMs: number
  private readonly firstDelayMs: number
  private readonly log: Logger
  private loaded = false
  private subscription: RevocationsSubscription | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private readonly own: RevocationGossipCounters = { accepted: 0, ignored: 0, rejected: 0 }
  private readonly listeners = new Set<(announcement: VerifiedRevocationAnnouncement) => void>()
  private readonly policy: AdmissionPolicy
  private readonly reannouncePerSubtree: number

  constructor (init: RevocationsInit, components: RevocationsComponents) {
    this.c = components
    this.intervalMs = init.reannounceIntervalMs ?? DEFAULT_REANNOUNCE_INTERVAL_MS
    this.firstDelayMs = init.firstReannounceDelayMs ?? DEFAULT_FIRST_REANNOUNCE_DELAY_MS
    this.log = components.logger.forComponent('citycode:revocations')
    const reliedOn = components.reliedOn ?? (() => false)
    this.policy = {
      capacity: init.capacity ?? DEFAULT_MAX_STORED_REVOCATIONS,
      perSubtree: init.perSubtree ?? DEFAULT_REVOCATIONS_PER_SUBTREE,
      reliedOn
    }
    this.reannouncePerSubtree = init.reannouncePerSubtree ?? DEFAULT_REANNOUNCE_PER_SUBTREE
  }

  get counters (): RevocationGossipCounters {
    return this.subscription?.counters ?? this.own
  }

  async load (): Promise<number> {
    this.loaded = true
    let honoured = 0
    for await (const entry of this.c.store.list()) {
      const verified = await this.check(entry)
      if (verified === undefined) continue
      this.c.validator.revocations.add(verified.revocation, verified.certificate)
      honoured++
    }
    if (honoured > 0) this.log('honouring %d stored revocations', honoured)
    return honoured
  }

  async start (): Promise<void> {
    if (!this.loaded) await this.load()
    this.subscription = subscribeRevocations(this.c.pubsub(), this.c.validator, (announcement, _from, evicted) => {
      this.honoured(announcement)
      void this.keep(announcement.bytes, evicted)
    }, { policy: this.policy, logger: this.c.logger })
    const tick = (delayMs: number): void => {
      this.timer = setTimeout(() => {
        this.reannounce()
          .catch(err => { this.log.error('re-announcing revocations failed: %s', (err as Error).message) })
          // jittered, so nodes started together do not re-announce together
          .finally(() => { if (this.timer !== undefined) tick(this.intervalMs * (0.75 + Math.random() / 2)) })
      }, delayMs)
      this.timer.unref()
    }
    tick(this.firstDelayMs)
  }

  async stop (): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    this.subscription?.unsubscribe()
    this.subscription = undefined
  }

  async announce (bytes: Uint8Array): Promise<VerifiedRevocationAnnouncement> {
    const verified = verifyRevocationAnnouncement(bytes, this.c.validator.chains, this.c.now())
    this.c.validator.revocations.add(verified.revocation, verified.certificate)
    this.honoured(verified)
    await this.keep(bytes)
    await this.publish(bytes)
    return verified
  }

  async learn (bytes: Uint8Array): Promise<VerifiedRevocationAnnouncement> {
    const verified = verifyRevocationAnnouncement(bytes, this.c.validator.chains, this.c.now())
    const revocations = this.c.validator.revocations
    const held = revocations.get(verified.revocation.target)
    if (held !== undefined && !keepsRevocation(verified.revocation, held, verified.certificate)) return verified
    let evict: Revocation | undefined
    if (held === undefined) {
      // the same bounds as on gossip (revocation-admission.ts)
      const admission = admitRevocation({ target: verified.revocation.target, namespace: verified.certificate.body.namespace }, revocations, this.policy)
      if (!admission.admit) {
        this.log('revocation of %s not taken: %s', verified.certificate.body.namespace, admission.why)
        return verified
      }
      evict = admission.evict
      if (evict !== undefined) revocations.delete(evict.target)
    }
    revocations.add(verified.revocation, verified.certificate)
    this.honoured(verified)
    await this.keep(bytes, evict)
    return verified
  }

  async stored (target: Uint8Array): Promise<Uint8Array | undefined> {
    return (await this.c.store.get(target))?.bytes
  }

  async page (after: Uint8Array | undefined): Promise<SyncPage> {
    const { entries, next } = await this.c.store.page(after, { maxBytes: REVOCATION_SYNC_PAGE_BYTES, maxItems: REVOCATION_SYNC_PAGE_MAX_ITEMS })
    const announcements = entries.map(e => e.bytes)
    return next !== undefined ? { announcements, next } : { announcements }
  }

  async syncFrom (fetchPage: (after: Uint8Array | undefined) => Promise<SyncPage>): Promise<number> {
    let learnt = 0
    let after: Uint8Array | undefined
    for (let pages = 0; pages < MAX_SYNC_PAGES; pages++) {
      const page = await fetchPage(after)
      for (const bytes of page.announcements) {
        const before = this.c.validator.revocations.size
        try {
          await this.learn(bytes)
          if (this.c.validator.revocations.size > before) learnt++
        } catch (err) {
          if (!isCitycodeError(err)) throw err
          this.log('a synced revocation was not honoured: %s: %s', err.name, err.message)
        }
      }
      // a cursor that does not move on would loop: a peer's page order is its own, ours is by hash
      if (page.next === undefined || (after !== undefined && Buffer.compare(page.next, after) <= 0)) break
      after = page.next
    }
    return learnt
  }

  onHonoured (listener: (announcement: VerifiedRevocationAnnouncement) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  private honoured (announcement: VerifiedRevocationAnnouncement): void {
    for (const listener of this.listeners) {
      try {
        listener(announcement)
      } catch (err) {
        this.log.error('a revocation listener failed: %s', (err as Error).message)
      }
    }
  }

  async reannounce (): Promise<number> {
    // per subtree, those relied on first, then the shallowest: the rest waits for a later round
    const bySubtree = new Map<string, Array<{ bytes: Uint8Array, relied: boolean, depth: number }>>()
    for await (const entry of this.c.store.list()) {
      if (this.timer === undefined && this.subscription === undefined) break
      const verified = await this.check(entry)
      if (verified === undefined) continue
      const ns = verified.certificate.body.namespace
      const group = bySubtree.get(quotaSubtree(ns)) ?? []
      group.push({ bytes: entry.bytes, relied: this.policy.reliedOn(verified.revocation.target, ns), depth: ns.split('.').length })
      bySubtree.set(quotaSubtree(ns), group)
    }
    let sent = 0
    for (const group of bySubtree.values()) {
      group.sort((a, b) => Number(b.relied) - Number(a.relied) || a.depth - b.depth)
      for (const { bytes } of group.slice(0, this.reannouncePerSubtree)) if (await this.publish(bytes)) sent++
    }
    return sent
  }

  /** Verifies a stored announcement now; one whose certificate has expired is of no more use and is dropped. */
  private async check (entry: StoredRevocation): Promise<VerifiedRevocationAnnouncement | undefined> {
    try {
      return verifyRevocationAnnouncement(entry.announcement, this.c.validator.chains, this.c.now())
    } catch (err) {
      if (!isCitycodeError(err)) throw err
      // anything else (anchors configured differently since) keeps the entry: the change may be undone
      if (err.name === 'ExpiredError') await this.c.store.delete(entry.announcement.revocation.target).catch(() => undefined)
      this.log('stored revocation not honoured: %s: %s', err.name, err.message)
      return undefined
    }
  }

  private async keep (bytes: Uint8Array, evicted?: Revocation): Promise<void> {
    try {
      if (evicted !== undefined) await this.c.store.delete(evicted.target)
      const outcome = await this.c.store.put(bytes, this.c.now())
      if (outcome === 'full') this.log.error('revocation store is full: a revocation is honoured until restart only')
    } catch (err) {
      this.log.error('could not store a revocation: %s', (err as Error).message)
    }
  }

  private async publish (bytes: Uint8Array): Promise<boolean> {
    try {
      await publishRevocation(this.c.pubsub(), bytes)
      return true
    } catch (err) {
      // gossipsub refuses to publish a message it saw in the last two minutes: it is out already
      this.log('revocation not published: %s', (err as Error).message)
      return false
    }
  }
}
