import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { verifyConsistency } from '../../../src/core/ledger/proofs.ts'
import { decodeLeaf } from '../../../src/core/ledger/log.ts'
import { closeDatastore } from '../../../src/storage/datastore.ts'
import { openPersistentCity, startTestNetwork } from '../../utils/citycode-network.ts'
import type { CitycodeNode } from '../../../src/services/node/index.ts'

describe('ledger persistence (LevelDB in a temp dir)', function () {
  this.timeout(60_000)

  it('a restarted authority keeps its log and head, and the log grows consistently', async () => {
    const net = await startTestNetwork(0)
    const dir = mkdtempSync(join(tmpdir(), 'citycode-ledger-'))
    try {
      const open = async (): Promise<CitycodeNode> => await openPersistentCity(net, dir)
      const first = await open()
      const code = await first.apply({ namespace: 'MA.156', addr: net.addrOf(net.country) }, { name: 'Handan', officialCode: '130400' })
      for (let i = 0; i < 3; i++) await first.publishOwn([{ type: 'data', name: 'v', value: String(i) }], { background: true })
      const signed = (await first.ledger!.signHead())!
      assert.equal(signed.sth.head.size, 3)
      // one more version, not yet covered by a head: stopping signs it
      await first.publishOwn([{ type: 'data', name: 'v', value: 'last' }], { background: true })
      const entries = await first.ledger!.entries(0, 4)
      await first.stop()
      await closeDatastore(first.datastore)

      const second = await open()
      assert.equal(second.ledger!.size, 4)
      const head = second.ledger!.head()!
      assert.equal(head.sth.head.size, 4)
      assert.equal(head.sth.head.log, code)
      assert.deepEqual(await second.ledger!.entries(0, 4), entries)
      verifyConsistency(3, 4, signed.sth.head.root, head.sth.head.root, second.ledger!.consistencyProof(3, 4))
      const { record } = await second.publishOwn([], { background: true })
      assert.equal(record.body.seq, 5)
      assert.equal(second.ledger!.size, 5)
      assert.equal(decodeLeaf((await second.ledger!.entries(4, 5))[0]!).seq, 5)
      const next = (await second.ledger!.signHead())!
      verifyConsistency(4, 5, head.sth.head.root, next.sth.head.root, second.ledger!.consistencyProof(4, 5))
      await second.stop()
      await closeDatastore(second.datastore)
    } finally {
      await net.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
