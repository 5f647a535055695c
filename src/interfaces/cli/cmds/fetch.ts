import { resolve as resolvePath } from 'node:path'
import type { Command } from 'commander'
import { parseCodeInput } from '../../../core/code/check-character.ts'
import { MAX_FETCH_TIMEOUT_MS } from '../../../services/admin/index.ts'
import { DEFAULT_FETCH_TIMEOUT_MS } from '../../../services/exchange/index.ts'
import { openAdmin } from '../../admin/index.ts'
import { ConfigError } from '../../config/load.ts'
import { printJson, runHandler } from '../output.ts'
import { reportVia } from './approve.ts'
import { configFrom, withConfig, timeoutOption } from './common.ts'
import type { ConfigOptions } from './common.ts'

/** `CODE/NAME`: the code (printed form accepted) and the dataset's name. */
export function parseDatasetRef (ref: string): { code: string, name: string } {
  const slash = ref.lastIndexOf('/')
  if (slash <= 0 || slash === ref.length - 1) throw new ConfigError(`${JSON.stringify(ref.slice(0, 128))} is not CODE/NAME, e.g. MA.156.1301.05/water-quality`, { field: 'dataset' })
  return { code: parseCodeInput(ref.slice(0, slash)).text, name: ref.slice(slash + 1) }
}

export function registerFetch (program: Command): void {
  withConfig(program.command('fetch'))
    .description('fetch another city\'s dataset by CODE/NAME: resolve the code, verify its catalogue, prove this node\'s code to the holder and take every block only once its hash matches; blocks already held are not asked for again')
    .argument('<dataset>', 'CODE/NAME, e.g. MA.156.1301.05/water-quality')
    .option('--out <path>', 'write the dataset\'s bytes here (written whole or not at all)')
    .option('--timeout <ms>', 'deadline of the whole fetch', String(DEFAULT_FETCH_TIMEOUT_MS))
    .option('--json', 'machine-readable output')
    .action(async (ref: string, opts: ConfigOptions & { out?: string, timeout: string, json?: boolean }) => {
      await runHandler(async () => {
        const { code, name } = parseDatasetRef(ref)
        const timeoutMs = timeoutOption(opts.timeout, MAX_FETCH_TIMEOUT_MS)
        const session = await openAdmin(configFrom(opts))
        try {
          reportVia(session)
          const fetched = await session.operations.fetch({ code, name, timeoutMs, ...(opts.out !== undefined ? { out: resolvePath(opts.out) } : {}) })
          if (opts.json === true) printJson({ ...fetched, via: session.via })
          else {
            process.stdout.write(`fetched ${fetched.code}/${fetched.dataset} ${fetched.cid} (${fetched.size} bytes, ${fetched.mediaType}) from ${fetched.provider}: ${fetched.blocks} blocks moved, ${fetched.alreadyHeld} already held, ${fetched.receipts} receipts${fetched.out !== null ? `; written to ${fetched.out}` : ''}\n`)
          }
          return 0
        } finally {
          await session.close()
        }
      }, { json: opts.json === true })
    })
}
