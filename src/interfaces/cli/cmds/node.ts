import { Option } from 'commander'
import type { Command } from 'commander'
import { runHandler } from '../output.ts'
import { untilSignal } from '../shutdown.ts'
import { applicationFields, closeNode, nodeFromConfig } from '../../runtime/node-from-config.ts'
import { planGatewayMetrics, serveGateway } from '../../gateway/serve.ts'
import type { Gateway } from '../../gateway/index.ts'
import { adminSocketOf, serveAdmin } from '../../admin/index.ts'
import type { AdminServer } from '../../admin/index.ts'
import { adminOperations } from '../../../services/admin/index.ts'
import { APPLY_POLL_INTERVAL_MS, APPLY_POLL_MAX_INTERVAL_MS } from '../../../services/node/citycode-node.ts'
import type { CitycodeNode } from '../../../services/node/index.ts'
import type { NodeConfig } from '../../config/schema.ts'
import { assertHttpAddressFree } from '../../runtime/listen-check.ts'
import { checkBootstrap, configFrom, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

const duration = (ms: number): string => ms < 1_000 ? `${ms} ms` : `${Math.round(ms / 1_000)} s`

/**
 * Applies to the parent and waits for its answer however long its operator takes (manual approval
 * may take hours), backing off so a pending or unreachable parent is not hammered. Returns false
 * when the operator stopped the node before the parent answered; a refusal throws its typed error.
 */
async function applyUntilAnswered (n: CitycodeNode, parent: { namespace: string, addr: string }, config: NodeConfig, signal: AbortSignal): Promise<boolean> {
  let pendingId: string | undefined
  try {
    await n.apply(parent, applicationFields(config, parent.namespace), {
      signal,
      timeoutMs: Infinity,
      poll: { intervalMs: config.authority.applyPoll?.intervalMs ?? APPLY_POLL_INTERVAL_MS, maxIntervalMs: config.authority.applyPoll?.maxIntervalMs ?? APPLY_POLL_MAX_INTERVAL_MS },
      onPending: (id, nextMs) => {
        pendingId = id
        process.stderr.write(`application ${id} pending approval by the operator of ${parent.namespace} (there: citycode approve ${id}); asking again in ${duration(nextMs)}\n`)
      },
      onUnreachable: (err, retryMs) => {
        process.stderr.write(`parent ${parent.namespace} unreachable at ${parent.addr} (${err.message}); retrying in ${duration(retryMs)}, this node keeps serving meanwhile\n`)
      }
    })
    return true
  } catch (err) {
    if (!signal.aborted) throw err
    process.stderr.write(pendingId !== undefined ? `stopped with application ${pendingId} still pending at ${parent.namespace}\n` : `stopped before ${parent.namespace} answered\n`)
    return false
  }
}

export function registerNode (program: Command): void {
  const node = program.command('node').description('run a city node')
  withConfig(node.command('start'))
    .description('start a node from its config: apply to the parent if needed (waiting as long as its approval takes), publish, serve until Ctrl-C; approve, prove and revoke reach it on its admin socket')
    .option('--http <host:port>', 'serve the HTTP gateway and web explorer on this address (e.g. 127.0.0.1:8080)')
    .addOption(new Option('--access-log <format>', 'print the gateway\'s access log on stderr').choices(['text', 'json']))
    .action(async (opts: ConfigOptions & { http?: string, accessLog?: 'text' | 'json' }) => {
      await runHandler(async () => {
        const config = configFrom(opts, { http: opts.http, ...(opts.accessLog !== undefined ? { httpAccessLog: opts.accessLog } : {}) })
        // before the node makes its keys: a first start that cannot serve leaves no identity behind
        await assertHttpAddressFree(config.http)
        const stop = untilSignal()
        const plan = config.http !== undefined ? planGatewayMetrics() : undefined
        const n = await nodeFromConfig(config, plan !== undefined ? { metrics: plan.libp2pMetrics } : {})
        // in the background: the node serves meanwhile, and its ready line is not held up by a silent peer
        void checkBootstrap(n, config, 'warn').catch(() => {})
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
            http = await serveGateway(n, { listen: config.http, ...config.httpLimits, ...(config.httpAccessLog !== undefined ? { log: config.httpAccessLog } : {}) }, plan)
            process.stdout.write(`gateway ${http.url}/ (explorer), ${http.url}/v1/codes/{code}\n`)
          }
          const parent = config.authority.parent
          if (n.identity === undefined && parent !== undefined) {
            const applied = await applyUntilAnswered(n, parent, config, stop.signal)
            if (!applied) return 0
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
