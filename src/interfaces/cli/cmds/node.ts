import type { Command } from 'commander'
import { runHandler } from '../output.ts'
import { untilSignal } from '../shutdown.ts'
import { closeNode, nodeFromConfig } from '../../runtime/node-from-config.ts'
import { configFrom, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

export function registerNode (program: Command): void {
  const node = program.command('node').description('run a city node')
  withConfig(node.command('start'))
    .description('start a node from its config: apply to the parent if needed, publish, serve until Ctrl-C')
    .option('--http <host:port>', 'serve the HTTP gateway on this address')
    .action(async (opts: ConfigOptions & { http?: string }) => {
      await runHandler(async () => {
        const config = configFrom(opts, { http: opts.http })
        const stop = untilSignal()
        const n = await nodeFromConfig(config)
        try {
          if (n.identity === undefined && config.authority.parent !== undefined) {
            await n.apply(config.authority.parent, { name: config.authority.name ?? config.authority.parent.namespace, officialCode: config.authority.officialCode }, { signal: stop.signal })
          }
          if (n.identity !== undefined) await n.publishOwn([], { background: true })
          process.stdout.write(`ready ${n.role} ${n.identity?.namespace ?? '(no code)'} peer ${n.peerId.toString()} listening ${n.addresses.map(a => a.toString()).join(' ')}\n`)
          await new Promise<void>(resolve => { stop.signal.addEventListener('abort', () => { resolve() }, { once: true }) })
          return 0
        } finally {
          stop.dispose()
          await closeNode(n)
        }
      })
    })
}
