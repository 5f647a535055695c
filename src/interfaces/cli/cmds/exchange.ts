import type { Command } from 'commander'
import { MAX_LOG_ENTRIES_PER_REQUEST } from '../../../services/admin/index.ts'
import { openAdmin } from '../../admin/index.ts'
import { ConfigError } from '../../config/load.ts'
import { printJson, runHandler } from '../output.ts'
import { reportVia } from './approve.ts'
import { configFrom, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

export function registerExchange (program: Command): void {
  const exchange = program.command('exchange').description('data exchange between cities: the log of transfers')
  withConfig(exchange.command('log'))
    .description('list the transfers this node served and fetched (who, what, when, under which policy) and verify the whole log: every link and every signed request and receipt')
    .option('--limit <n>', 'the last n entries', String(MAX_LOG_ENTRIES_PER_REQUEST))
    .option('--json', 'machine-readable output')
    .action(async (opts: ConfigOptions & { limit: string, json?: boolean }) => {
      await runHandler(async () => {
        const limit = Number(opts.limit)
        if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LOG_ENTRIES_PER_REQUEST) throw new ConfigError(`--limit must be 1 to ${MAX_LOG_ENTRIES_PER_REQUEST}`, { field: 'limit' })
        const session = await openAdmin(configFrom(opts))
        try {
          reportVia(session)
          const log = await session.operations.exchangeLog({ limit })
          if (opts.json === true) printJson(log)
          else {
            for (const e of log.entries) {
              const who = e.role === 'served' ? `served ${e.requester} (${e.peer})` : `fetched from ${e.provider} (${e.peer})`
              process.stdout.write(`#${e.seq} ${new Date(e.time).toISOString()} ${who} ${e.dataset === '' ? '(catalogue)' : e.dataset} ${e.root} ${e.bytes} bytes, access ${e.policy}, ${e.receipts} receipt(s), ${e.outcome}\n`)
            }
            process.stdout.write(`${log.verified.entries} entries verified${log.verified.head !== null ? `, head ${log.verified.head}` : ''}\n`)
          }
          return 0
        } finally {
          await session.close()
        }
      }, { json: opts.json === true })
    })
}
