import type { Command } from 'commander'
import { ConfigError } from '../../config/load.ts'
import { applicationFields, closeNode, nodeFromConfig } from '../../runtime/node-from-config.ts'
import { printJson, runHandler } from '../output.ts'
import { checkBootstrap, configFrom, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

export function registerApply (program: Command): void {
  withConfig(program.command('apply'))
    .description('apply to the parent authority named in the config for a code, then publish this node\'s record')
    .option('--timeout <ms>', 'give up after this long (manual approval may take a while)', '30000')
    .option('--json', 'machine-readable output')
    .action(async (opts: ConfigOptions & { timeout: string, json?: boolean }) => {
      await runHandler(async () => {
        const config = configFrom(opts)
        const parent = config.authority.parent
        if (parent === undefined) throw new ConfigError('authority.parent is required to apply', { field: 'authority.parent' })
        const node = await nodeFromConfig(config)
        try {
          await checkBootstrap(node, config, 'require')
          const code = await node.apply(parent, applicationFields(config, parent.namespace), { timeoutMs: Number(opts.timeout) })
          const published = await node.publishOwn()
          if (opts.json === true) printJson({ code, seq: published.record.body.seq, dhtPeers: published.dhtPeers })
          else process.stdout.write(`allocated ${code}; record seq ${published.record.body.seq} stored on ${published.dhtPeers} DHT peers\n`)
          return 0
        } finally {
          await closeNode(node)
        }
      }, { json: opts.json === true })
    })
}
