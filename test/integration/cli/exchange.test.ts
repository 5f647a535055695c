import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { cliWorkspace, runCli, startCliNode } from '../../utils/cli-process.ts'
import type { CliRun } from '../../utils/cli-process.ts'

const env = { ...process.env, CITYCODE_PASSPHRASE: 'exchange doors test passphrase', DEBUG: '' }

describe('exchange doors over TCP loopback (share add/list/remove, fetch, exchange log on running nodes)', function () {
  this.timeout(240_000)
  const { dir, children, write, cleanup } = cliWorkspace('citycode-exchange-cli-')
  after(cleanup)
  const run = async (args: string[]): Promise<CliRun> => await runCli(args, env, children)

  it('one city shares, another fetches what its policy admits and is refused the rest; both logs verify', async () => {
    const keyOf = async (name: string, role: string): Promise<string> => {
      const made = await run(['init', '-c', write(`${name}-keys.json`, { role, dataDir: join(dir, name) }), '--json'])
      assert.equal(made.status, 0, made.stderr)
      return (JSON.parse(made.stdout) as { authorityKey: string }).authorityKey
    }
    const [cnKey, sjzKey, tsKey] = await Promise.all([keyOf('cn', 'country'), keyOf('sjz', 'city'), keyOf('ts', 'city')])
    const rootConfig = write('root.json', { role: 'root', dataDir: join(dir, 'root'), authority: { namespace: 'MA', name: 'Test root', approval: 'auto', preapproved: [{ key: cnKey }] } })
    const init = await run(['init', '-c', rootConfig, '--json'])
    assert.equal(init.status, 0, init.stderr)
    const { anchor } = JSON.parse(init.stdout) as { anchor: unknown }
    const root = await startCliNode(rootConfig, env, children)
    const countryConfig = write('cn.json', { role: 'country', dataDir: join(dir, 'cn'), bootstrap: [root.addr], anchors: [anchor], authority: { parent: { namespace: 'MA', addr: root.addr }, name: 'China', officialCode: 'CN', approval: 'auto', preapproved: [{ key: sjzKey }, { key: tsKey }] } })
    const country = await startCliNode(countryConfig, env, children)
    const cityConfig = (name: string, official: string): string => write(`${name}.json`, {
      role: 'city', dataDir: join(dir, name), bootstrap: [root.addr, country.addr], anchors: [anchor],
      authority: { parent: { namespace: 'MA.156', addr: country.addr }, name, officialCode: official }
    })
    const sjzConfig = cityConfig('sjz', '130100')
    const tsConfig = cityConfig('ts', '130200')
    for (const config of [sjzConfig, tsConfig]) {
      const applied = await run(['apply', '-c', config, '--json'])
      assert.equal(applied.status, 0, applied.stderr)
    }
    const sjz = await startCliNode(sjzConfig, env, children)
    const ts = await startCliNode(tsConfig, env, children)
    assert.equal(sjz.code, 'MA.156.1301')
    assert.equal(ts.code, 'MA.156.1302')

    const data = write('water.csv', 'site,ph\n' + Array.from({ length: 20_000 }, (_, i) => `s${i},${(6 + (i % 30) / 10).toFixed(1)}`).join('\n'))
    const added = await run(['share', 'add', data, '--name', 'water-quality', '--access', 'MA.156', '--media-type', 'text/csv', '--licence', 'CC-BY-4.0', '-c', sjzConfig, '--json'])
    assert.equal(added.status, 0, added.stderr)
    assert.match(added.stderr, /admin socket/)
    const shared = JSON.parse(added.stdout) as { code: string, cid: string, access: string, size: number }
    assert.equal(shared.access, 'MA.156')
    const budget = write('budget.csv', 'item,amount\nroads,1200\nschools,3400\n')
    const secret = await run(['share', 'add', budget, '--name', 'budget', '--access', 'codes', 'MA.156.1399', '-c', sjzConfig])
    assert.equal(secret.status, 0, secret.stderr)
    const listed = await run(['share', 'list', '-c', sjzConfig, '--json'])
    assert.deepEqual((JSON.parse(listed.stdout) as Array<{ name: string }>).map(s => s.name).sort(), ['budget', 'water-quality'])

    const out = join(dir, 'fetched.csv')
    const fetched = await run(['fetch', 'MA.156.1301/water-quality', '--out', out, '-c', tsConfig, '--json'])
    assert.equal(fetched.status, 0, fetched.stderr)
    assert.deepEqual(readFileSync(out), readFileSync(data))
    assert.equal((JSON.parse(fetched.stdout) as { cid: string }).cid, shared.cid)

    const refused = await run(['fetch', 'MA.156.1301/budget', '--out', join(dir, 'budget.out'), '-c', tsConfig, '--json'])
    assert.equal(refused.status, 1)
    assert.equal((JSON.parse(refused.stdout) as { error: { name: string } }).error.name, 'AccessDeniedError')
    assert.match(refused.stderr, /^error: AccessDeniedError: .*MA\.156\.1302 may not fetch MA\.156\.1301\/budget/m)
    assert.doesNotMatch(refused.stderr, /\.ts:\d+/)
    assert.equal(existsSync(join(dir, 'budget.out')), false)

    const bad = await run(['fetch', 'MA.156.1301', '-c', tsConfig])
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /is not CODE\/NAME/)

    const tsLog = await run(['exchange', 'log', '-c', tsConfig, '--json'])
    assert.equal(tsLog.status, 0, tsLog.stderr)
    const fetchedLog = JSON.parse(tsLog.stdout) as { entries: Array<{ role: string, dataset: string, outcome: string }>, verified: { entries: number } }
    // the refused attempt is logged too: the requester keeps what it asked and what it was told
    assert.deepEqual(fetchedLog.entries.map(e => [e.role, e.dataset, e.outcome]), [['fetched', 'water-quality', 'complete'], ['fetched', 'budget', 'AccessDeniedError']])
    assert.equal(fetchedLog.verified.entries, 2)
    const sjzLog = await run(['exchange', 'log', '-c', sjzConfig])
    assert.equal(sjzLog.status, 0, sjzLog.stderr)
    assert.match(sjzLog.stdout, /served MA\.156\.1302 .* water-quality .* access MA\.156, \d+ receipt\(s\), complete/)
    assert.match(sjzLog.stdout, /served MA\.156\.1302 .* budget .* access codes:MA\.156\.1399, 0 receipt\(s\), AccessDeniedError/)
    assert.match(sjzLog.stdout, /2 entries verified, head [0-9a-f]{64}/)

    const removed = await run(['share', 'remove', 'budget', '-c', sjzConfig])
    assert.equal(removed.status, 0, removed.stderr)
    const after = await run(['share', 'list', '-c', sjzConfig])
    assert.doesNotMatch(after.stdout, /budget/)
  })
})
