import { writeFileSync } from 'node:fs'
import { extname } from 'node:path'
import type { Command } from 'commander'
import { parseCodeInput } from '../../../core/code/check-character.ts'
import { buildBundle } from '../../../services/proof/build.ts'
import { QR_ERROR_CORRECTION, qrVersion, renderQrPng, renderQrSvg } from '../../../services/proof/qr.ts'
import { ConfigError } from '../../config/load.ts'
import { closeNode, nodeFromConfig } from '../../runtime/node-from-config.ts'
import { printJson, runHandler } from '../output.ts'
import { configFrom, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

interface ProveOptions extends ConfigOptions { out?: string, qr?: string, json?: boolean, ledger: boolean, timeout: string }

export function registerProve (program: Command): void {
  withConfig(program.command('prove'))
    .description('build a self-contained proof bundle for a code (record, chain, ledger proof), signed by this node, for offline checks and QR codes')
    .argument('<code>', 'a code this node holds, or one under its namespace (the printed form is accepted)')
    .option('--out <file>', 'write the bundle bytes (binary) to FILE')
    .option('--qr <file>', 'write a QR code of the text form (medium error correction): FILE.svg or FILE.png')
    .option('--no-ledger', 'leave out the ledger inclusion proof and cosignatures')
    .option('--json', 'machine-readable output: sizes, QR version and the text form')
    .option('--timeout <ms>', 'deadline for resolving the code', '10000')
    .addHelpText('after', '\nThe bundle is signed with this node\'s authority key (from its data directory), which must be the\nholder\'s or an authority\'s above it: run it with the holder\'s or its parent\'s config while that\nnode is stopped. Check a bundle anywhere with `citycode verify`.')
    .action(async (input: string, opts: ProveOptions) => {
      await runHandler(async () => {
        const code = parseCodeInput(input).text
        const qrKind = opts.qr === undefined ? undefined : extname(opts.qr).toLowerCase()
        if (qrKind !== undefined && qrKind !== '.svg' && qrKind !== '.png') throw new ConfigError('--qr must name a .svg or .png file', { field: 'qr' })
        const timeoutMs = Number(opts.timeout)
        if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) throw new ConfigError('--timeout must be a positive number of milliseconds', { field: 'timeout' })
        const node = await nodeFromConfig(configFrom(opts), { listen: [] })
        try {
          const built = await buildBundle(node, code, { ledger: opts.ledger, signal: AbortSignal.timeout(timeoutMs) })
          const version = qrVersion(built.text)
          if (opts.out !== undefined) writeFileSync(opts.out, built.bytes)
          if (opts.qr !== undefined) writeFileSync(opts.qr, qrKind === '.svg' ? await renderQrSvg(built.text) : await renderQrPng(built.text))
          const ledger = built.verified.ledger
          if (opts.json === true) {
            printJson({
              code: built.verified.verified.record.body.code,
              madeAt: new Date(built.verified.madeAt).toISOString(),
              bytes: built.bytes.length,
              textLength: built.text.length,
              qrVersion: version,
              qrErrorCorrection: QR_ERROR_CORRECTION,
              ledger: ledger === null ? null : { log: ledger.log, index: ledger.index, size: ledger.size, cosignatures: ledger.witnesses.length },
              text: built.text
            })
          } else {
            const ledgerNote = ledger === null ? 'no ledger proof' : `ledger entry #${ledger.index} of ${ledger.log}, ${ledger.witnesses.length} cosignature(s)`
            process.stdout.write(`bundle for ${code}: ${built.bytes.length} bytes, text ${built.text.length} characters, QR version ${version}-${QR_ERROR_CORRECTION}, ${ledgerNote}\n${built.text}\n`)
          }
          return 0
        } finally {
          await closeNode(node)
        }
      })
    })
}
