import type { Command } from 'commander'
import { loadConfig } from '../../config/load.ts'
import type { NodeConfig } from '../../config/schema.ts'

export interface ConfigOptions { config: string, dataDir?: string }

export function withConfig (cmd: Command): Command {
  return cmd.requiredOption('-c, --config <file>', 'node configuration (see configs/)')
    .option('--data-dir <dir>', 'override dataDir of the config')
}

export function configFrom (opts: ConfigOptions, overrides: Partial<NodeConfig> = {}): NodeConfig {
  return loadConfig(opts.config, { dataDir: opts.dataDir, ...overrides })
}
