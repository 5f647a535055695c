import type { Command } from 'commander'
import { runHandler } from '../output.ts'
import { untilSignal } from '../shutdown.ts'
import { closeNode, nodeFromConfig } from '../../runtime/node-from-config.ts'
import { planGatewayMetrics, serveGateway } from '../../gateway/serve.ts'
import type { Gateway } from '../../gateway/index.ts'
import { adminSocketOf, serveAdmin } from '../../admin/index.ts'
import type { AdminServer } from '../../admin/index.ts'
import { adminOperations } from '../../../services/admin/index.ts'
import { configFrom, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

export function registerNode (program: Command): void {
  const node = program.command('node').description('run a city node')
  withConfig(node.command('start'))
    .description('start a node from its config: apply to the parent if needed, publish, serve until Ctrl-C; approve and prove reach it on its admin socket')
    .option('--http <host:port>', 'serve the HTTP gateway and web explorer on this address (e.g. 127.0.0.1:8080)')
    .action(async (opts: ConfigOptions & { http?: string }) => {
      await runHandler(async () => {
        const config = configFrom(opts, { http: opts.http })
        const stop = untilSignal()
        const plan = config.http !== undefined ? planGatewayMetrics() : undefined
        const n = await nodeFromConfig(config, plan !== undefined ? { metrics: plan.libp2pMetrics } : {})
        let http: Gateway | undefined
        let admin: AdminServer | undefined
        try {
          const socket = adminSocketOf(config)
          if (socket !== undefined) {
            // before applying, so an operator can ask a node waiting for its parent's approval what it is
            admin = await serveAdmin(adminOperations({ approval: config.authority.approval })({ node: n }), { socketPath: socket })
            process.stdout.write(`admin ${admin.path}\n`)
          }
          if (config.http !== undefined) {
            http = await serveGateway(n, { listen: config.http }, plan)
            process.stdout.write(`gateway ${http.url}/ (explorer), ${http.url}/v1/codes/{code}\n`)
          }
          if (n.identity === undefined && config.authority.parent !== undefined) {
            await n.apply(config.authority.parent, { name: config.authority.name ?? config.authority.parent.namespace, officialCode: config.authority.officialCode }, { signal: stop.signal })
          }
          if (n.identity !== undefined) await n.publishOwn([], { background: true })
          process.stdout.write(`ready ${n.role} ${n.identity?.namespace ?? '(no code)'} peer ${n.peerId.toString()} listening ${n.addresses.map(a => a.toString()).join(' ')}\n`)
          await new Promise<void>(resolve => { stop.signal.addEventListener('abort', () => { resolve() }, { once: true }) })
          return 0
        } finally {
          stop.dispose()
          await admin?.stop()
          await http?.stop()
          await closeNode(n)
        }
      })
    })
}
