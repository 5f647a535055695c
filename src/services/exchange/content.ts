import { createReadStream } from 'node:fs'
import { importByteStream } from 'ipfs-unixfs-importer'
import { exporter } from 'ipfs-unixfs-exporter'
import { UnixFS } from 'ipfs-unixfs'
import * as dagPb from '@ipld/dag-pb'
import type { AbortOptions } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { DAG_PB, RAW, parseContentId } from '../../core/catalogue/content-id.ts'
import { MalformedRecordError } from '../../core/errors.ts'
import type { BlockStore } from '../../storage/block-store.ts'

/** Kubo's defaults (256 KiB chunks, raw leaves, CIDv1), so `ipfs add --cid-version 1` gives the same CID. */
export const CHUNK_BYTES = 262_144

export interface ImportedContent {
  readonly cid: CID
  readonly size: number
}

/** Imports bytes as a standard UnixFS file DAG into `blocks`; any IPFS tool recomputes the same root. */
export async function importContent (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, blocks: BlockStore, options: AbortOptions = {}): Promise<ImportedContent> {
  const counted = { bytes: 0 }
  const result = await importByteStream(abortable(source, options, counted), blocks, { cidVersion: 1, rawLeaves: true })
  // result.size counts the DAG's encoded bytes; the catalogue states the file's own length
  return { cid: parseContentId(result.cid.bytes), size: counted.bytes }
}

// The importer takes no signal of its own; stopping its input stops it.
async function * abortable (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: AbortOptions, counted: { bytes: number }): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    options.signal?.throwIfAborted()
    counted.bytes += chunk.length
    yield chunk
  }
}

export async function importFile (path: string, blocks: BlockStore, options: AbortOptions = {}): Promise<ImportedContent> {
  return await importContent(createReadStream(path, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Uint8Array>, blocks, options)
}

/** Streams a held file DAG back out (every block must be present). */
export async function * exportContent (cid: CID, blocks: BlockStore, options: AbortOptions = {}): AsyncGenerator<Uint8Array> {
  const entry = await exporter(cid, blocks, options)
  if (entry.type !== 'file' && entry.type !== 'raw') throw new MalformedRecordError(`${cid.toString()} is a ${entry.type}, not a file`, { cid: cid.toString() })
  yield * entry.content(options)
}

/**
 * The CIDs a block links to, in DAG order: what a reader asks for next. Raw leaves have none; a
 * dag-pb node lists its children. Decoding does not trust the block: it was hash-checked first.
 */
export function blockLinks (cid: CID, bytes: Uint8Array): CID[] {
  if (cid.code === RAW) return []
  if (cid.code !== DAG_PB) throw new MalformedRecordError(`block ${cid.toString()} has codec 0x${cid.code.toString(16)}, not dag-pb or raw`, { cid: cid.toString() })
  const node = dagPb.decode(bytes)
  if (node.Data !== undefined) UnixFS.unmarshal(node.Data)
  return node.Links.map(l => parseContentId(l.Hash.bytes))
}
