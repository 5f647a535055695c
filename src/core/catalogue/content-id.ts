import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { sha256 } from '../crypto/hash.ts'
import { InvalidContentIdError } from './errors.ts'

/** Multicodec codes (multiformats table) that citycode content may use. */
export const SHA2_256 = 0x12
export const DAG_CBOR = 0x71
export const DAG_PB = 0x70
export const RAW = 0x55

/**
 * Parses a CID from its bytes or text and insists on CIDv1 with sha2-256: the one hash every
 * verifier of a block must support (SPEC "Data exchange"), and what any IPFS tool recomputes.
 */
export function parseContentId (input: Uint8Array | string): CID {
  let cid: CID
  try {
    cid = typeof input === 'string' ? CID.parse(input) : CID.decode(input)
  } catch (err) {
    throw new InvalidContentIdError(`not a CID: ${(err as Error).message}`)
  }
  if (cid.version !== 1) throw new InvalidContentIdError(`CID ${cid.toString()} is not CIDv1`, { cid: cid.toString() })
  if (cid.multihash.code !== SHA2_256 || cid.multihash.digest.length !== 32) {
    throw new InvalidContentIdError(`CID ${cid.toString()} is not sha2-256`, { cid: cid.toString() })
  }
  return cid
}

/** The CIDv1 (sha2-256) of `bytes` under the multicodec `codec`; synchronous, unlike multiformats' hasher. */
export function contentIdOf (codec: number, bytes: Uint8Array): CID {
  return CID.createV1(codec, createDigest(SHA2_256, sha256(bytes)))
}

/** True when `bytes` hash to `cid`'s digest: the check a reader makes on every block it receives. */
export function blockMatches (cid: CID, bytes: Uint8Array): boolean {
  if (cid.multihash.code !== SHA2_256) return false
  const digest = sha256(bytes)
  const expected = cid.multihash.digest
  if (digest.length !== expected.length) return false
  for (let i = 0; i < digest.length; i++) if (digest[i] !== expected[i]) return false
  return true
}
