import type { Command } from 'commander'
import { sha256, toHex } from '../../../core/crypto/hash.ts'
import { closeDatastore, openDatastore } from '../../../storage/datastore.ts'
import { assertNewDataDirPassphrase, keyStoreOf } from '../../runtime/node-from-config.ts'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ConfigError } from '../../config/load.ts'
import { printJson, runHandler } from '../output.ts'
import { configFrom, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

export function registerInit (program: Command): void {
  withConfig(program.command('init'))
    .description('create the node identity and authority key in the encrypted keychain of dataDir')
    .option('--json', 'machine-readable output')
    .action(async (opts: ConfigOptions & { json?: boolean }) => {
      await runHandler(async () => {
        const config = configFrom(opts)
        if (config.dataDir === undefined) throw new ConfigError('init needs a dataDir in the config (or --data-dir)', { field: 'dataDir' })
        const dataDir = config.dataDir
        // a weak passphrase for a directory still to be made is refused before anything is created
        assertNewDataDirPassphrase({ ...config, dataDir }, process.env)
        const datastore = await openDatastore(dataDir)
        try {
          const keys = keyStoreOf({ ...config, dataDir }, datastore, process.env, (line) => { process.stderr.write(`warning: ${line}\n`) })
          const peerId = peerIdFromPrivateKey(await keys.peerKey())
          const authority = config.role === 'resolver' ? undefined : toHex((await keys.authoritySigner('authority')).publicKey)
          // what its certificate should commit to, so it can rotate without its parent (SPEC 4.4):
          // `citycode reinstate --next` takes it
          const nextKeyHash = config.role === 'resolver' ? undefined : toHex(sha256((await keys.keyring().next()).publicKey))
          const out = {
            peerId: peerId.toString(),
            authorityKey: authority,
            nextKeyHash,
            anchor: config.role === 'root' && authority !== undefined ? { name: config.authority.name ?? 'root', namespace: config.authority.namespace ?? 'MA', keys: [authority], threshold: 1 } : undefined
          }
          if (opts.json === true) printJson(out)
          else {
            process.stdout.write(`peer id        ${out.peerId}\n`)
            if (authority !== undefined) process.stdout.write(`authority key  ${authority}\n`)
            if (nextKeyHash !== undefined) process.stdout.write(`next key hash  ${nextKeyHash}\n`)
            if (out.anchor !== undefined) process.stdout.write(`trust anchor for other nodes' configs:\n${JSON.stringify(out.anchor, null, 2)}\n`)
          }
        } finally {
          await closeDatastore(datastore)
        }
      }, { json: opts.json === true })
    })
}
