import QRCode from 'qrcode'
import jsqrModule from 'jsqr'
import { PNG } from 'pngjs'
import { BundleTextError } from '../../core/proof/errors.ts'

/**
 * QR codes of bundle text. Medium error correction (about 15 % of the symbol can be lost) suits
 * printed signs and screens; the text form is all QR alphanumeric characters, which the library
 * packs in alphanumeric mode.
 */
export const QR_ERROR_CORRECTION = 'M'
/** Quiet zone in modules, as ISO/IEC 18004 asks for. */
export const QR_MARGIN = 4
export const DEFAULT_QR_PNG_SCALE = 4
/** A PNG is refused unread past this many pixels (a scan of a sign, not a poster). */
export const MAX_QR_IMAGE_PIXELS = 40_000_000

/** The QR version (1-40) the text needs at medium error correction. */
export function qrVersion (text: string): number {
  return QRCode.create(text, { errorCorrectionLevel: QR_ERROR_CORRECTION }).version
}

export async function renderQrSvg (text: string): Promise<string> {
  return await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: QR_ERROR_CORRECTION, margin: QR_MARGIN })
}

export async function renderQrPng (text: string, options: { scale?: number } = {}): Promise<Uint8Array> {
  const buffer = await QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: QR_ERROR_CORRECTION, margin: QR_MARGIN, scale: options.scale ?? DEFAULT_QR_PNG_SCALE })
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}

/** The text of the QR code in a PNG picture; BundleTextError when it is no PNG or holds no readable QR code. */
export function readQrPng (png: Uint8Array): string {
  let image: { width: number, height: number, data: Uint8Array }
  try {
    image = PNG.sync.read(Buffer.from(png.buffer, png.byteOffset, png.byteLength))
  } catch (err) {
    throw new BundleTextError(`not a PNG image: ${(err as Error).message}`, { reason: 'image' })
  }
  if (image.width * image.height > MAX_QR_IMAGE_PIXELS) throw new BundleTextError(`image of ${image.width}x${image.height} is too large`, { reason: 'image' })
  const rgba = new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.byteLength)
  // jsqr's CommonJS build sets module.exports.default to itself; its types describe only `.default`
  const found = jsqrModule.default(rgba, image.width, image.height)
  if (found === null) throw new BundleTextError('no readable QR code in the image', { reason: 'no-qr-code' })
  return found.data
}
