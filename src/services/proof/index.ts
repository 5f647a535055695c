export { buildBundle } from './build.ts'
export type { BuildBundleOptions, BuiltBundle, ProofSource } from './build.ts'
export { qrVersion, readQrPng, renderQrPng, renderQrSvg, QR_ERROR_CORRECTION } from './qr.ts'
