import type { Command } from 'commander'
import { ConfigError } from '../../config/load.ts'
import { applicationFields, closeNode, nodeFromConfig } from '../../runtime/node-from-config.ts'
import { printJson, runHandler } from '../output.ts'
import { RequestTimeoutError } from '../../../network/errors.ts'
import { ApplicationPendingError } from '../../../services/errors.ts'
import type { CitycodeNode } from '../../../services/node/index.ts'
import { checkBootstrap, configFrom, timeoutOption, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

/**
 * Applies within `timeoutMs`. When the deadline passes while the parent's operator has not decided,
 * the operator is told so with the id to approve, not given a bare timeout: the application is
 * still queued at the parent, and nothing on this side failed.
 */
async function applyOnce (node: CitycodeNode, parent: { namespace: string, addr: string }, fields: ReturnType<typeof applicationFields>, timeoutMs: number): Promise<string> {
  let pendingId: string | undefined
  const started = Date.now()
  try {
    return await node.apply(parent, fields, {
      timeoutMs,
      onPending: (id) => {
        if (pendingId === undefined) process.stderr.write(`application ${id} pending approval by the operator of ${parent.namespace} (there: citycode approve ${id})\n`)
        pendingId = id
      }
    })
  } catch (err) {
    // the deadline may surface as the transport's own abort when it strikes mid-request
    const timedOut = err instanceof RequestTimeoutError || Date.now() - started >= timeoutMs
    if (pendingId === undefined || !timedOut) throw err
    throw new ApplicationPendingError(`application ${pendingId} is waiting for approval by the operator of ${parent.namespace} (there: citycode approve ${pendingId}); it stays queued: run apply again once approved, or node start, which waits as long as approval takes`, { id: pendingId, parent: parent.namespace, timeoutMs })
  }
}

export function registerApply (program: Command): void {
  withConfig(program.command('apply'))
    .description('apply to the parent authority named in the config for a code, then publish this node\'s record')
    .option('--timeout <ms>', 'give up after this long (manual approval may take a while)', '30000')
    .option('--json', 'machine-readable output')
    .action(async (opts: ConfigOptions & { timeout: string, json?: boolean }) => {
      await runHandler(async () => {
        const timeoutMs = timeoutOption(opts.timeout)
        const config = configFrom(opts)
        const parent = config.authority.parent
        if (parent === undefined) throw new ConfigError('authority.parent is required to apply', { field: 'authority.parent' })
        const node = await nodeFromConfig(config)
        try {
          await checkBootstrap(node, config, 'require')
          const code = await applyOnce(node, parent, applicationFields(config, parent.namespace), timeoutMs)
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
