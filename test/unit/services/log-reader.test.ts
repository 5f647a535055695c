import assert from 'node:assert/strict'
import { defaultLogger } from '@libp2p/logger'
import { MemoryDatastore } from 'datastore-core'
import { equalBytes, sha256 } from '../../../src/core/crypto/hash.ts'
import { encodeLeaf } from '../../../src/core/ledger/log.ts'
import { leafHash } from '../../../src/core/ledger/merkle.ts'
import { verifyInclusion } from '../../../src/core/ledger/proofs.ts'
import { RecordValidator } from '../../../src/core/record/validator.ts'
import { ledger, LogTooLargeError } from '../../../src/services/ledger/index.ts'
import type { Ledger } from '../../../src/services/ledger/index.ts'
import { readRemoteLog, verifiedLog } from '../../../src/services/ledger/log-reader.ts'
import type { LogReaderContext } from '../../../src/services/ledger/log-reader.ts'
import type { LedgerRequest } from '../../../src/network/protocols/ledger.ts'
import { cityRecord, hierarchy, NOW } from '../../utils/fixtures.ts'

const h = hierarchy()
const LOG = 'MA.156.1301'

describe('ledger readLog (whole log checked against its signed head)', () => {
  let l: Ledger
  const validator = new RecordValidator(h.anchors, { now: () => NOW })
  beforeEach(async () => {
    l = ledger({ headIntervalMs: 60_000 })({ datastore: new MemoryDatastore(), validator, signer: () => h.city, identity: () => ({ namespace: LOG, chain: h.chain }), now: () => NOW, logger: defaultLogger() })
    await l.start()
    for (let i = 1; i <= 5; i++) await l.appendRecord(cityRecord(h, { seq: i, issuedAt: NOW - 1000 + i }).bytes)
    await l.appendAllocation(`${LOG}.01`, h.cityCert.bytes)
  })
  afterEach(async () => { await l.stop() })

  it('reads the own log as of its signed head; proofs from it check against that head', async () => {
    await assert.rejects(l.readLog(LOG), { name: 'UnknownLogError' }, 'no head signed yet')
    const head = (await l.signHead())!
    const read = await l.readLog(LOG)
    assert.equal(read.entries.length, 6)
    assert.deepEqual(read.entries.map(e => e.type), ['record', 'record', 'record', 'record', 'record', 'allocation'])
    assert.ok(equalBytes(read.tree.root(), head.sth.head.root))
    const proof = read.tree.inclusionProof(5, 6)
    verifyInclusion(leafHash(encodeLeaf(read.entries[5]!)), 5, 6, proof, head.sth.head.root)
    assert.ok(equalBytes(read.entries[5]!.object, sha256(h.cityCert.bytes)))
    await assert.rejects(l.readLog(LOG, { maxEntries: 5 }), { name: 'LogTooLargeError' })
  })

  it('refuses entries that do not make the signed root', async () => {
    const head = (await l.signHead())!
    const leaves = await l.entries(0, 6)
    assert.doesNotThrow(() => verifiedLog(LOG, head, leaves))
    const swapped = [leaves[1]!, leaves[0]!, ...leaves.slice(2)]
    assert.throws(() => verifiedLog(LOG, head, swapped), { name: 'InvalidProofError' })
    assert.throws(() => verifiedLog(LOG, head, leaves.slice(0, 5)), { name: 'InvalidProofError' })
  })

  it('reads another node\'s log through get-head and get-entries, refusing a short page or an oversized log', async () => {
    const head = (await l.signHead())!
    let shortPage = false
    const ctx: LogReaderContext = {
      validator,
      locate: async () => ({ id: 'peer', addrs: [] }),
      ask: (async (_peer: unknown, request: LedgerRequest) => {
        if (request.op === 'get-head') return { status: 'head', record: head.bytes }
        if (request.op === 'get-entries') {
          const entries = await l.entries(request.from, request.to)
          return { status: 'entries', entries: shortPage ? entries.slice(1) : entries }
        }
        throw new Error(`unexpected ${request.op}`)
      }) as LogReaderContext['ask']
    }
    const read = await readRemoteLog(LOG, ctx)
    assert.equal(read.peer, 'peer')
    assert.equal(read.entries.length, 6)
    await assert.rejects(readRemoteLog(LOG, ctx, { maxEntries: 5 }), (err: Error) => err instanceof LogTooLargeError)
    shortPage = true
    await assert.rejects(readRemoteLog(LOG, ctx), { name: 'InvalidProofError' })
    await assert.rejects(readRemoteLog('MA.156.1302', ctx), { name: 'KeyMismatchError' }, 'a head of another log')
    await assert.rejects(readRemoteLog(LOG, { ...ctx, locate: async () => undefined }), { name: 'NotFoundError' })
  })
})
