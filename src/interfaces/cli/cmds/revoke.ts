import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { Command } from 'commander'
import { parseCodeInput } from '../../../core/code/check-character.ts'
import { decodeRevocationList, encodeRevocationList, REVOCATION_LIST_MAX_ENTRIES } from '../../../core/proof/revocation-list.ts'
import { MAX_PROVE_TIMEOUT_MS } from '../../../services/admin/index.ts'
import { openAdmin } from '../../admin/index.ts'
import { ConfigError } from '../../config/load.ts'
import { printJson, runHandler } from '../output.ts'
import { reportVia } from './approve.ts'
import { configFrom, withConfig, timeoutOption } from './common.ts'
import type { ConfigOptions } from './common.ts'

interface RevokeOptions extends ConfigOptions { reason: string, at?: string, out: string, json?: boolean, timeout: string }

/** `--at`: Unix milliseconds or an ISO 8601 date. */
function parseAt (at: string | undefined): number | undefined {
  if (at === undefined) return undefined
  const ms = /^\d+$/.test(at) ? Number(at) : Date.parse(at)
  if (!Number.isSafeInteger(ms) || ms < 0) throw new ConfigError(`--at must be Unix milliseconds or an ISO 8601 date, not ${JSON.stringify(at.slice(0, 64))}`, { field: 'at' })
  return ms
}

/** The list already in `path` (kept, so one file collects every revocation a verifier should know), else none. */
function existingList (path: string): Uint8Array[] {
  if (!existsSync(path)) return []
  return decodeRevocationList(new Uint8Array(readFileSync(path))).map(r => r.bytes)
}

export function registerRevoke (program: Command): void {
  withConfig(program.command('revoke'))
    .description('revoke the certificate for a code (this node\'s own, or a child\'s it issued): sign it, record it in the ledger, add it to a revocation list file for `citycode verify --revocations`')
    .argument('<code>', 'the code whose certificate is revoked (the printed form is accepted)')
    .requiredOption('--reason <text>', 'why (at most 256 characters), e.g. "key compromised"')
    .requiredOption('--out <file>', 'the revocation list file to add it to (created if missing)')
    .option('--at <when>', 'revoked from this time (Unix ms or ISO 8601 date), e.g. when a key was compromised; default now')
    .option('--timeout <ms>', 'deadline for resolving a child\'s chain', '10000')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nRun it with the holder\'s config (retiring its own key) or its parent\'s (the issuer). A running node\nsigns it itself (asked on its admin socket) and honours it from then on; a stopped one\'s key is read\nfrom its data directory. A bundle whose chain holds the certificate is then refused by\n`citycode verify --revocations FILE`.')
    .action(async (input: string, opts: RevokeOptions) => {
      await runHandler(async () => {
        const code = parseCodeInput(input).text
        const revokedAt = parseAt(opts.at)
        const timeoutMs = timeoutOption(opts.timeout, MAX_PROVE_TIMEOUT_MS)
        if (opts.reason.length === 0 || opts.reason.length > 256) throw new ConfigError('--reason must be 1 to 256 characters', { field: 'reason' })
        // read the list first: a file that is not one is refused before anything is signed
        const list = existingList(opts.out)
        if (list.length >= REVOCATION_LIST_MAX_ENTRIES) throw new ConfigError(`${opts.out} already holds ${REVOCATION_LIST_MAX_ENTRIES} revocations, the most a list may`, { field: 'out' })
        const session = await openAdmin(configFrom(opts))
        try {
          reportVia(session)
          const revoked = await session.operations.revoke({ code, reason: opts.reason, revokedAt, timeoutMs })
          const hex = Buffer.from(revoked.bytes).toString('hex')
          const entries = list.some(b => Buffer.from(b).toString('hex') === hex) ? list : [...list, revoked.bytes]
          writeFileSync(opts.out, encodeRevocationList(entries))
          if (opts.json === true) {
            printJson({ code: revoked.code, revokedAt: new Date(revoked.revokedAt).toISOString(), reason: revoked.reason, ledgerIndex: revoked.ledgerIndex, out: opts.out, entries: entries.length, via: session.via })
          } else {
            process.stdout.write(`revoked the certificate for ${revoked.code} from ${new Date(revoked.revokedAt).toISOString()} (${revoked.reason})${revoked.ledgerIndex === null ? '' : `, ledger entry #${revoked.ledgerIndex}`}; ${opts.out} holds ${entries.length} revocation(s)\n`)
          }
          return 0
        } finally {
          await session.close()
        }
      }, { json: opts.json === true })
    })
}
