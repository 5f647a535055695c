import type { Command } from 'commander'
import { parseCodeInput } from '../../../core/code/check-character.ts'
import { checkAllocationRule } from '../../../core/allocation/rule.ts'
import { checkCovered } from '../../../core/trust/anchors.ts'
import { anchorsOf, closeNode, nodeFromConfig } from '../../runtime/node-from-config.ts'
import { recordText, recordView } from '../../present/record-view.ts'
import { absenceText, absenceView } from '../../present/proof-view.ts'
import { NotFoundError } from '../../../services/errors.ts'
import { EXIT_FAILURE, printJson, runHandler } from '../output.ts'
import { checkBootstrap, configFrom, timeoutOption, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

export function registerResolve (program: Command): void {
  withConfig(program.command('resolve'))
    .description('resolve a code through the network and print its verified record')
    .argument('<code>', 'a code, e.g. MA.156.1301 (the printed form with its check character is accepted)')
    .option('--json', 'machine-readable output')
    .option('--timeout <ms>', 'deadline for the whole resolution', '10000')
    .option('--inclusion', 'also fetch and verify the proof that this version is in its signer\'s ledger')
    .action(async (input: string, opts: ConfigOptions & { json?: boolean, timeout: string, inclusion?: boolean }) => {
      await runHandler(async () => {
        // checked before any network work, as the gateway does: a malformed code, one the allocation
        // rule forbids or one under no configured anchor is one clear line and exit 1
        const parsed = parseCodeInput(input)
        checkAllocationRule(parsed)
        const code = parsed.text
        const timeoutMs = timeoutOption(opts.timeout)
        const config = configFrom(opts)
        checkCovered(code, anchorsOf(config))
        const node = await nodeFromConfig({ ...config, role: 'resolver', dataDir: undefined }, { listen: [] })
        try {
          await checkBootstrap(node, config, 'require')
          let r
          try {
            r = await node.resolve(code, { signal: AbortSignal.timeout(timeoutMs), inclusion: opts.inclusion === true })
          } catch (err) {
            // a proven not-found is an answer, not a failure to get one
            if (!(err instanceof NotFoundError) || err.absence === undefined) throw err
            if (opts.json === true) printJson(absenceView(code, err.absence))
            else process.stdout.write(absenceText(code, err.absence) + '\n')
            return EXIT_FAILURE
          }
          const ledger = r.inclusion === undefined
            ? undefined
            : { log: r.inclusion.head.sth.head.log, index: r.inclusion.index, treeSize: r.inclusion.head.sth.head.size, headTime: new Date(r.inclusion.head.sth.head.time).toISOString(), cosignatures: r.inclusion.head.cosignatures.length }
          if (opts.json === true) printJson({ ...recordView(r.verified), source: r.source, elapsedMs: Number(r.elapsedMs.toFixed(2)), ...(ledger !== undefined ? { ledger } : {}) })
          else {
            process.stdout.write(recordText(r.verified, r.source, r.elapsedMs) + '\n')
            if (ledger !== undefined) process.stdout.write(`ledger: entry ${ledger.index} of ${ledger.log}'s log, proven in its signed head of size ${ledger.treeSize} (${ledger.headTime}, ${ledger.cosignatures} cosignatures)\n`)
          }
          return 0
        } finally {
          await closeNode(node)
        }
      }, { json: opts.json === true })
    })
}
