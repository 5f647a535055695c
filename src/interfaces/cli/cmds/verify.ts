import { existsSync, readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { isCitycodeError } from '../../../core/errors.ts'
import { BundleTextError, RevocationListError } from '../../../core/proof/errors.ts'
import { decodeRevocationList, revocationsForBundle } from '../../../core/proof/revocation-list.ts'
import type { Revocation, RevocationSet } from '../../../core/trust/revocation.ts'
import { BUNDLE_TEXT_PREFIX, bundleFromText } from '../../../core/proof/text.ts'
import { verifyBundle } from '../../../core/proof/bundle.ts'
import { ChainVerifier } from '../../../core/trust/chain.ts'
import { readQrPng } from '../../../services/proof/qr.ts'
import { ConfigError } from '../../config/load.ts'
import { bundleText, bundleView } from '../../present/proof-view.ts'
import { anchorsOf } from '../../runtime/node-from-config.ts'
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, printJson } from '../output.ts'
import { configFrom, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

/** `citycode verify` exit codes: the bundle is valid, a check failed, or the input is not a bundle at all. */
export const VERIFY_EXIT_VALID = EXIT_OK
export const VERIFY_EXIT_INVALID = EXIT_FAILURE
export const VERIFY_EXIT_UNUSABLE = EXIT_USAGE

/** Bundle bytes from a QR picture, bundle text, or a file of bytes or text; BundleTextError/ConfigError for anything else. */
function readBundleInput (target: string | undefined, image: string | undefined): Uint8Array {
  if (image !== undefined) {
    if (target !== undefined) throw new ConfigError('give either a bundle (file or text) or --image, not both', { field: 'image' })
    return bundleFromText(readQrPng(readInputFile(image)))
  }
  if (target === undefined) throw new ConfigError('give a bundle file, bundle text, or --image FILE.png', { field: 'bundle' })
  if (target.trim().startsWith(BUNDLE_TEXT_PREFIX)) return bundleFromText(target)
  if (target === '-') return fromFileContent(readInputFile(0))
  if (!existsSync(target)) throw new BundleTextError(`${target} is neither a file nor bundle text (${BUNDLE_TEXT_PREFIX}...)`, { reason: 'not-found' })
  return fromFileContent(readInputFile(target))
}

/** A file (or standard input) holds the bundle bytes or its text form. */
function fromFileContent (raw: Uint8Array): Uint8Array {
  const text = Buffer.from(raw).toString('latin1').trim()
  return text.startsWith(BUNDLE_TEXT_PREFIX) ? bundleFromText(text) : raw
}

/** `0` is standard input. */
function readInputFile (path: string | 0): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path))
  } catch (err) {
    throw new BundleTextError(`cannot read ${path === 0 ? 'standard input' : path}: ${(err as Error).message}`, { reason: 'unreadable' })
  }
}

/** A revocation list file (SPEC "Revocation lists"); RevocationListError when it cannot be read or is not one. */
function readRevocations (path: string): Revocation[] {
  let raw: Uint8Array
  try {
    raw = new Uint8Array(readFileSync(path))
  } catch (err) {
    throw new RevocationListError(`cannot read ${path}: ${(err as Error).message}`, { reason: 'unreadable' })
  }
  return decodeRevocationList(raw)
}

export function registerVerify (program: Command): void {
  withConfig(program.command('verify'))
    .description('check a proof bundle offline against the configured trust anchors (no network)')
    .argument('[bundle]', 'a bundle file (bytes or text), - for standard input, or the bundle text itself (quoted: "CC1:...")')
    .option('--image <file.png>', 'read the bundle from the QR code in a PNG picture')
    .option('--require-ledger', 'refuse a bundle without a ledger inclusion proof')
    .option('--revocations <file>', 'a revocation list (from `citycode revoke`): refuse the bundle if a certificate of its chain is revoked')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExit codes: 0 valid; 1 invalid (a check failed: its typed error is printed, RevokedError saying\nwhether the certificate was revoked before the bundle was made or since); 2 unusable input (not a bundle:\nbad text, unreadable file or picture, no QR code; a revocation list entry that does not verify against\nthe certificate it names; or bad options/config).')
    .action((target: string | undefined, opts: ConfigOptions & { image?: string, json?: boolean, requireLedger?: boolean, revocations?: string }) => {
      let bytes: Uint8Array
      let chains: ChainVerifier
      let revocations: RevocationSet | undefined
      try {
        chains = new ChainVerifier(anchorsOf(configFrom(opts)))
        bytes = readBundleInput(target, opts.image)
        const list = opts.revocations === undefined ? undefined : readRevocations(opts.revocations)
        if (list !== undefined) revocations = revocationsForList(list, bytes)
      } catch (err) {
        process.exitCode = unusable(err, opts.json === true)
        return
      }
      try {
        const verified = verifyBundle(bytes, chains, { now: Date.now(), requireLedger: opts.requireLedger, revocations })
        const checkedAgainst = revocations === undefined ? undefined : { file: opts.revocations, entries: revocations.size }
        if (opts.json === true) printJson(checkedAgainst === undefined ? bundleView(verified) : { ...bundleView(verified), revocations: checkedAgainst })
        else process.stdout.write(bundleText(verified) + '\n' + (checkedAgainst === undefined ? '' : `revocations: none in force for this chain (list ${String(checkedAgainst.file)}${checkedAgainst.entries === 0 ? ', empty' : `: ${checkedAgainst.entries} certificate(s) revoked from a later date`})\n`))
        process.exitCode = VERIFY_EXIT_VALID
      } catch (err) {
        if (!isCitycodeError(err)) throw err
        if (opts.json === true) printJson({ valid: false, error: { name: err.name, code: err.code, message: err.message, details: err.details } })
        else process.stdout.write(`INVALID proof bundle: ${err.name}: ${err.message}\n`)
        process.exitCode = VERIFY_EXIT_INVALID
      }
    })
}

/** Entry errors are unusable input; a bundle that does not decode is left for verifyBundle to call invalid. */
function revocationsForList (list: Revocation[], bytes: Uint8Array): RevocationSet | undefined {
  try {
    return revocationsForBundle(list, bytes)
  } catch (err) {
    if (err instanceof RevocationListError) throw err
    return undefined
  }
}

function unusable (err: unknown, json: boolean): number {
  if (!isCitycodeError(err)) throw err
  if (json) printJson({ valid: false, unusable: true, error: { name: err.name, code: err.code, message: err.message, details: err.details } })
  process.stderr.write(`error: ${err.name}: ${err.message}\n`)
  return VERIFY_EXIT_UNUSABLE
}
