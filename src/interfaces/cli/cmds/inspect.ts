import { existsSync, readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { RecordValidator } from '../../../core/record/validator.ts'
import { ConfigError } from '../../config/load.ts'
import { anchorsOf } from '../../runtime/node-from-config.ts'
import { recordText, recordView } from '../../present/record-view.ts'
import { printJson, runHandler } from '../output.ts'
import { configFrom, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

/** A record file holds the signed bytes, raw or as hex text. */
function readRecordFile (path: string): Uint8Array {
  const raw = readFileSync(path)
  const text = raw.toString('utf8').trim()
  return /^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0 ? new Uint8Array(Buffer.from(text, 'hex')) : new Uint8Array(raw)
}

export function registerInspect (program: Command): void {
  withConfig(program.command('inspect'))
    .description('decode and verify a record file offline against the configured anchors and show its chain')
    .argument('<record-file>', 'signed record bytes (binary or hex)')
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: ConfigOptions & { json?: boolean }) => {
      await runHandler(async () => {
        if (!existsSync(file)) throw new ConfigError(`no such record file: ${file} (to look up a code, use citycode resolve)`, { field: 'record-file' })
        const config = configFrom(opts)
        const verified = new RecordValidator(anchorsOf(config)).validate(readRecordFile(file))
        if (opts.json === true) printJson(recordView(verified))
        else process.stdout.write(recordText(verified) + '\n')
        return 0
      })
    })
}
