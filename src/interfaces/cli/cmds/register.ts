import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { batchLineFields, formatOf, parseBatch } from '../../../core/allocation/batch.ts'
import type { BatchLineFields } from '../../../core/allocation/batch.ts'
import { BatchError } from '../../../core/errors.ts'
import type { BulkReport } from '../../../services/authority/bulk-register.ts'
import { openAdmin } from '../../admin/index.ts'
import { ADMIN_REQUEST_MAX_BYTES } from '../../admin/protocol.ts'
import { ConfigError } from '../../config/load.ts'
import { EXIT_FAILURE, printJson, runHandler } from '../output.ts'
import { reportVia } from './approve.ts'
import { configFrom, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

/** Room left in a socket request for the envelope around its lines. */
const REQUEST_ENVELOPE_BYTES = 256
const SOCKET_CHUNK_MAX_LINES = 1000

/** Lines in requests the admin socket takes (ADMIN_REQUEST_MAX_BYTES); the data directory takes them all at once. */
function chunks (lines: readonly BatchLineFields[], bounded: boolean): BatchLineFields[][] {
  if (!bounded) return [[...lines]]
  const out: BatchLineFields[][] = []
  let current: BatchLineFields[] = []
  let bytes = REQUEST_ENVELOPE_BYTES
  for (const l of lines) {
    const size = Buffer.byteLength(JSON.stringify(l)) + 1
    if (current.length > 0 && (bytes + size > ADMIN_REQUEST_MAX_BYTES || current.length >= SOCKET_CHUNK_MAX_LINES)) {
      out.push(current)
      current = []
      bytes = REQUEST_ENVELOPE_BYTES
    }
    current.push(l)
    bytes += size
  }
  if (current.length > 0) out.push(current)
  return out
}

export function registerRegister (program: Command): void {
  withConfig(program.command('register'))
    .description('register many sub-codes of this city at once, signed by the city and logged; on the running node through its admin socket, else on its data directory')
    .requiredOption('--batch <file>', 'a .csv (header: number|code,name,type,VALUE...) or .jsonl ({"number","name","type","values"}) file, one sub-code a line')
    .option('--json', 'machine-readable output')
    .action(async (opts: ConfigOptions & { batch: string, json?: boolean }) => {
      await runHandler(async () => {
        const config = configFrom(opts)
        if (config.dataDir === undefined && config.adminSocket === undefined) throw new ConfigError('register works on a node with a dataDir (or its adminSocket)', { field: 'dataDir' })
        const format = formatOf(opts.batch)
        const text = await readFile(opts.batch, 'utf8').catch((err: Error) => { throw new ConfigError(`cannot read ${opts.batch}: ${err.message}`, { field: 'batch' }) })
        const session = await openAdmin(config)
        try {
          reportVia(session)
          const namespace = (await session.operations.status()).namespace
          if (namespace === null) throw new ConfigError('this node holds no code yet: apply first', { field: 'authority' })
          let parts: BatchLineFields[][]
          try {
            parts = chunks(parseBatch(text, format, namespace).map(batchLineFields), session.via === 'admin-socket')
            // the whole file against what is allocated before the first write: nothing half written
            for (const lines of parts) await session.operations.registerBatch({ lines, check: true })
          } catch (err) {
            if (err instanceof BatchError && opts.json === true) {
              printJson({ error: { name: err.name, code: err.code, message: err.message, lines: err.lines } })
              process.stderr.write(`error: ${err.name}: ${err.message}\n`)
              return EXIT_FAILURE
            }
            throw err
          }
          const total = parts.reduce((n, p) => n + p.length, 0)
          const report: BulkReport = { total, registered: 0, already: 0, outcomes: [] }
          const started = performance.now()
          const progress = (done: number): void => {
            if (opts.json !== true) process.stderr.write(`\r${done}/${total} lines (${Math.round(done / Math.max(1, (performance.now() - started) / 1000))}/s)`)
          }
          let done = 0
          for (const lines of parts) {
            const part = await session.operations.registerBatch({ lines, onProgress: (p) => { progress(done + p.done) } })
            done += part.total
            progress(done)
            report.registered += part.registered
            report.already += part.already
            report.outcomes.push(...part.outcomes)
          }
          if (opts.json !== true) process.stderr.write('\n')
          if (opts.json === true) printJson({ via: session.via, namespace, ...report })
          else {
            for (const o of report.outcomes) if (o.status === 'already') process.stdout.write(`line ${o.line}: ${o.code} already registered\n`)
            process.stdout.write(`registered ${report.registered} sub-codes of ${namespace}, ${report.already} already registered, ${report.total} lines\n`)
          }
          return 0
        } finally {
          await session.close()
        }
      }, { json: opts.json === true })
    })
}
