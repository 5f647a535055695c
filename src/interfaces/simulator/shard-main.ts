#!/usr/bin/env node
import { reportError } from '../cli/output.ts'
import { runShard } from './shard.ts'
import { ShardError, parseHostPort } from './shard-protocol.ts'

/**
 * Entry point of one simulation shard (a child process of `citycode sim run --shards N`, or a
 * container of the Kubernetes Job in deploy/k8s/). Everything comes from the environment:
 *
 * - CITYCODE_SIM_COORDINATOR: host:port of the coordinator's control socket (required);
 * - CITYCODE_SIM_SHARD: this shard's index, 0-based; JOB_COMPLETION_INDEX (set by an indexed Job)
 *   when absent;
 * - CITYCODE_SIM_HOST: the IPv4 address the nodes listen on for other shards (127.0.0.1; the pod IP
 *   in a cluster);
 * - CITYCODE_SIM_CONNECT_TIMEOUT_MS: how long to keep trying to reach the coordinator (60000).
 *
 * (SHARD_ENV in shard-protocol.ts lists these names; the Kubernetes manifest test checks against it.)
 */
function fromEnv (env: NodeJS.ProcessEnv): Parameters<typeof runShard>[0] {
  const coordinator = env.CITYCODE_SIM_COORDINATOR
  if (coordinator === undefined || coordinator === '') throw new ShardError('CITYCODE_SIM_COORDINATOR (host:port of the coordinator) is not set', { field: 'CITYCODE_SIM_COORDINATOR' })
  const indexText = env.CITYCODE_SIM_SHARD ?? env.JOB_COMPLETION_INDEX ?? ''
  const shard = Number(indexText)
  if (indexText === '' || !Number.isInteger(shard) || shard < 0) throw new ShardError(`CITYCODE_SIM_SHARD (or JOB_COMPLETION_INDEX) must be a shard index >= 0, got "${indexText}"`, { field: 'CITYCODE_SIM_SHARD' })
  const listenHost = env.CITYCODE_SIM_HOST ?? '127.0.0.1'
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(listenHost)) throw new ShardError(`CITYCODE_SIM_HOST must be an IPv4 address, got "${listenHost}"`, { field: 'CITYCODE_SIM_HOST' })
  const timeout = Number(env.CITYCODE_SIM_CONNECT_TIMEOUT_MS ?? 60_000)
  if (!Number.isFinite(timeout) || timeout < 0) throw new ShardError('CITYCODE_SIM_CONNECT_TIMEOUT_MS must be a number of ms', { field: 'CITYCODE_SIM_CONNECT_TIMEOUT_MS' })
  return { coordinator: parseHostPort(coordinator, 'CITYCODE_SIM_COORDINATOR'), shard, listenHost, connectTimeoutMs: timeout, log: (line) => { process.stderr.write(`${line}\n`) } }
}

try {
  process.exitCode = await runShard(fromEnv(process.env))
} catch (err) {
  process.exitCode = reportError(err)
}
// libp2p may leave timers behind after its nodes stopped; the shard's work is done
process.exit()
