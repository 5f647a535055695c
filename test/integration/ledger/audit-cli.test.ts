import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core'
import type { Datastore } from 'interface-datastore'
import { toHex } from '../../../src/core/crypto/hash.ts'
import type { TrustAnchor } from '../../../src/core/trust/anchors.ts'
import { createCitycodeNode } from '../../../src/services/node/index.ts'
import type { CitycodeNode, CitycodeNodeInit } from '../../../src/services/node/index.ts'
import { seededSigner } from '../../utils/fixtures.ts'

const main = fileURLToPath(new URL('../../../src/interfaces/cli/main.ts', import.meta.url))

/** Runs the CLI without blocking the event loop (the nodes it talks to live in this process). */
async function cli (args: string[], timeoutMs = 60_000): Promise<{ status: number | null, stdout: string, stderr: string }> {
  return await new Promise((resolve) => {
    const child = spawn(process.execPath, [main, ...args], { env: { ...process.env, DEBUG: '' } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }) })
  })
}

describe('citycode audit (CLI, TCP)', function () {
  this.timeout(120_000)
  const nodes: CitycodeNode[] = []
  const dir = mkdtempSync(join(tmpdir(), 'citycode-audit-'))
  after(async () => {
    await Promise.allSettled(nodes.map(async n => { await n.stop() }))
    rmSync(dir, { recursive: true, force: true })
  })

  it('prints the history of a code with every entry and head checked, and exits 0; resolve --inclusion proves the version', async () => {
    const rootKey = seededSigner(1)
    const anchors: TrustAnchor[] = [{ name: 'test-root', namespace: 'MA', keys: [rootKey.publicKey], threshold: 1 }]
    let n = 0
    const start = async (role: CitycodeNodeInit['role'], bootstrap: string[] = []): Promise<CitycodeNode> => {
      const node = await createCitycodeNode({
        role, anchors, datastore: new MemoryDatastore() as Datastore, peerKey: await generateKeyPair('Ed25519'),
        authorityKey: role === 'root' ? rootKey : seededSigner(900 + n++), rootNamespace: 'MA',
        network: { transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap },
        // approval is manual by default: the root and the country name the keys of the nodes this test starts
        authority: { approval: 'auto', preapproved: [seededSigner(900), seededSigner(901)].map(s => ({ key: s.publicKey })) }
      })
      nodes.push(node)
      return node
    }
    const addr = (node: CitycodeNode): string => node.addresses[0]!.toString()
    const root = await start('root')
    await root.publishOwn([], { background: true })
    const country = await start('country', [addr(root)])
    await country.apply({ namespace: 'MA', addr: addr(root) }, { name: 'China', officialCode: 'CN' })
    await country.publishOwn([], { background: true })
    const city = await start('city', [addr(root), addr(country)])
    const code = await city.apply({ namespace: 'MA.156', addr: addr(country) }, { name: 'Shijiazhuang', officialCode: '130100' })
    await city.publishOwn([], { background: true })
    await city.publishOwn([{ type: 'data', name: 'v', value: '2' }], { background: true })
    for (const node of [root, country, city]) await node.ledger!.signHead()

    const config = join(dir, 'auditor.json')
    writeFileSync(config, JSON.stringify({
      role: 'resolver',
      anchors: anchors.map(a => ({ name: a.name, namespace: a.namespace, keys: a.keys.map(toHex), threshold: a.threshold })),
      authorities: [{ namespace: 'MA', addr: addr(root) }, { namespace: 'MA.156', addr: addr(country) }]
    }))
    const json = await cli(['audit', code, '-c', config, '--json'])
    assert.equal(json.status, 0, json.stderr)
    const report = JSON.parse(json.stdout) as { ok: boolean, history: Array<{ type: string, log: string, seq?: number }>, logs: Array<{ rootMatches: boolean }> }
    assert.equal(report.ok, true)
    assert.ok(report.logs.every(l => l.rootMatches))
    assert.deepEqual(report.history.map(h => h.type === 'record' ? `record ${h.seq}` : `${h.type} ${h.log}`), ['allocation MA.156', 'record 1', 'record 2'])

    const text = await cli(['audit', code, '-c', config])
    assert.equal(text.status, 0, text.stderr)
    assert.match(text.stdout, /^audit MA\.156\.1301: ok/)
    assert.match(text.stdout, /allocation\s+in MA\.156/)
    assert.match(text.stdout, /alarms: none/)

    const proven = await cli(['resolve', code, '-c', config, '--inclusion', '--json'])
    assert.equal(proven.status, 0, proven.stderr)
    const answer = JSON.parse(proven.stdout) as { seq: number, ledger?: { log: string, index: number, treeSize: number } }
    assert.equal(answer.seq, 2)
    assert.equal(answer.ledger?.log, code)
    assert.ok(answer.ledger.index < answer.ledger.treeSize)
    assert.match((await cli(['resolve', code, '-c', config, '--inclusion'])).stdout, /ledger: entry \d+ of MA\.156\.1301's log, proven/)

    // --state: the first audit saves where it stopped (and the head it matched), the next goes on from there
    const statePath = join(dir, 'audit-state.json')
    const first = await cli(['audit', code, '-c', config, '--json', '--state', statePath])
    assert.equal(first.status, 0, first.stderr)
    const saved = JSON.parse(readFileSync(statePath, 'utf8')) as { target: string, logs: Record<string, { size: number, head?: string }> }
    assert.equal(saved.target, code)
    assert.ok(saved.logs[code] !== undefined && saved.logs[code].head !== undefined && saved.logs[code].size > 0)
    const again = await cli(['audit', code, '-c', config, '--json', '--state', statePath])
    assert.equal(again.status, 0, again.stderr)
    const resumed = JSON.parse(again.stdout) as { ok: boolean, logs: Array<{ log: string, heads: Array<{ source: string, status: string }> }> }
    assert.equal(resumed.ok, true)
    assert.ok(resumed.logs.find(l => l.log === code)?.heads.some(h => h.source === 'resumed' && h.status === 'consistent'), JSON.stringify(resumed.logs))
    writeFileSync(statePath, '{"v":1,"target":"nonsense"')
    const damaged = await cli(['audit', code, '-c', config, '--json', '--state', statePath])
    assert.equal(damaged.status, 0, damaged.stderr)
    assert.match(damaged.stderr, /is not an audit state; starting over/)
    const unwritable = await cli(['audit', code, '-c', config, '--json', '--state', join(dir, 'no-such-dir', 'state.json')])
    assert.equal(unwritable.status, 1)
    assert.equal((JSON.parse(unwritable.stdout) as { error: { name: string } }).error.name, 'StorageError')

    const bad = await cli(['audit', 'MA.156.13', '-c', config])
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /^error: MalformedCodeError/)
  })
})
