/**
 * Resolve session vectors (SPEC 7, `/citycode/resolve/1.1.0`): frames as they cross the wire (the
 * DAG-CBOR bytes inside each varint length prefix), what a compatible implementation decodes from
 * them, and frames it must refuse. The bodies are `/citycode/resolve/1.0.0` messages.
 */
import { toHex } from '../../src/core/crypto/hash.ts'
import { encodeCbor } from '../../src/core/codec/cbor.ts'
import { encodeResolveRequest, encodeResolveResponse } from '../../src/network/protocols/resolve.ts'
import { encodeSessionFrame } from '../../src/network/rpc/session.ts'
import { cityRecord, hierarchy } from '../utils/fixtures.ts'

const hex = toHex

export function sessionVectors (): unknown {
  const record = cityRecord(hierarchy(), { seq: 1 })
  const question = encodeResolveRequest('MA.156.1301')
  const live = encodeResolveResponse({ status: 'found', record: record.bytes, live: true })
  const frame = (name: string, id: number, body: Uint8Array | undefined): unknown => ({
    name,
    frame: hex(encodeSessionFrame(body !== undefined ? { id, body } : { id, failed: true })),
    result: { valid: true, id, ...(body !== undefined ? { body: hex(body) } : { failed: true }) }
  })
  const bad = (name: string, bytes: Uint8Array): unknown => ({ name, frame: hex(bytes), result: { valid: false } })
  return {
    description: 'Resolve sessions (SPEC 7): each frame is { id: uint 1..2^32-1, body: bytes } or { id, failed: true } in canonical DAG-CBOR, carried behind a varint length prefix; bodies are /citycode/resolve/1.0.0 requests and responses. A found response may carry live: true.',
    maxBodyBytes: { request: 256, response: 43 * 1024 + 1024 },
    cases: [
      frame('a question', 1, question),
      frame('its answer, found and live', 1, live),
      frame('the largest id', 0xffff_ffff, question),
      frame('a question the responder could not answer', 7, undefined),
      bad('id 0', encodeCbor({ id: 0, body: question })),
      bad('id over 2^32-1', encodeCbor({ id: 2 ** 32, body: question })),
      bad('both a body and failed', encodeCbor({ id: 1, body: question, failed: true })),
      bad('failed: false', encodeCbor({ id: 1, failed: false })),
      bad('an unknown field', encodeCbor({ id: 1, body: question, more: 1 })),
      bad('no id', encodeCbor({ body: question })),
      bad('not a map', encodeCbor([1, question]))
    ]
  }
}
