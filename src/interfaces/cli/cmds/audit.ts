import type { Command } from 'commander'
import { parseCodeInput } from '../../../core/code/check-character.ts'
import type { AuditProgress, AuditReport } from '../../../services/ledger/index.ts'
import { fileAuditState } from '../audit-state.ts'
import { ConfigError } from '../../config/load.ts'
import { closeNode, nodeFromConfig } from '../../runtime/node-from-config.ts'
import { EXIT_FAILURE, EXIT_OK, printJson, runHandler } from '../output.ts'
import { checkBootstrap, configFrom, withConfig, timeoutOption } from './common.ts'
import type { ConfigOptions } from './common.ts'

const short = (hex: string | undefined): string => hex === undefined ? '-' : `${hex.slice(0, 16)}…`
const when = (ms: number): string => new Date(ms).toISOString()

/** The report as lines for people; `--json` prints it whole. */
export function auditText (report: AuditReport): string {
  const out: string[] = [`audit ${report.target}: ${report.ok ? 'ok' : 'ALARM'}${report.revoked ? ', REVOKED' : ''}`]
  for (const r of report.revocations) {
    const which = r.current === true ? 'its current certificate' : r.current === false ? 'an earlier certificate, not the current one' : 'a certificate (current one not seen)'
    out.push(`revoked: ${r.namespace}: ${which} ${short(r.certificate)} revoked ${when(r.revokedAt)}: ${r.reason}`)
  }
  for (const l of report.logs) {
    if (l.error !== undefined || l.head === undefined) {
      out.push(`log ${l.log}: not audited (${l.error ?? 'no head'})`)
      continue
    }
    out.push(`log ${l.log}  node ${l.peer ?? '-'}  key ${short(l.key)}`)
    out.push(`  head: size ${l.head.size}, root ${short(l.head.root)}, signed ${when(l.head.time)}, ${l.head.cosignatures} cosignature(s)`)
    out.push(`  entries: ${l.entries} fetched, root ${l.rootMatches ? 'matches' : 'DOES NOT MATCH'}; inclusion verified for ${l.inclusionChecked}, failed for ${l.inclusionFailed}`)
    out.push(`  heads held: ${l.heads.map(h => `${h.source} ${h.size} ${h.status}`).join('; ')}`)
  }
  out.push(`history of ${report.target}:`)
  if (report.history.length === 0) out.push('  (no entries)')
  for (const h of report.history) {
    const what = h.type === 'record' ? `record seq ${h.seq ?? '?'}` : h.type
    out.push(`  ${when(h.time)}  ${what.padEnd(14)} in ${h.log} #${h.index}  object ${short(h.object)}${h.included ? '' : '  NOT INCLUDED'}`)
  }
  if (report.alarms.length === 0) out.push('alarms: none')
  for (const a of report.alarms) out.push(`ALARM ${a.kind} in ${a.log}: ${a.detail}${a.evidence !== undefined ? ` (evidence ${a.evidence.length / 2} bytes, --json prints it)` : ''}`)
  return out.join('\n')
}

export function registerAudit (program: Command): void {
  withConfig(program.command('audit'))
    .description('fetch an authority\'s ledger over the network, check every entry and head, print a code\'s history and any alarm')
    .argument('<code|authority>', 'a code (its allocation and versions) or an authority namespace (its whole log)')
    .option('--json', 'machine-readable output')
    .option('--timeout <ms>', 'deadline for the whole audit', '60000')
    .option('--state <file>', 'keep the audit\'s progress in this file and go on from it: an interrupted or later audit reads only the entries after the last one checked')
    .action(async (input: string, opts: ConfigOptions & { json?: boolean, timeout: string, state?: string }) => {
      await runHandler(async () => {
        const code = parseCodeInput(input).text
        const timeoutMs = timeoutOption(opts.timeout)
        const config = configFrom(opts)
        const node = await nodeFromConfig({ ...config, role: 'resolver', dataDir: undefined }, { listen: [] })
        try {
          await checkBootstrap(node, config, 'require')
          if (node.ledger === undefined) throw new ConfigError('this node runs without a ledger', { field: 'ledger' })
          const state = opts.state === undefined ? undefined : fileAuditState(opts.state, code, (line) => { process.stderr.write(`warning: ${line}\n`) })
          // a progress line on a terminal, redrawn in place; nothing in logs or pipes
          const onProgress = process.stderr.isTTY
            ? (p: AuditProgress): void => { process.stderr.write(`\raudit ${p.log}: ${p.done}/${p.total} entries checked (${Math.floor(100 * p.done / Math.max(1, p.total))}%)`) }
            : undefined
          const report = await node.ledger.audit(code, { signal: AbortSignal.timeout(timeoutMs), ...(state !== undefined ? { state } : {}), ...(onProgress !== undefined ? { onProgress } : {}) })
          if (onProgress !== undefined) process.stderr.write('\n')
          if (opts.json === true) printJson(report)
          else process.stdout.write(auditText(report) + '\n')
          return report.ok && !report.revoked ? EXIT_OK : EXIT_FAILURE
        } finally {
          await closeNode(node)
        }
      }, { json: opts.json === true })
    })
}
