import assert from 'node:assert/strict'
import { PNG } from 'pngjs'
import { ChainVerifier, bundleFromText, bundleToText, createBundle, verifyBundle } from '../../../src/core/index.ts'
import { qrVersion, readQrPng, renderQrPng, renderQrSvg } from '../../../src/services/proof/qr.ts'
import { cityRecord, hierarchy, NOW } from '../../utils/fixtures.ts'

describe('bundle QR codes', function () {
  this.timeout(30_000)
  const h = hierarchy()
  const bundle = createBundle({ record: cityRecord(h).bytes, madeAt: NOW }, h.city)
  const text = bundleToText(bundle.bytes)

  it('round trip through a PNG picture: drawn, read back, verified', async () => {
    const png = await renderQrPng(text)
    const read = readQrPng(png)
    assert.equal(read, text)
    const v = verifyBundle(bundleFromText(read), new ChainVerifier(h.anchors), { now: NOW })
    assert.equal(v.verified.record.body.code, 'MA.156.1301')
  })

  it('a city bundle fits one QR code at medium error correction; SVG is drawn', async () => {
    const version = qrVersion(text)
    assert.ok(version >= 1 && version <= 40)
    const svg = await renderQrSvg(text)
    assert.match(svg, /^<svg[^>]*viewBox="0 0 (\d+) \1"/)
    // modules per side = 17 + 4 * version, plus the quiet zone on both sides
    assert.equal(Number(/viewBox="0 0 (\d+)/.exec(svg)?.[1]), 17 + 4 * version + 8)
  })

  it('a picture that is not a PNG, or holds no QR code, is unusable input (BundleTextError)', () => {
    assert.throws(() => readQrPng(new Uint8Array([1, 2, 3])), (err: Error & { details: { reason: string } }) => err.name === 'BundleTextError' && err.details.reason === 'image')
    const blank = new PNG({ width: 64, height: 64 })
    blank.data.fill(255)
    assert.throws(() => readQrPng(new Uint8Array(PNG.sync.write(blank))), (err: Error & { details: { reason: string } }) => err.name === 'BundleTextError' && err.details.reason === 'no-qr-code')
  })
})
