import type { CID } from 'multiformats/cid'
import { decodeCanonical, encodeCbor, FieldReader } from '../codec/cbor.ts'
import type { CborMap, CborValue } from '../codec/cbor.ts'
import { inNamespace, parseCode } from '../code/grammar.ts'
import { equalBytes } from '../crypto/hash.ts'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, verifySignature } from '../crypto/signature.ts'
import type { Signer } from '../crypto/signature.ts'
import { MalformedRecordError, NamespaceViolationError, PermissionError, WrongKeyError, BadSignatureError, NotYetValidError } from '../errors.ts'
import { CLOCK_SKEW_MS } from '../record/verify.ts'
import type { RecordValue } from '../record/values.ts'
import { MAX_CHAIN_LENGTH } from '../trust/chain.ts'
import type { ChainVerifier, VerifiedChain } from '../trust/chain.ts'
import type { RevocationSet } from '../trust/revocation.ts'
import { contentIdOf, DAG_CBOR, parseContentId } from './content-id.ts'
import { InvalidCatalogueError } from './errors.ts'

/**
 * A catalogue is fetched as a block, not carried in the record, so it may exceed the record's
 * 10 KiB; it is still bounded so a reader never buffers an unbounded object.
 */
export const CATALOGUE_MAX_BYTES = 1024 * 1024
export const MAX_DATASETS = 1024
export const MAX_POLICY_CODES = 256
export const DATASET_NAME_MAX = 64
const DESCRIPTION_MAX = 4096
const SHORT_MAX = 128

/** The record value that points at a code's catalogue: `{ type: 'data', name: 'catalogue', value: CID }`. */
export const CATALOGUE_VALUE_NAME = 'catalogue'

/** Who may fetch a dataset (SPEC "Access policy"). */
export type AccessPolicy =
  | { readonly kind: 'public' }
  | { readonly kind: 'namespace', readonly namespace: string }
  | { readonly kind: 'codes', readonly codes: readonly string[] }

export interface DatasetEntry {
  /** Unique within the catalogue; lower-case letters, digits and `-`, so it can sit in a path `CODE/NAME`. */
  readonly name: string
  readonly version: number
  /** Root of the UnixFS DAG (CIDv1, sha2-256). */
  readonly cid: CID
  /** Bytes of the file the DAG encodes. */
  readonly size: number
  readonly mediaType: string
  readonly licence: string
  readonly description: string
  readonly access: AccessPolicy
}

export interface CatalogueBody {
  readonly v: 1
  readonly type: 'catalogue'
  /** The holder's code: the catalogue lists that code's datasets. */
  readonly code: string
  /** Grows with every new version, like a record's seq; a reader keeps the highest it verified. */
  readonly seq: number
  readonly issuedAt: number
  readonly key: Uint8Array
  readonly datasets: readonly DatasetEntry[]
}

export interface SignedCatalogue {
  readonly body: CatalogueBody
  readonly bodyBytes: Uint8Array
  readonly sig: Uint8Array
  readonly chain: readonly Uint8Array[]
  readonly bytes: Uint8Array
  /** CIDv1 (dag-cbor, sha2-256) of `bytes`: what the record's catalogue value names. */
  readonly cid: CID
}

export type CatalogueFields = Omit<CatalogueBody, 'v' | 'type' | 'key'>

const DATASET_NAME = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/

export function isDatasetName (name: string): boolean {
  return DATASET_NAME.test(name)
}

/** True when `requester` may fetch under `policy`. Takes canonical code texts. */
export function policyAdmits (policy: AccessPolicy, requester: string): boolean {
  switch (policy.kind) {
    case 'public': return true
    case 'namespace': return inNamespace(policy.namespace, requester)
    default: return policy.codes.includes(requester)
  }
}

function encodePolicy (policy: AccessPolicy): CborMap {
  switch (policy.kind) {
    case 'public': return { kind: 'public' }
    case 'namespace': return { kind: 'namespace', namespace: parseCode(policy.namespace).text }
    default: return { kind: 'codes', codes: policy.codes.map(c => parseCode(c).text) }
  }
}

