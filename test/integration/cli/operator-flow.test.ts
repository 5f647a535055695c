import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { join } from 'node:path'
import { CLI_MAIN as main, cliWorkspace, startCliNode } from '../../utils/cli-process.ts'

const env = { ...process.env, CITYCODE_PASSPHRASE: 'operator flow test passphrase', DEBUG: '' }

function run (args: string[]): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 60_000, env })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Starts `citycode node start` and resolves with its ready line. */
async function startNode (config: string, children: ChildProcessWithoutNullStreams[]): Promise<{ code: string, addr: string }> {
  return await startCliNode(config, env, children)
}

describe('operator flow over TCP loopback (init, node start, apply, resolve, prove, verify)', function () {
  this.timeout(200_000)
  const { dir, children, write, cleanup } = cliWorkspace('citycode-operator-')
  after(cleanup)

  it('a city applies to its country, which applied to the root, and anyone resolves it', async () => {
    // approval is manual by default: the operators make their keys first and name them to the parent
    const keyOf = (name: string, role: string): string => {
      const made = run(['init', '-c', write(`${name}-keys.json`, { role, dataDir: join(dir, name) }), '--json'])
      assert.equal(made.status, 0, made.stderr)
      return (JSON.parse(made.stdout) as { authorityKey: string }).authorityKey
    }
    const cnKey = keyOf('cn', 'country')
    const sjzKey = keyOf('sjz', 'city')
    const rootConfig = write('root.json', { role: 'root', dataDir: join(dir, 'root'), authority: { namespace: 'MA', name: 'Test root', approval: 'auto', preapproved: [{ key: cnKey }] } })
    const init = run(['init', '-c', rootConfig, '--json'])
    assert.equal(init.status, 0, init.stderr)
    const { anchor } = JSON.parse(init.stdout) as { anchor: { name: string, namespace: string, keys: string[], threshold: number } }
    const root = await startNode(rootConfig, children)
    assert.equal(root.code, 'MA')

    const countryConfig = write('cn.json', { role: 'country', dataDir: join(dir, 'cn'), bootstrap: [root.addr], anchors: [anchor], authority: { parent: { namespace: 'MA', addr: root.addr }, name: 'China', officialCode: 'CN', approval: 'auto', preapproved: [{ key: sjzKey }] } })
    const country = await startNode(countryConfig, children)
    assert.equal(country.code, 'MA.156')

    const cityConfig = write('sjz.json', {
      role: 'city',
      dataDir: join(dir, 'sjz'),
      bootstrap: [root.addr, country.addr],
      anchors: [anchor],
      authority: { parent: { namespace: 'MA.156', addr: country.addr }, name: 'Shijiazhuang', officialCode: '130100' },
      values: [{ type: 'name', lang: 'en', value: 'Shijiazhuang' }, { type: 'geo', lat: 38.04139, lon: 114.47861 }]
    })
    const applied = run(['apply', '-c', cityConfig, '--json'])
    assert.equal(applied.status, 0, applied.stderr)
    assert.equal((JSON.parse(applied.stdout) as { code: string }).code, 'MA.156.1301')

    const resolverConfig = write('resolver.json', { role: 'resolver', bootstrap: [root.addr], anchors: [anchor], authorities: [{ namespace: 'MA', addr: root.addr }] })
    const resolved = run(['resolve', 'MA.156.1301-*', '-c', resolverConfig, '--json'])
    assert.equal(resolved.status, 0, resolved.stderr)
    const view = JSON.parse(resolved.stdout) as { code: string, values: Array<{ type: string, value?: string }>, verification: { anchor: string, chain: Array<{ namespace: string }> } }
    assert.equal(view.code, 'MA.156.1301')
    assert.ok(view.values.some(v => v.type === 'name' && v.value === 'Shijiazhuang'))
    assert.deepEqual(view.verification.chain.map(c => c.namespace), ['MA.156', 'MA.156.1301'])

    const unknown = run(['resolve', 'MA.156.1302', '-c', resolverConfig, '--timeout', '8000'])
    assert.equal(unknown.status, 1)
    assert.match(unknown.stdout, /^MA\.156\.1302 does not exist: proven by the allocation set of MA\.156, signed /, unknown.stderr)

    // the city, stopped, signs a bundle of its code; anyone verifies it offline, from the QR picture too
    const bundleFile = join(dir, 'sjz.bundle')
    const qrFile = join(dir, 'sjz.png')
    const proved = run(['prove', 'MA.156.1301', '-c', cityConfig, '--out', bundleFile, '--qr', qrFile, '--json'])
    assert.equal(proved.status, 0, proved.stderr)
    const built = JSON.parse(proved.stdout) as { code: string, bytes: number, textLength: number, qrVersion: number, ledger: { log: string } | null, text: string }
    assert.equal(built.code, 'MA.156.1301')
    assert.equal(built.ledger?.log, 'MA.156.1301', 'the city keeps the log its record is in')
    assert.ok(built.qrVersion >= 1 && built.qrVersion <= 40)
    for (const input of [[bundleFile], [built.text], ['--image', qrFile]]) {
      const checked = run(['verify', ...input, '-c', resolverConfig])
      assert.equal(checked.status, 0, checked.stdout + checked.stderr)
      assert.match(checked.stdout, /^VALID proof bundle for MA\.156\.1301 {2}Shijiazhuang/)
      assert.match(checked.stdout, /ok {2}ledger-inclusion /)
    }
  })
})
