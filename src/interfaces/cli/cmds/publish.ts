import type { Command } from 'commander'
import type { RecordValue } from '../../../core/record/values.ts'
import { ADMIN_PROBE_TIMEOUT_MS, AdminClient, adminSocketOf, AdminUnavailableError } from '../../admin/index.ts'
import { ConfigError } from '../../config/load.ts'
import type { NodeConfig } from '../../config/schema.ts'
import { closeNode, nodeFromConfig } from '../../runtime/node-from-config.ts'
import { printJson, runHandler } from '../output.ts'
import { checkBootstrap, configFrom, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

function parseValue (text: string, previous: RecordValue[]): RecordValue[] {
  const at = text.indexOf('=')
  if (at <= 0) throw new ConfigError(`--value ${text}: expected NAME=VALUE`, { field: 'value' })
  return [...previous, { type: 'data', name: text.slice(0, at), value: text.slice(at + 1) }]
}

/**
 * The running node's admin client when its socket answers. Unlike the other operator commands, a
 * stopped node publishes from a node that listens on its configured addresses (its record names
 * them), so the data-directory side is not the admin session's.
 */
async function runningNode (config: NodeConfig): Promise<AdminClient | undefined> {
  const socket = adminSocketOf(config)
  if (socket === undefined) return undefined
  const client = new AdminClient(socket)
  try {
    await client.status({ timeoutMs: ADMIN_PROBE_TIMEOUT_MS })
    return client
  } catch (err) {
    if (err instanceof AdminUnavailableError) return undefined
    throw err
  }
}

export function registerPublish (program: Command): void {
  withConfig(program.command('publish'))
    .description('sign and publish this node\'s record (or a new sub-code with --sub) to the DHT and gossip; on the running node through its admin socket, else from its data directory')
    .option('--sub <name>', 'allocate the next sub-code under this node\'s code for NAME and publish its record')
    .option('--value <name=value>', 'a data value to include (repeatable)', parseValue, [])
    .option('--json', 'machine-readable output')
    .action(async (opts: ConfigOptions & { sub?: string, value: RecordValue[], json?: boolean }) => {
      await runHandler(async () => {
        const config = configFrom(opts)
        const print = (out: { code: string, seq: number, dhtPeers: number }, via: string): void => {
          if (opts.json === true) printJson({ ...out, via })
          else process.stdout.write(`published ${out.code} seq ${out.seq}, stored on ${out.dhtPeers} DHT peers\n`)
        }
        // a running node holds the data directory: it signs and publishes itself, asked on its socket
        const running = await runningNode(config)
        if (running !== undefined) {
          process.stderr.write(`via the running node's admin socket ${running.path}\n`)
          const values = opts.value.flatMap(v => v.type === 'data' ? [{ name: v.name, value: v.value }] : [])
          print(await running.publish({ ...(opts.sub !== undefined ? { sub: opts.sub } : {}), values }), 'admin-socket')
          return 0
        }
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
          print({ code: result.record.body.code, seq: result.record.body.seq, dhtPeers: result.dhtPeers }, 'data-dir')
          return 0
        } finally {
          await closeNode(node)
        }
      }, { json: opts.json === true })
    })
}