function encodeDataset (d: DatasetEntry): CborMap {
  if (!isDatasetName(d.name)) throw new MalformedRecordError(`dataset name "${d.name.slice(0, SHORT_MAX)}" is not allowed`, { what: 'dataset', field: 'name' })
  return {
    name: d.name,
    version: d.version,
    cid: parseContentId(d.cid.bytes).bytes,
    size: d.size,
    mediaType: d.mediaType,
    licence: d.licence,
    description: d.description,
    access: encodePolicy(d.access)
  }
}

export function encodeCatalogueBody (fields: CatalogueFields, key: Uint8Array): Uint8Array {
  const names = new Set<string>()
  for (const d of fields.datasets) {
    if (names.has(d.name)) throw new MalformedRecordError(`dataset "${d.name}" is listed twice`, { what: 'catalogue', field: 'datasets' })
    names.add(d.name)
  }
  return encodeCbor({
    v: 1,
    type: 'catalogue',
    code: parseCode(fields.code).text,
    seq: fields.seq,
    issuedAt: fields.issuedAt,
    key,
    datasets: fields.datasets.map(encodeDataset)
  })
}

/** Signs a catalogue under the 'catalogue' signature domain; the result is not verified here. */
export function createCatalogue (fields: CatalogueFields, signer: Signer, chain: readonly Uint8Array[]): SignedCatalogue {
  const bodyBytes = encodeCatalogueBody(fields, signer.publicKey)
  const bytes = encodeCbor({ body: bodyBytes, sig: signer.sign('catalogue', bodyBytes), chain: [...chain] })
  return decodeCatalogue(bytes)
}

function decodePolicy (value: CborValue, what: string): AccessPolicy {
  const kind = value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array) ? value.kind : undefined
  switch (kind) {
    case 'public':
      new FieldReader(value, what, ['kind']) // eslint-disable-line no-new
      return { kind }
    case 'namespace': {
      const r = new FieldReader(value, what, ['kind', 'namespace'])
      return { kind, namespace: canonicalCode(r.string('namespace', SHORT_MAX), `${what}.namespace`) }
    }
    case 'codes': {
      const r = new FieldReader(value, what, ['kind', 'codes'])
      return { kind, codes: r.stringArray('codes', MAX_POLICY_CODES, SHORT_MAX).map((c, i) => canonicalCode(c, `${what}.codes[${i}]`)) }
    }
    default:
      throw new MalformedRecordError(`${what}.kind must be "public", "namespace" or "codes"`, { what, field: 'kind' })
  }
}

/** A code inside a signed object must already be in canonical form: one byte form per meaning. */
function canonicalCode (text: string, what: string): string {
  const code = parseCode(text)
  if (code.text !== text) throw new MalformedRecordError(`${what} is not a canonical code`, { what })
  return text
}

function decodeDataset (value: CborValue, i: number): DatasetEntry {
  const what = `catalogue body.datasets[${i}]`
  const r = new FieldReader(value, what, ['name', 'version', 'cid', 'size', 'mediaType', 'licence', 'description', 'access'])
  const name = r.string('name', DATASET_NAME_MAX)
  if (!isDatasetName(name)) throw new MalformedRecordError(`${what}.name is not a dataset name`, { what, field: 'name' })
  return {
    name,
    version: r.uint('version'),
    cid: parseContentId(r.bytes('cid')),
    size: r.uint('size'),
    mediaType: r.string('mediaType', SHORT_MAX),
    licence: r.string('licence', SHORT_MAX),
    description: r.string('description', DESCRIPTION_MAX),
    access: decodePolicy(r.raw('access'), `${what}.access`)
  }
}

