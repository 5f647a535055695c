import type { ComponentLogger } from '@libp2p/interface'
import type { Signer } from '../../core/crypto/signature.ts'
import type { Permission } from '../../core/trust/certificate.ts'
import type { AllocationStore } from '../../storage/allocation-store.ts'
import { AuthorityService } from './authority.ts'

export const DEFAULT_CERTIFICATE_VALIDITY_MS = 365 * 86_400_000
/** Certificates start a little in the past so a child whose clock is behind can use them at once. */
export const CERTIFICATE_BACKDATE_MS = 5 * 60_000

/** Bounds of the queue of applications waiting for the operator (issue #16: 500 queued in 3.7 s from one key). */
export const DEFAULT_PENDING_PER_KEY = 2
export const DEFAULT_PENDING_PER_PEER = 8
export const DEFAULT_PENDING_TOTAL = 256
/** An invitation not used within a week is void: the operator makes a new one. */
export const DEFAULT_INVITATION_VALIDITY_MS = 7 * 86_400_000

/** An applicant the operator named beforehand: its key, and optionally the one code it may get. */
export interface PreapprovedApplicant {
  key: Uint8Array
  /** A direct child of this namespace; omitted: the allocation rule picks the code. */
  code?: string
}

export interface AuthorityInit {
  /**
   * `manual`: every application waits until the operator approves it (`citycode approve`).
   * `auto`: applications from the keys in `preapproved`, or presenting an invitation this authority
   * signed for their key, are allocated at once; any other application still waits for the
   * operator, so a stranger never gets a code by asking.
   * @default 'manual'
   */
  approval?: 'auto' | 'manual'
  /** The applicants `auto` allocates at once (ignored under `manual`). */
  preapproved?: readonly PreapprovedApplicant[]
  /**
   * Applications waiting for the operator, at most: per applicant key, per libp2p peer they came
   * from, and in total. Past a bound the application is refused (PendingLimitError) and not stored.
   * @default { perKey: DEFAULT_PENDING_PER_KEY, perPeer: DEFAULT_PENDING_PER_PEER, total: DEFAULT_PENDING_TOTAL }
   */
  pendingLimits?: { perKey?: number, perPeer?: number, total?: number }
  /** @default 1 year */
  certificateValidityMs?: number
  /** @default ['sign', 'delegate'] */
  childPermissions?: Permission[]
  /**
   * How long a signed allocation set (and so a proven not-found) may be relied on and cached;
   * the set is signed again after every allocation and when half of this has passed.
   * @default DEFAULT_ABSENCE_TTL_MS (5 min)
   */
  absenceTtlMs?: number
}

export interface AuthorityComponents {
  /** The namespace this authority holds, e.g. `MA` (root), `MA.156` (country), `MA.156.1301` (city). */
  namespace: string
  signer: Signer
  /** This authority's own chain (anchor side first); empty for a root that is itself an anchor. */
  chain: readonly Uint8Array[]
  store: AllocationStore
  now: () => number
  logger: ComponentLogger
  /** Called after every allocation is stored (the ledger appends it). */
  onAllocated?: (allocation: { code: string, certificate: Uint8Array }) => Promise<void>
}

export type ApplyOutcome =
  | { status: 'allocated', code: string, certificate: Uint8Array, chain: Uint8Array[], duplicate: boolean, /** re-certified: the certificate the new one replaces */ replaced?: Uint8Array }
  | { status: 'pending', id: string }

export type AllocatedOutcome = Extract<ApplyOutcome, { status: 'allocated' }>

export interface Authority {
  readonly namespace: string
  /**
   * Handles an application (bytes as received, `from.peer` the libp2p peer that sent it):
   * allocates it when its key is preapproved under `auto`, otherwise queues it for the operator.
   */
  apply(application: Uint8Array, from?: { peer?: string }): Promise<ApplyOutcome>
  /**
   * `reinstate`: the operator consents that the applicant gets the code its application names
   * (official code) although another key holds it, e.g. a city whose data directory was lost:
   * the code is re-certified to the applicant's key (see `reinstate`).
   */
  approve(id: string, options?: { reinstate?: boolean }): Promise<ApplyOutcome>
  /**
   * Re-certifies an allocated direct child to another key (SPEC 4.4): a new certificate with a
   * higher serial, stored and logged in place of the old one, whose key no longer gets it. The
   * caller revokes the old certificate (`replaced`) unless it is revoked already.
   */
  reinstate(code: string, subject: Uint8Array, options?: { next?: Uint8Array | null }): Promise<AllocatedOutcome>
  /** The operator names an applicant beforehand (as `preapproved` does at start): under `auto` its application is allocated at once. */
  preapprove(applicant: PreapprovedApplicant): void
  /**
   * Signs an invitation (SPEC 2.2) for `key`, optionally pinned to one code, valid for `validForMs`
   * (default DEFAULT_INVITATION_VALIDITY_MS): under `auto`, an application that presents it is
   * allocated at once. Returns the Invitation bytes to hand to the applicant.
   */
  invite(request: { key: Uint8Array, code?: string, validForMs?: number }): Uint8Array
  /** Refuses a pending application: the applicant asking again with it is refused (AllocationError, `details.rejected`). */
  reject(id: string): Promise<void>
  pending(): Promise<Array<{ id: string, name: string, officialCode: string | null, receivedAt: number }>>
  /** Allocates the next sub-code under this authority's own namespace for something it registers itself. */
  allocateOwn(name: string): Promise<string>
  /**
   * Runs a bulk write of own sub-codes (services/authority/bulk-register.ts) between allocations,
   * never beside one, and drops the signed allocation set after it so no absence proof outlives it.
   */
  writeOwnBatch<T>(write: () => Promise<T>): Promise<T>
  allocations(): Promise<Array<{ code: string, name: string, allocatedAt: number }>>
  /** One allocation of this authority (a paged listing names its children without reading them all). */
  allocation(code: string): Promise<{ code: string, name: string, allocatedAt: number } | undefined>
  /**
   * A signed proof (AbsenceProof bytes) that `code`, strictly below this namespace, is not
   * allocated: its ancestor that is a direct child of this namespace is not in the signed
   * allocation set. Undefined when that child is allocated (its own holder answers for below it).
   */
  proveAbsence(code: string): Promise<Uint8Array | undefined>
}

export function authority (init: AuthorityInit = {}): (components: AuthorityComponents) => Authority {
  return (components) => new AuthorityService(init, components)
}
