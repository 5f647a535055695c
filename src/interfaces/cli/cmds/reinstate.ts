import type { Command } from 'commander'
import { parseCodeInput } from '../../../core/code/check-character.ts'
import { openAdmin } from '../../admin/index.ts'
import { ConfigError } from '../../config/load.ts'
import { printJson, runHandler } from '../output.ts'
import { reportVia } from './approve.ts'
import { configFrom, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

const HEX_64 = /^[0-9a-f]{64}$/

export function registerReinstate (program: Command): void {
  withConfig(program.command('reinstate'))
    .description('as the parent: re-certify a child\'s code to a new key (SPEC 4.4), e.g. after its key was compromised and revoked, or its data directory lost; the old certificate is revoked (unless it is already) and both are logged')
    .argument('<code>', 'the child\'s code (the printed form is accepted)')
    .requiredOption('--key <hex>', 'the new holder\'s authority key, 64 hex (its `citycode init` prints it)')
    .option('--next <hex>', 'SHA-256 of the new holder\'s next key, 64 hex, so it can rotate later without this parent')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nThe child then starts (or runs `citycode apply`) with the new key and gets the new certificate at once.\nA resolver that holds the old revocation takes the new certificate: a revocation names one certificate,\nnot the code. A city whose application names its code by an official code can also be re-certified by\napproving that application: `citycode approve --reinstate ID`.')
    .action(async (input: string, opts: ConfigOptions & { key: string, next?: string, json?: boolean }) => {
      await runHandler(async () => {
        const code = parseCodeInput(input).text
        if (!HEX_64.test(opts.key)) throw new ConfigError('--key must be 64 lower-case hex characters (the new holder\'s authority key)', { field: 'key' })
        if (opts.next !== undefined && !HEX_64.test(opts.next)) throw new ConfigError('--next must be 64 lower-case hex characters (SHA-256 of the next key)', { field: 'next' })
        const session = await openAdmin(configFrom(opts))
        try {
          reportVia(session)
          const r = await session.operations.reinstate({ code, key: opts.key, ...(opts.next !== undefined ? { next: opts.next } : {}) })
          if (opts.json === true) printJson({ ...r, via: session.via })
          else if (r.duplicate) process.stdout.write(`${r.code} is already certified to key ${r.key.slice(0, 16)}…: nothing changed\n`)
          else process.stdout.write(`re-certified ${r.code} to key ${r.key.slice(0, 16)}… (serial ${r.serial})${r.revokedPrevious ? '; the certificate it replaces is revoked' : ''}\n`)
          return 0
        } finally {
          await session.close()
        }
      }, { json: opts.json === true })
    })
}
