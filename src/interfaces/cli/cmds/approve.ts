import type { Command } from 'commander'
import type { Decision } from '../../../services/admin/index.ts'
import { openAdmin } from '../../admin/index.ts'
import type { AdminSession } from '../../admin/index.ts'
import { ConfigError } from '../../config/load.ts'
import { EXIT_FAILURE, printJson, runHandler } from '../output.ts'
import { configFrom, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

/** One stderr line saying which node decided: the running one, or a stopped one's data directory. */
export function reportVia (session: AdminSession): void {
  process.stderr.write(session.via === 'admin-socket' ? `via the running node's admin socket ${session.where}\n` : `via the data directory ${session.where} (the node is not running)\n`)
}

function describe (d: Decision): string {
  switch (d.status) {
    case 'allocated': return `${d.id} approved: ${d.code}${d.duplicate ? ' (already allocated to that key)' : ''}`
    case 'pending': return `${d.id} still pending`
    case 'rejected': return `${d.id} rejected`
    case 'failed': return `${d.id} not decided: ${d.error.name}: ${d.error.message}`
  }
}

export function registerApprove (program: Command): void {
  withConfig(program.command('approve'))
    .description('list pending applications (no ids), or approve (or --reject) the given ones; on the running node through its admin socket, else on its data directory')
    .argument('[ids...]', 'application ids to approve')
    .option('--reject', 'reject the given ids instead')
    .option('--reinstate', 'consent that each applicant gets the code its official code names although another key holds it (a city that lost its data directory): the code is re-certified to its key and the old certificate revoked')
    .option('--json', 'machine-readable output')
    .action(async (ids: string[], opts: ConfigOptions & { reject?: boolean, reinstate?: boolean, json?: boolean }) => {
      await runHandler(async () => {
        const config = configFrom(opts)
        if (config.dataDir === undefined && config.adminSocket === undefined) throw new ConfigError('approve works on a node with a dataDir (or its adminSocket)', { field: 'dataDir' })
        if (opts.reject === true && ids.length === 0) throw new ConfigError('--reject needs the ids of the applications to reject', { field: 'ids' })
        if (opts.reinstate === true && (ids.length === 0 || opts.reject === true)) throw new ConfigError('--reinstate needs the ids of the applications to approve (and no --reject)', { field: 'reinstate' })
        const session = await openAdmin(config)
        try {
          reportVia(session)
          if (ids.length === 0) {
            const pending = await session.operations.pending()
            if (opts.json === true) printJson(pending)
            else if (pending.length === 0) process.stdout.write('no pending applications\n')
            else for (const p of pending) process.stdout.write(`${p.id}  ${p.name}  ${p.officialCode ?? ''}  received ${new Date(p.receivedAt).toISOString()}\n`)
            return 0
          }
          const decisions = opts.reject === true ? await session.operations.reject(ids) : await session.operations.approve(ids, opts.reinstate === true ? { reinstate: true } : {})
          if (opts.json === true) printJson({ via: session.via, decisions })
          else for (const d of decisions) process.stdout.write(`${describe(d)}\n`)
          return decisions.some(d => d.status === 'failed') ? EXIT_FAILURE : 0
        } finally {
          await session.close()
        }
      }, { json: opts.json === true })
    })
}
