/**
 * Runs in a child process that the crash tests kill with SIGKILL mid-work. `publish DIR`: a root
 * node on LevelDB publishing new versions of its record as fast as it can. `apply DIR`: an authority
 * allocating codes to a stream of applications. `ledger DIR`: a root node appending entries to its
 * ledger and signing a head every few entries. Prints one line per completed step.
 */
import { defaultLogger } from '@libp2p/logger'
import { createApplication, signerFromSeed, sha256 } from '../../src/core/index.ts'
import { createCitycodeNode } from '../../src/services/node/index.ts'
import { authority } from '../../src/services/authority/index.ts'
import { AllocationStore } from '../../src/storage/allocation-store.ts'
import { openDatastore } from '../../src/storage/datastore.ts'
import { KeyStore } from '../../src/storage/keys.ts'
import { TEST_KEYCHAIN } from './test-keychain.ts'

export const CRASH_PASSPHRASE = 'crash test passphrase, twenty+'

const [mode, dir] = process.argv.slice(2)
const datastore = await openDatastore(dir)
const keys = new KeyStore(datastore, CRASH_PASSPHRASE, TEST_KEYCHAIN)
const rootKey = await keys.authoritySigner('authority')
process.stdout.write(`key ${Buffer.from(rootKey.publicKey).toString('hex')}\n`)
if (mode === 'publish' || mode === 'ledger') {
  const node = await createCitycodeNode({
    role: 'root',
    anchors: [{ name: 'crash-root', namespace: 'MA', keys: [rootKey.publicKey], threshold: 1 }],
    datastore,
    peerKey: await keys.peerKey(),
    authorityKey: rootKey,
    rootNamespace: 'MA',
    network: { transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'] }
  })
  const ledger = node.ledger
  if (mode === 'ledger' && ledger !== undefined) {
    for (let i = 0; ; i++) {
      // several appends in flight, as when allocations and record versions arrive together
      const indices = await Promise.all(Array.from({ length: 4 }, async (_, k) => await ledger.append({ type: 'allocation', code: `MA.${String(100 + ((i * 4 + k) % 800)).padStart(3, '0')}`, time: Date.now(), object: sha256(new TextEncoder().encode(`cert ${i} ${k}`)) })))
      process.stdout.write(`appended ${Math.max(...indices)}\n`)
      if (i % 3 === 2) process.stdout.write(`head ${(await ledger.signHead())?.sth.head.size ?? -1}\n`)
    }
  }
  for (let i = 0; ; i++) {
    const r = await node.publishOwn([{ type: 'data', name: 'i', value: String(i) }], { background: true })
    process.stdout.write(`published ${r.record.body.seq}\n`)
  }
} else if (mode === 'apply') {
  const a = authority()({ namespace: 'MA.276', signer: rootKey, chain: [], store: new AllocationStore(datastore), now: Date.now, logger: defaultLogger() })
  for (let i = 0; ; i++) {
    const batch = await Promise.all(Array.from({ length: 8 }, async (_, k) => {
      const applicant = signerFromSeed(sha256(new TextEncoder().encode(`applicant ${i} ${k} ${process.pid}`)))
      const outcome = await a.apply(createApplication({ parent: 'MA.276', name: `City ${i}.${k}`, officialCode: null, peer: null, next: null, time: Date.now() }, applicant).bytes)
      // approval is manual by default: the operator approves each application as it arrives
      return outcome.status === 'pending' ? await a.approve(outcome.id) : outcome
    }))
    process.stdout.write(`allocated ${batch.map(b => b.status === 'allocated' ? b.code : '?').join(' ')}\n`)
  }
}
