import assert from 'node:assert/strict'
import { contentIdOf, DAG_PB, encodeCbor, RAW } from '../../../src/core/index.ts'
import { blockFrameParts, decodeProviderFrame, encodeProviderFrame } from '../../../src/network/protocols/exchange.ts'

describe('exchange block frames', () => {
  it('the block frame built in parts is the canonical DAG-CBOR of the frame, at every length boundary', () => {
    for (const length of [0, 1, 23, 24, 255, 256, 65_535, 65_536, 262_144, 1024 * 1024]) {
      const data = new Uint8Array(length).fill(length % 251)
      for (const cid of [contentIdOf(RAW, data), contentIdOf(DAG_PB, data)]) {
        const expected = encodeCbor({ v: 1, status: 'block', cid: cid.bytes, data })
        assert.deepEqual(Buffer.concat(blockFrameParts(cid, data)), Buffer.from(expected), `length ${length}`)
        assert.deepEqual(encodeProviderFrame({ status: 'block', cid, data }), expected)
        const decoded = decodeProviderFrame(expected)
        assert.equal(decoded.status, 'block')
        if (decoded.status === 'block') assert.equal(decoded.data.length, length)
      }
    }
  })

  it('a block over 1 MiB is refused as FrameTooLargeError', () => {
    const data = new Uint8Array(1024 * 1024 + 1)
    assert.throws(() => decodeProviderFrame(encodeProviderFrame({ status: 'block', cid: contentIdOf(RAW, data), data })), { name: 'FrameTooLargeError' })
  })
})