/** Decodes and shape-checks a signed catalogue (not its signature or chain); throws the typed error. */
export function decodeCatalogue (bytes: Uint8Array): SignedCatalogue {
  const outer = new FieldReader(decodeCanonical(bytes, CATALOGUE_MAX_BYTES, 'catalogue'), 'catalogue', ['body', 'sig', 'chain'])
  const bodyBytes = outer.bytes('body')
  const sig = outer.bytes('sig', ED25519_SIGNATURE_BYTES)
  const chain = outer.bytesArray('chain', MAX_CHAIN_LENGTH)
  const r = new FieldReader(decodeCanonical(bodyBytes, CATALOGUE_MAX_BYTES, 'catalogue body'), 'catalogue body', ['v', 'type', 'code', 'seq', 'issuedAt', 'key', 'datasets'])
  r.literal('v', 1)
  r.literal('type', 'catalogue')
  const code = canonicalCode(r.string('code', SHORT_MAX), 'catalogue body.code')
  const datasets = r.array('datasets', MAX_DATASETS).map(decodeDataset)
  const names = new Set<string>()
  for (const d of datasets) {
    if (names.has(d.name)) throw new MalformedRecordError(`catalogue lists dataset "${d.name}" twice`, { what: 'catalogue body', field: 'datasets' })
    names.add(d.name)
  }
  const body: CatalogueBody = {
    v: 1,
    type: 'catalogue',
    code,
    seq: r.uint('seq'),
    issuedAt: r.uint('issuedAt'),
    key: r.bytes('key', ED25519_PUBLIC_KEY_BYTES),
    datasets
  }
  return { body, bodyBytes, sig, chain, bytes, cid: contentIdOf(DAG_CBOR, bytes) }
}

export interface CatalogueVerifyOptions {
  now: number
  /** The code whose record pointed here: the catalogue must be that code's. */
  expectedCode?: string
  /** The CID the record named: the bytes must be that block. */
  expectedCid?: CID
  revocations?: RevocationSet
}

export interface VerifiedCatalogue {
  readonly catalogue: SignedCatalogue
  readonly chain: VerifiedChain
}

/**
 * Verifies a catalogue offline in the order records are verified (SPEC "Validation order"), with
 * the same ChainVerifier, so a catalogue is trusted exactly when a record of its code would be.
 */
export function verifyCatalogue (bytes: Uint8Array, chains: ChainVerifier, options: CatalogueVerifyOptions): VerifiedCatalogue {
  const catalogue = decodeCatalogue(bytes)
  const { body } = catalogue
  const expected = options.expectedCid?.toString()
  if (expected !== undefined && catalogue.cid.toString() !== expected) {
    throw new InvalidCatalogueError(`catalogue bytes are ${catalogue.cid.toString()}, the record names ${expected}`, { cid: catalogue.cid.toString() })
  }
  if (options.expectedCode !== undefined && options.expectedCode !== body.code) {
    throw new InvalidCatalogueError(`catalogue of ${body.code} was found under ${options.expectedCode}`, { code: body.code, expected: options.expectedCode })
  }
  const chain = chains.verify(catalogue.chain, body.key, { now: options.now, revocations: options.revocations })
  if (!equalBytes(chain.subject, body.key)) throw new WrongKeyError(`catalogue of ${body.code} is signed by a key its chain does not certify`, { code: body.code })
  if (!chain.perms.includes('sign')) throw new PermissionError(`the key certified for ${chain.namespace} may not sign`, { code: body.code })
  if (!inNamespace(chain.namespace, body.code)) {
    throw new NamespaceViolationError(`catalogue of ${body.code} is outside the namespace ${chain.namespace} its signer holds`, { code: body.code, namespace: chain.namespace })
  }
  if (body.issuedAt > options.now + CLOCK_SKEW_MS) throw new NotYetValidError(`catalogue of ${body.code} is issued in the future`, { code: body.code })
  if (!verifySignature('catalogue', catalogue.bodyBytes, catalogue.sig, body.key)) {
    throw new BadSignatureError(`signature on the catalogue of ${body.code} does not verify`, { code: body.code })
  }
  return { catalogue, chain }
}

export function catalogueValue (cid: CID): RecordValue {
  return { type: 'data', name: CATALOGUE_VALUE_NAME, value: cid.toString() }
}

/** The catalogue CID a record's values name, if any; a malformed one is a typed error, not "none". */
export function catalogueIdOf (values: readonly RecordValue[]): CID | undefined {
  const v = values.find(x => x.type === 'data' && x.name === CATALOGUE_VALUE_NAME)
  if (v === undefined || v.type !== 'data') return undefined
  return parseContentId(v.value)
}

export function findDataset (catalogue: SignedCatalogue, name: string): DatasetEntry | undefined {
  return catalogue.body.datasets.find(d => d.name === name)
}
