import type { Command } from 'commander'
import { defaultLogger } from '@libp2p/logger'
import { authority } from '../../../services/authority/index.ts'
import { loadIdentity } from '../../../services/node/identity-store.ts'
import { AllocationStore } from '../../../storage/allocation-store.ts'
import { closeDatastore, openDatastore } from '../../../storage/datastore.ts'
import { KeyStore } from '../../../storage/keys.ts'
import { ConfigError } from '../../config/load.ts'
import { printJson, runHandler } from '../output.ts'
import { configFrom, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

export function registerApprove (program: Command): void {
  withConfig(program.command('approve'))
    .description('list pending applications (no ids) or approve the given ones; works on the data dir of a stopped node')
    .argument('[ids...]', 'application ids to approve')
    .option('--reject', 'reject the given ids instead')
    .option('--json', 'machine-readable output')
    .action(async (ids: string[], opts: ConfigOptions & { reject?: boolean, json?: boolean }) => {
      await runHandler(async () => {
        const config = configFrom(opts)
        if (config.dataDir === undefined) throw new ConfigError('approve works on a dataDir', { field: 'dataDir' })
        const datastore = await openDatastore(config.dataDir)
        try {
          const identity = await loadIdentity(datastore)
          if (identity === undefined) throw new ConfigError('this node holds no code yet, so it has no applications', { field: 'dataDir' })
          const signer = await new KeyStore(datastore, process.env[config.passphraseEnv] ?? '').authoritySigner('authority')
          const a = authority({ approval: 'manual' })({ namespace: identity.namespace, signer, chain: identity.chain, store: new AllocationStore(datastore), now: Date.now, logger: defaultLogger() })
          if (ids.length === 0) {
            const pending = await a.pending()
            if (opts.json === true) printJson(pending)
            else if (pending.length === 0) process.stdout.write('no pending applications\n')
            else for (const p of pending) process.stdout.write(`${p.id}  ${p.name}  ${p.officialCode ?? ''}  received ${new Date(p.receivedAt).toISOString()}\n`)
            return 0
          }
          for (const id of ids) {
            if (opts.reject === true) {
              await a.reject(id)
              process.stdout.write(`${id} rejected\n`)
            } else {
              const outcome = await a.approve(id)
              process.stdout.write(outcome.status === 'allocated' ? `${id} approved: ${outcome.code}\n` : `${id} still pending\n`)
            }
          }
          return 0
        } finally {
          await closeDatastore(datastore)
        }
      })
    })
}
