import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import type { AbortOptions } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { base32 } from 'multiformats/bases/base32'
import { blockMatches } from '../core/catalogue/content-id.ts'
import { BlockMismatchError } from '../core/catalogue/errors.ts'

const PREFIX = '/blocks/'

/**
 * Content blocks in the node's own datastore, keyed by the multihash (as IPFS blockstores do), so
 * one block serves every CID that names the same bytes. A block is hashed on the way in: nothing
 * that does not match its CID is ever kept, whoever hands it over.
 */
export class BlockStore {
  private readonly datastore: Datastore

  constructor (datastore: Datastore) {
    this.datastore = datastore
  }

  private key (cid: CID): Key {
    return new Key(PREFIX + base32.encode(cid.multihash.bytes).toUpperCase())
  }

  async put (cid: CID, bytes: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>, options?: AbortOptions): Promise<CID> {
    const block = await collect(bytes)
    if (!blockMatches(cid, block)) throw new BlockMismatchError(`block bytes do not hash to ${cid.toString()}`, { cid: cid.toString() })
    await this.datastore.put(this.key(cid), block, options)
    return cid
  }

  async * get (cid: CID, options?: AbortOptions): AsyncGenerator<Uint8Array> {
    yield await this.datastore.get(this.key(cid), options)
  }

  async getBlock (cid: CID, options?: AbortOptions): Promise<Uint8Array> {
    return await this.datastore.get(this.key(cid), options)
  }

  async has (cid: CID, options?: AbortOptions): Promise<boolean> {
    return await this.datastore.has(this.key(cid), options)
  }

  async delete (cid: CID, options?: AbortOptions): Promise<void> {
    await this.datastore.delete(this.key(cid), options)
  }
}

async function collect (bytes: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  if (bytes instanceof Uint8Array) return bytes
  const parts: Uint8Array[] = []
  let length = 0
  for await (const part of bytes) { parts.push(part); length += part.length }
  const out = new Uint8Array(length)
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}
