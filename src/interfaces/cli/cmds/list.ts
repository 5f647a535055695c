import type { Command } from 'commander'
import { parseCodeInput } from '../../../core/code/check-character.ts'
import { toHex } from '../../../core/crypto/hash.ts'
import { parsePageLimit } from '../../../core/ledger/cursor.ts'
import type { ProvenEntry } from '../../../core/ledger/page.ts'
import { NotFoundError } from '../../../services/errors.ts'
import type { LogPage } from '../../../services/ledger/index.ts'
import { childrenPage, historyLogs, historyPages, isPage } from '../../../services/ledger/listings.ts'
import type { UnreadLog } from '../../../services/ledger/listings.ts'
import { ConfigError } from '../../config/load.ts'
import { closeNode, nodeFromConfig } from '../../runtime/node-from-config.ts'
import { EXIT_OK, printJson, runHandler } from '../output.ts'
import { checkBootstrap, configFrom, withConfig, timeoutOption } from './common.ts'
import type { ConfigOptions } from './common.ts'

const LISTINGS = ['children', 'history', 'log'] as const
type Listing = typeof LISTINGS[number]

interface ListOptions extends ConfigOptions { json?: boolean, limit?: string, cursor?: string, timeout: string }

function entryJson (log: string, e: ProvenEntry): Record<string, unknown> {
  return {
    log, index: e.index, type: e.entry.type, code: e.entry.code, ...(e.entry.seq !== undefined ? { seq: e.entry.seq } : {}),
    time: new Date(e.entry.time).toISOString(), object: toHex(e.entry.object), proof: e.proof.map(toHex)
  }
}

function headJson (page: LogPage): Record<string, unknown> {
  const h = page.head.sth.head
  return { log: h.log, size: h.size, root: toHex(h.root), time: new Date(h.time).toISOString(), signedHead: toHex(page.head.bytes), ...(page.next !== undefined ? { next: page.next } : {}) }
}

function entryLine (log: string, e: ProvenEntry): string {
  const what = e.entry.type === 'record' ? `record seq ${e.entry.seq ?? '?'}` : e.entry.type
  return `  ${new Date(e.entry.time).toISOString()}  ${what.padEnd(14)} ${e.entry.code.padEnd(22)} ${log} #${e.index}`
}

/**
 * `citycode list children|history|log <code>`: one page of a listing, read from the network through
 * a resolver node of the command's own, every entry checked against the log's signed head before
 * it is printed. `--cursor` takes the `next` a previous page printed.
 */
export function registerList (program: Command): void {
  withConfig(program.command('list'))
    .description('list a code\'s children or history, or an authority\'s log, one page at a time, every entry proven against the signed head')
    .argument('<listing>', LISTINGS.join(' | '))
    .argument('<code>', 'the code (for `log`: the authority\'s namespace)')
    .option('--limit <n>', 'entries per page (1-1000; a log\'s node answers at most 128)', '100')
    .option('--cursor <cursor>', 'continue a listing: the `next` printed by the previous page')
    .option('--json', 'machine-readable output')
    .option('--timeout <ms>', 'deadline for the page', '20000')
    .action(async (listing: string, input: string, opts: ListOptions) => {
      await runHandler(async () => {
        if (!(LISTINGS as readonly string[]).includes(listing)) throw new ConfigError(`unknown listing "${listing.slice(0, 32)}": one of ${LISTINGS.join(', ')}`, { field: 'listing' })
        const code = parseCodeInput(input).text
        const limit = parsePageLimit(opts.limit)
        const timeoutMs = timeoutOption(opts.timeout)
        const config = configFrom(opts)
        const node = await nodeFromConfig({ ...config, role: 'resolver', dataDir: undefined }, { listen: [] })
        try {
          await checkBootstrap(node, config, 'require')
          const ledger = node.ledger
          if (ledger === undefined) throw new ConfigError('this node runs without a ledger', { field: 'ledger' })
          const signal = AbortSignal.timeout(timeoutMs)
          const paging = { limit, ...(opts.cursor !== undefined ? { cursor: opts.cursor } : {}), signal }
          const signerOf = async (c: string): Promise<string | undefined> => await node.resolve(c, { signal }).then(r => r.verified.chain.namespace, (err: unknown) => {
            if (err instanceof NotFoundError) return undefined
            throw err
          })
          let reads: Array<LogPage | UnreadLog>
          let next: string | undefined
          switch (listing as Listing) {
            case 'children': {
              const page = await childrenPage(ledger, code, { ...paging, signerOf })
              reads = [page]
              next = page.next
              break
            }
            case 'history': {
              const out = await historyPages(ledger, code, historyLogs(code, await signerOf(code)), paging)
              reads = out.reads
              next = out.next
              break
            }
            case 'log': {
              const page = await ledger.readPage(code, { of: 'range', ...paging }, { signal })
              reads = [page]
              next = page.next
              break
            }
          }
          const pages = reads.filter(isPage)
          if (pages.length === 0) throw new NotFoundError(`no ledger answered for ${code}: ${reads.map(r => isPage(r) ? '' : `${r.log}: ${r.error}`).join('; ')}`, { code })
          if (opts.json === true) {
            printJson({
              listing, code,
              logs: reads.map(r => isPage(r) ? headJson(r) : r),
              entries: pages.flatMap(p => p.entries.map(e => entryJson(p.log, e))),
              ...(next !== undefined ? { next } : {})
            })
          } else {
            const lines = [`${listing} of ${code}`]
            for (const r of reads) {
              if (!isPage(r)) {
                lines.push(`log ${r.log}: not read (${r.code}: ${r.error})`)
                continue
              }
              lines.push(`log ${r.log}: signed head of ${r.head.sth.head.size} entries, root ${toHex(r.head.sth.head.root).slice(0, 16)}…; ${r.entries.length} entries proven`)
              for (const e of r.entries) lines.push(entryLine(r.log, e))
            }
            lines.push(next !== undefined ? `next: ${next}` : 'end of listing')
            process.stdout.write(lines.join('\n') + '\n')
          }
          return EXIT_OK
        } finally {
          await closeNode(node)
        }
      }, { json: opts.json === true })
    })
}
