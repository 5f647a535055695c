import type { Command } from 'commander'
import { openAdmin } from '../../admin/index.ts'
import { ConfigError } from '../../config/load.ts'
import { printJson, runHandler } from '../output.ts'
import { reportVia } from './approve.ts'
import { configFrom, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

export function registerRotate (program: Command): void {
  withConfig(program.command('rotate'))
    .description('move this node\'s code to the key its certificate committed to (SPEC 4.4): a rotation link signed by the new key and the old one, committing to a fresh next key; the old certificate is retired and both are logged')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nNo parent is needed. A running node rotates itself (asked on its admin socket) and signs its records\nagain under the new key at once; a stopped one\'s data directory is rotated in place. From then on the\nold key signs nothing for the code wherever the retirement reaches (gossip, the sync every node makes\nat start). A certificate that committed to no next key (a city that applied with an older version)\ncannot rotate: its parent re-certifies it (`citycode reinstate`).')
    .action(async (opts: ConfigOptions & { json?: boolean }) => {
      await runHandler(async () => {
        const config = configFrom(opts)
        if (config.dataDir === undefined && config.adminSocket === undefined) throw new ConfigError('rotate works on a node with a dataDir (or its adminSocket): a node without one forgets its keys when it stops', { field: 'dataDir' })
        if (config.role === 'resolver') throw new ConfigError('a resolver holds no code and no authority key to rotate', { field: 'role' })
        const session = await openAdmin(config)
        try {
          reportVia(session)
          const r = await session.operations.rotate()
          if (opts.json === true) printJson({ ...r, via: session.via })
          else process.stdout.write(`rotated ${r.code} to key ${r.key} (serial ${r.serial}${r.ledgerIndex === null ? '' : `, ledger entry #${r.ledgerIndex}`}); the old key ${r.previousKey.slice(0, 16)}… is retired; ${r.republished} record(s) signed again\n`)
          return 0
        } finally {
          await session.close()
        }
      }, { json: opts.json === true })
    })
}
