import assert from 'node:assert/strict'
import { fromHex, toHex } from '../../../src/core/crypto/hash.ts'
import { encodeCbor } from '../../../src/core/codec/cbor.ts'
import { decodeResolveResponse } from '../../../src/network/protocols/resolve.ts'
import { decodeSessionFrame } from '../../../src/network/rpc/session.ts'
import { loadVector } from '../../utils/vectors.ts'

interface Vectors {
  maxBodyBytes: { request: number, response: number }
  cases: Array<{ name: string, frame: string, result: { valid: true, id: number, body?: string, failed?: true } | { valid: false } }>
}

describe('resolve session frames (sessions.json)', () => {
  const v = loadVector<Vectors>('sessions.json')

  it('every frame decodes to its id and body, or is refused with a typed error', () => {
    assert.ok(v.cases.length >= 10)
    for (const c of v.cases) {
      const decode = (): ReturnType<typeof decodeSessionFrame> => decodeSessionFrame(fromHex(c.frame), v.maxBodyBytes.response, 'frame')
      if (!c.result.valid) {
        assert.throws(decode, (err: Error) => err.name === 'MalformedRecordError' || err.name === 'ProtocolError', c.name)
        continue
      }
      const frame = decode()
      assert.equal(frame.id, c.result.id, c.name)
      if (c.result.failed === true) assert.ok('failed' in frame, c.name)
      else assert.equal('body' in frame ? toHex(frame.body) : undefined, c.result.body, c.name)
    }
  })

  it('a found answer\'s live flag is true or absent; any other value is refused', () => {
    const live = v.cases.find(c => c.name.includes('live'))
    assert.ok(live !== undefined && live.result.valid)
    const frame = decodeSessionFrame(fromHex(live.frame), v.maxBodyBytes.response, 'frame')
    assert.ok('body' in frame)
    const answer = decodeResolveResponse(frame.body)
    assert.equal(answer.status, 'found')
    assert.equal(answer.status === 'found' ? answer.live : undefined, true)
    const record = answer.status === 'found' ? answer.record : new Uint8Array()
    for (const bad of [false, 1, 'yes']) {
      assert.throws(() => decodeResolveResponse(encodeCbor({ v: 1, status: 'found', record, live: bad })), { name: 'MalformedRecordError' })
    }
  })

  it('a body over the limit is refused before it is decoded', () => {
    const question = v.cases[0] as Vectors['cases'][number]
    assert.throws(() => decodeSessionFrame(fromHex(question.frame), 4, 'frame'), { name: 'RecordTooLargeError' })
  })
})
