import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ChainVerifier, decodeCertificate, equalBytes, fromHex, verifyRecord } from '../../../src/core/index.ts'
import { AllocationStore } from '../../../src/storage/allocation-store.ts'
import { closeDatastore, openDatastore } from '../../../src/storage/datastore.ts'
import { KeyStore } from '../../../src/storage/keys.ts'
import { TEST_KEYCHAIN } from '../../utils/test-keychain.ts'
import { RecordStore } from '../../../src/storage/record-store.ts'
import { LedgerStore } from '../../../src/storage/ledger-store.ts'
import { verifyConsistency } from '../../../src/core/ledger/proofs.ts'
import { verifyTreeHead } from '../../../src/core/ledger/tree-head.ts'
import { createCitycodeNode } from '../../../src/services/node/index.ts'

const child = fileURLToPath(new URL('../../utils/crash-child.ts', import.meta.url))
const PASSPHRASE = 'crash test passphrase, twenty+'

/** Runs the child until it has done `steps` steps (plus a random extra moment), then SIGKILLs it. */
async function runAndKill (mode: string, dir: string, steps: number): Promise<{ key: Uint8Array, lines: string[] }> {
  const proc = spawn(process.execPath, [child, mode, dir], { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  let buffer = ''
  let stderr = ''
  proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`child made no progress: ${stderr.slice(-500)}`)) }, 60_000)
    proc.stdout.on('data', (d: Buffer) => {
      buffer += d.toString()
      const parts = buffer.split('\n')
      buffer = parts.pop() ?? ''
      lines.push(...parts)
      if (lines.filter(l => !l.startsWith('key ')).length >= steps) {
        clearTimeout(timer)
        // kill at an arbitrary moment inside the next steps, not at a step boundary
        setTimeout(() => { proc.kill('SIGKILL'); resolve() }, Math.floor(Math.random() * 40))
      }
    })
    proc.on('exit', () => { clearTimeout(timer); resolve() })
  })
  await new Promise(resolve => { if (proc.exitCode !== null || proc.signalCode !== null) resolve(undefined); else proc.on('exit', resolve) })
  assert.equal(proc.signalCode, 'SIGKILL', `the child was killed, not finished: ${stderr.slice(-300)}`)
  const keyLine = lines.find(l => l.startsWith('key ')) as string
  return { key: fromHex(keyLine.slice(4)), lines }
}

describe('crash recovery (kill -9)', function () {
  this.timeout(180_000)
  const dirs: string[] = []
  after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }) })

  for (let round = 0; round < 2; round++) {
    it(`during publish (round ${round + 1}): the stored record verifies, nothing half-written, seq continues`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'citycode-crash-publish-'))
      dirs.push(dir)
      const { key, lines } = await runAndKill('publish', dir, 15 + round * 10)
      const lastReported = Math.max(...lines.filter(l => l.startsWith('published ')).map(l => Number(l.slice(10))))
      const datastore = await openDatastore(dir)
      try {
        const stored = await new RecordStore(datastore).get('own', 'MA')
        assert.ok(stored !== undefined, 'the own record survived')
        const anchors = [{ name: 'crash-root', namespace: 'MA', keys: [key], threshold: 1 }]
        const v = verifyRecord(stored.bytes, new ChainVerifier(anchors), { now: Date.now() })
        assert.ok(v.record.body.seq >= lastReported, `stored seq ${v.record.body.seq} >= last reported ${lastReported}: nothing signed and reported was lost`)
        const keys = new KeyStore(datastore, PASSPHRASE, TEST_KEYCHAIN)
        const restarted = await createCitycodeNode({ role: 'root', anchors, datastore, peerKey: await keys.peerKey(), authorityKey: await keys.authoritySigner('authority'), rootNamespace: 'MA', network: { transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'] } })
        assert.ok(equalBytes(restarted.validator.chains.anchors[0]!.keys[0]!, key))
        const next = await restarted.publishOwn([], { background: true })
        assert.equal(next.record.body.seq, v.record.body.seq + 1)
        await restarted.stop()
      } finally {
        await closeDatastore(datastore)
      }
    })
  }

  for (let round = 0; round < 2; round++) {
    it(`during ledger appends (round ${round + 1}): no reported entry lost, the signed head still matches, the log grows consistently`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'citycode-crash-ledger-'))
      dirs.push(dir)
      const { key, lines } = await runAndKill('ledger', dir, 12 + round * 9)
      const lastAppended = Math.max(...lines.filter(l => l.startsWith('appended ')).map(l => Number(l.slice(9))))
      const lastHead = Math.max(0, ...lines.filter(l => l.startsWith('head ')).map(l => Number(l.slice(5))))
      assert.ok(lastAppended > 0 && lastHead > 0, `the child appended (${lastAppended}) and signed (${lastHead}) before it was killed`)
      const datastore = await openDatastore(dir)
      try {
        // opening recovers: a torn tail that no head covers is dropped, a signed entry never is
        const store = await LedgerStore.open(datastore)
        assert.ok(store.size >= lastAppended + 1, `log of ${store.size} keeps entry ${lastAppended}, reported appended`)
        const head = store.head
        assert.ok(head !== undefined && head.sth.head.size >= lastHead, 'the latest reported head survived')
        verifyTreeHead(head.sth, key)
        const oldSize = head.sth.head.size
        const oldRoot = head.sth.head.root
        const anchors = [{ name: 'crash-root', namespace: 'MA', keys: [key], threshold: 1 }]
        const keys = new KeyStore(datastore, PASSPHRASE, TEST_KEYCHAIN)
        const restarted = await createCitycodeNode({ role: 'root', anchors, datastore, peerKey: await keys.peerKey(), authorityKey: await keys.authoritySigner('authority'), rootNamespace: 'MA', network: { transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'] } })
        try {
          const ledger = restarted.ledger!
          assert.ok(ledger.size >= store.size, 'the restarted node sees the recovered log')
          await restarted.publishOwn([], { background: true })
          const next = await ledger.signHead()
          assert.ok(next !== undefined && next.sth.head.size > oldSize)
          verifyConsistency(oldSize, next.sth.head.size, oldRoot, next.sth.head.root, ledger.consistencyProof(oldSize, next.sth.head.size))
        } finally {
          await restarted.stop()
        }
      } finally {
        await closeDatastore(datastore)
      }
    })
  }

  it('during apply: every allocation is whole, certified, indexed and unique', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'citycode-crash-apply-'))
    dirs.push(dir)
    const { key, lines } = await runAndKill('apply', dir, 6)
    const reported = lines.filter(l => l.startsWith('allocated ')).flatMap(l => l.slice(10).split(' '))
    const datastore = await openDatastore(dir)
    try {
      const store = new AllocationStore(datastore)
      const codes = new Set<string>()
      for await (const a of store.list()) {
        assert.ok(!codes.has(a.code), `${a.code} allocated twice`)
        codes.add(a.code)
        const cert = decodeCertificate(a.certificate)
        assert.equal(cert.body.namespace, a.code)
        assert.ok(equalBytes(cert.body.subject, a.subject))
        assert.ok(cert.sigs.some(s => equalBytes(s.key, key)))
        assert.equal((await store.bySubject(a.subject))?.code, a.code, 'the by-key index points back')
      }
      for (const code of reported) assert.ok(codes.has(code), `${code} was reported allocated and must survive`)
    } finally {
      await closeDatastore(datastore)
    }
  })
})
