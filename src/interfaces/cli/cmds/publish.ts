import type { Command } from 'commander'
import type { RecordValue } from '../../../core/record/values.ts'
import { ConfigError } from '../../config/load.ts'
import { closeNode, nodeFromConfig } from '../../runtime/node-from-config.ts'
import { printJson, runHandler } from '../output.ts'
import { checkBootstrap, configFrom, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

function parseValue (text: string, previous: RecordValue[]): RecordValue[] {
  const at = text.indexOf('=')
  if (at <= 0) throw new ConfigError(`--value ${text}: expected NAME=VALUE`, { field: 'value' })
  return [...previous, { type: 'data', name: text.slice(0, at), value: text.slice(at + 1) }]
}

export function registerPublish (program: Command): void {
  withConfig(program.command('publish'))
    .description('sign and publish this node\'s record (or a new sub-code with --sub) to the DHT and gossip')
    .option('--sub <name>', 'allocate the next sub-code under this node\'s code for NAME and publish its record')
    .option('--value <name=value>', 'a data value to include (repeatable)', parseValue, [])
    .option('--json', 'machine-readable output')
    .action(async (opts: ConfigOptions & { sub?: string, value: RecordValue[], json?: boolean }) => {
      await runHandler(async () => {
        const config = configFrom(opts)
        const node = await nodeFromConfig(config)
        try {
          await checkBootstrap(node, config, 'require')
          let result
          if (opts.sub !== undefined) {
            if (node.authority === undefined) throw new ConfigError('this node holds no code yet: apply first', { field: 'authority' })
            const code = await node.authority.allocateOwn(opts.sub)
            result = await node.publish(code, [{ type: 'name', lang: 'en', value: opts.sub }, ...opts.value])
          } else {
            result = await node.publishOwn(opts.value)
          }
          const out = { code: result.record.body.code, seq: result.record.body.seq, dhtPeers: result.dhtPeers }
          if (opts.json === true) printJson(out)
          else process.stdout.write(`published ${out.code} seq ${out.seq}, stored on ${out.dhtPeers} DHT peers\n`)
          return 0
        } finally {
          await closeNode(node)
        }
      }, { json: opts.json === true })
    })
}
