import { existsSync, readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { RecordValidator } from '../../../core/record/validator.ts'
import { ConfigError } from '../../config/load.ts'
import { anchorsOf, closeNode, nodeFromConfig } from '../../runtime/node-from-config.ts'
import { isCode } from '../../../core/code/grammar.ts'
import { parseCodeInput } from '../../../core/code/check-character.ts'
import { recordText, recordView } from '../../present/record-view.ts'
import { printJson, runHandler } from '../output.ts'
import { checkBootstrap, configFrom, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

/** A record file holds the signed bytes, raw or as hex text. */
function readRecordFile (path: string): Uint8Array {
  const raw = readFileSync(path)
  const text = raw.toString('utf8').trim()
  return /^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0 ? new Uint8Array(Buffer.from(text, 'hex')) : new Uint8Array(raw)
}

export function registerInspect (program: Command): void {
  withConfig(program.command('inspect'))
    .description('decode and verify a record (a file, verified offline, or a code, resolved first) and show its chain')
    .argument('<code|record-file>', 'a code, or a file of signed record bytes (binary or hex)')
    .option('--json', 'machine-readable output')
    .action(async (target: string, opts: ConfigOptions & { json?: boolean }) => {
      await runHandler(async () => {
        const config = configFrom(opts)
        let verified
        if (existsSync(target)) {
          verified = new RecordValidator(anchorsOf(config)).validate(readRecordFile(target))
        } else if (isCode(target.trim().toUpperCase().replace(/-.$/, ''))) {
          const node = await nodeFromConfig({ ...config, role: 'resolver', dataDir: undefined }, { listen: [] })
          try {
            await checkBootstrap(node, config, 'require')
            verified = (await node.resolve(parseCodeInput(target).text)).verified
          } finally {
            await closeNode(node)
          }
        } else {
          throw new ConfigError(`${target} is neither a record file nor a code`, { field: 'code|record-file' })
        }
        if (opts.json === true) printJson(recordView(verified))
        else process.stdout.write(recordText(verified) + '\n')
        return 0
      }, { json: opts.json === true })
    })
}
