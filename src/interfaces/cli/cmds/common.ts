import type { Command } from 'commander'
import { ConfigError, loadConfig } from '../../config/load.ts'
import type { NodeConfig } from '../../config/schema.ts'
import { reachBootstrap, unreachableError } from '../../runtime/bootstrap-check.ts'
import type { CitycodeNode } from '../../../services/node/index.ts'

export interface ConfigOptions { config: string, dataDir?: string }

export function withConfig (cmd: Command): Command {
  return cmd.requiredOption('-c, --config <file>', 'node configuration (see configs/)')
    .option('--data-dir <dir>', 'override dataDir of the config')
}

/** A `--timeout <ms>` value: a whole positive number of milliseconds, at most `max` when given. */
export function timeoutOption (text: string, max?: number): number {
  const ms = Number(text)
  if (!Number.isSafeInteger(ms) || ms <= 0 || (max !== undefined && ms > max)) {
    throw new ConfigError(`--timeout must be a positive number of milliseconds${max !== undefined ? `, at most ${max}` : ''}`, { field: 'timeout' })
  }
  return ms
}

export function configFrom (opts: ConfigOptions, overrides: Partial<NodeConfig> = {}): NodeConfig {
  return loadConfig(opts.config, { dataDir: opts.dataDir, ...overrides })
}

/** The peers a config names: its bootstrap list, the authorities it asks directly and its parent. */
function namedPeers (config: NodeConfig): string[] {
  const parent = config.authority.parent?.addr
  return [...new Set([...config.bootstrap, ...config.authorities.map(a => a.addr), ...(parent !== undefined ? [parent] : [])])]
}

/**
 * Says at once when the network cannot be joined, rather than after a lookup's deadline: an empty
 * bootstrap list is a warning (a root starts the network and needs none); when none of the peers
 * the config names answers, a one-shot command (`require`) ends with BootstrapUnreachableError and
 * a long-running node (`warn`) says so and keeps running (peers may dial it; its peers may come up).
 */
export async function checkBootstrap (node: CitycodeNode, config: NodeConfig, mode: 'require' | 'warn'): Promise<void> {
  if (config.bootstrap.length === 0 && config.role !== 'root') process.stderr.write('warning: the config lists no bootstrap peers (bootstrap): only the authorities and parent it names can be asked\n')
  const peers = namedPeers(config)
  if (peers.length === 0) return
  const reach = await reachBootstrap(node, peers)
  if (reach.reached > 0) return
  const err = unreachableError(reach)
  if (mode === 'require') throw err
  process.stderr.write(`warning: ${err.name}: ${err.message}; the node keeps running\n`)
}
