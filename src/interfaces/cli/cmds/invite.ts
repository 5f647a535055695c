import { writeFileSync } from 'node:fs'
import type { Command } from 'commander'
import { MAX_INVITATION_DAYS } from '../../../services/admin/index.ts'
import { openAdmin } from '../../admin/index.ts'
import { ConfigError } from '../../config/load.ts'
import { printJson, runHandler } from '../output.ts'
import { reportVia } from './approve.ts'
import { configFrom, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

interface InviteOptions extends ConfigOptions { key: string, code?: string, days: string, out: string, json?: boolean }

export function registerInvite (program: Command): void {
  withConfig(program.command('invite'))
    .description('sign an invitation for one applicant key (SPEC 2.2): under "approval": "auto", its application is allocated at once; anyone else still waits for `citycode approve`')
    .requiredOption('--key <hex>', 'the applicant\'s authority key, 64 hex (its `citycode init` prints it)')
    .requiredOption('--out <file>', 'where to write the invitation; the applicant names it in its config as authority.invitation')
    .option('--code <code>', 'the one code the applicant gets (a direct child of this node\'s code); default: the allocation rule picks')
    .option('--days <n>', `valid for this many days (1 to ${MAX_INVITATION_DAYS})`, '7')
    .option('--json', 'machine-readable output')
    .action(async (opts: InviteOptions) => {
      await runHandler(async () => {
        if (!/^[0-9a-f]{64}$/.test(opts.key)) throw new ConfigError('--key must be 64 lower-case hex characters (the applicant\'s authority key)', { field: 'key' })
        const days = Number(opts.days)
        if (!Number.isSafeInteger(days) || days < 1 || days > MAX_INVITATION_DAYS) throw new ConfigError(`--days must be a whole number from 1 to ${MAX_INVITATION_DAYS}`, { field: 'days' })
        const session = await openAdmin(configFrom(opts))
        try {
          reportVia(session)
          const invitation = await session.operations.invite({ key: opts.key, ...(opts.code !== undefined ? { code: opts.code } : {}), validDays: days })
          writeFileSync(opts.out, invitation.bytes)
          const expiresAt = new Date(invitation.expiresAt).toISOString()
          if (opts.json === true) printJson({ namespace: invitation.namespace, key: invitation.key, code: invitation.code, expiresAt, out: opts.out, via: session.via })
          else process.stdout.write(`invitation to ${invitation.namespace}${invitation.code === null ? '' : ` for ${invitation.code}`} for key ${invitation.key.slice(0, 16)}… until ${expiresAt} written to ${opts.out}\n`)
          return 0
        } finally {
          await session.close()
        }
      }, { json: opts.json === true })
    })
}
