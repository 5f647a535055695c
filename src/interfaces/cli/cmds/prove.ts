import { writeFileSync } from 'node:fs'
import { extname } from 'node:path'
import type { Command } from 'commander'
import { parseCodeInput } from '../../../core/code/check-character.ts'
import { QR_ERROR_CORRECTION, qrVersion, renderQrPng, renderQrSvg } from '../../../services/proof/qr.ts'
import { MAX_PROVE_TIMEOUT_MS } from '../../../services/admin/index.ts'
import { openAdmin } from '../../admin/index.ts'
import { ConfigError } from '../../config/load.ts'
import { printJson, runHandler } from '../output.ts'
import { reportVia } from './approve.ts'
import { configFrom, withConfig, timeoutOption } from './common.ts'
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
    .addHelpText('after', '\nThe bundle is signed with this node\'s authority key, which must be the holder\'s or an authority\'s\nabove it: run it with the holder\'s or its parent\'s config. A running node signs it itself (asked on\nits admin socket); a stopped one\'s key is read from its data directory. Check a bundle anywhere with\n`citycode verify`.')
    .action(async (input: string, opts: ProveOptions) => {
      await runHandler(async () => {
        const code = parseCodeInput(input).text
        const qrKind = opts.qr === undefined ? undefined : extname(opts.qr).toLowerCase()
        if (qrKind !== undefined && qrKind !== '.svg' && qrKind !== '.png') throw new ConfigError('--qr must name a .svg or .png file', { field: 'qr' })
        const timeoutMs = timeoutOption(opts.timeout, MAX_PROVE_TIMEOUT_MS)
        const session = await openAdmin(configFrom(opts))
        try {
          reportVia(session)
          const built = await session.operations.prove({ code, ledger: opts.ledger, timeoutMs })
          const version = qrVersion(built.text)
          if (opts.out !== undefined) writeFileSync(opts.out, built.bytes)
          if (opts.qr !== undefined) writeFileSync(opts.qr, qrKind === '.svg' ? await renderQrSvg(built.text) : await renderQrPng(built.text))
          const ledger = built.ledger
          if (opts.json === true) {
            printJson({
              code: built.code,
              madeAt: new Date(built.madeAt).toISOString(),
              bytes: built.bytes.length,
              textLength: built.text.length,
              qrVersion: version,
              qrErrorCorrection: QR_ERROR_CORRECTION,
              ledger,
              text: built.text,
              via: session.via
            })
          } else {
            const ledgerNote = ledger === null ? 'no ledger proof' : `ledger entry #${ledger.index} of ${ledger.log}, ${ledger.cosignatures} cosignature(s)`
            process.stdout.write(`bundle for ${code}: ${built.bytes.length} bytes, text ${built.text.length} characters, QR version ${version}-${QR_ERROR_CORRECTION}, ${ledgerNote}\n${built.text}\n`)
          }
          return 0
        } finally {
          await session.close()
        }
      }, { json: opts.json === true })
    })
}
