import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { cliWorkspace, runCli, startCliNode, stopCliNode } from '../../utils/cli-process.ts'
import type { CliNode } from '../../utils/cli-process.ts'

const env = { ...process.env, CITYCODE_PASSPHRASE: 'operator lifecycle test passphrase', DEBUG: '' }

interface ResolvedJson { key: string, values: Array<{ type: string, name?: string, value?: string }>, verification: { chain: Array<{ kind: string, serial: number }> } }

/**
 * Issue #18 §1, as operators run it: nodes started from configs, every command a one-shot process.
 * publish and rotate on the running city through its admin socket; the country revokes the city,
 * re-certifies the code to the key of a fresh data directory, and approves with --reinstate a city
 * that lost its data directory; a one-shot resolver sees each new key, verified.
 */
describe('operator lifecycle from the CLI: publish and rotate on a running node, reinstate, re-apply after a lost data directory', function () {
  this.timeout(400_000)
  const { dir, children, write, cleanup } = cliWorkspace('cc-lifecycle-')
  after(cleanup)
  const cli = async (args: string[]): ReturnType<typeof runCli> => await runCli(args, env, children)
  const keyOf = async (config: string): Promise<string> => {
    const made = await cli(['init', '-c', config, '--json'])
    assert.equal(made.status, 0, made.stderr)
    return (JSON.parse(made.stdout) as { authorityKey: string }).authorityKey
  }

  it('runs the whole lifecycle', async () => {
    const cnKey = await keyOf(write('cn-keys.json', { role: 'country', dataDir: join(dir, 'cn') }))
    const cityDir = join(dir, 'sjz')
    const sjzKey = await keyOf(write('sjz-keys.json', { role: 'city', dataDir: cityDir }))
    const rootConfig = write('root.json', { role: 'root', dataDir: join(dir, 'root'), authority: { namespace: 'MA', name: 'Test root', approval: 'auto', preapproved: [{ key: cnKey }] } })
    const init = await cli(['init', '-c', rootConfig, '--json'])
    assert.equal(init.status, 0, init.stderr)
    const anchor = (JSON.parse(init.stdout) as { anchor: unknown }).anchor
    const root = await startCliNode(rootConfig, env, children)
    const countryConfig = write('cn.json', { role: 'country', dataDir: join(dir, 'cn'), bootstrap: [root.addr], anchors: [anchor], authority: { parent: { namespace: 'MA', addr: root.addr }, name: 'China', officialCode: 'CN', approval: 'auto', preapproved: [{ key: sjzKey }] } })
    const cn = await startCliNode(countryConfig, env, children)
    const cityConfig = write('sjz.json', {
      role: 'city',
      dataDir: cityDir,
      bootstrap: [root.addr, cn.addr],
      anchors: [anchor],
      authority: { parent: { namespace: 'MA.156', addr: cn.addr }, name: 'Shijiazhuang', officialCode: '130100' },
      values: [{ type: 'name', lang: 'en', value: 'Shijiazhuang' }]
    })
    let city: CliNode = await startCliNode(cityConfig, env, children)
    assert.equal(city.code, 'MA.156.1301')
    const resolverConfig = write('resolver.json', { role: 'resolver', bootstrap: [root.addr], anchors: [anchor], authorities: [{ namespace: 'MA', addr: root.addr }] })
    const resolve = async (): Promise<ResolvedJson> => {
      const r = await cli(['resolve', 'MA.156.1301', '-c', resolverConfig, '--json'])
      assert.equal(r.status, 0, r.stdout + r.stderr)
      return JSON.parse(r.stdout) as ResolvedJson
    }
    assert.equal((await resolve()).key, sjzKey)

    // publish on the running city: through its admin socket, not its (locked) data directory
    const published = await cli(['publish', '-c', cityConfig, '--value', 'motto=hello', '--json'])
    assert.equal(published.status, 0, published.stdout + published.stderr)
    assert.match(published.stderr, /via the running node's admin socket/)
    assert.equal((JSON.parse(published.stdout) as { via: string, code: string }).via, 'admin-socket')
    assert.ok((await resolve()).values.some(v => v.name === 'motto' && v.value === 'hello'), 'a one-shot resolver sees the published value')

    // rotate on the running city; a one-shot resolver sees the new key under a verified rotation link
    const rotated = await cli(['rotate', '-c', cityConfig, '--json'])
    assert.equal(rotated.status, 0, rotated.stdout + rotated.stderr)
    const rotation = JSON.parse(rotated.stdout) as { key: string, previousKey: string, serial: number, ledgerIndex: number | null, via: string }
    assert.equal(rotation.via, 'admin-socket')
    assert.equal(rotation.previousKey, sjzKey)
    assert.equal(typeof rotation.ledgerIndex, 'number')
    const afterRotation = await resolve()
    assert.equal(afterRotation.key, rotation.key)
    assert.deepEqual(afterRotation.verification.chain.map(c => c.kind), ['delegation', 'delegation', 'rotation'])
    assert.ok(afterRotation.values.some(v => v.name === 'motto'), 'the records are signed again with their values')

    // the country revokes the city; then the city's data directory is lost and made anew
    const revoked = await cli(['revoke', 'MA.156.1301', '-c', countryConfig, '--reason', 'key compromised', '--out', join(dir, 'revoked.cbor')])
    assert.equal(revoked.status, 0, revoked.stdout + revoked.stderr)
    const refused = await cli(['resolve', 'MA.156.1301', '-c', resolverConfig])
    assert.equal(refused.status, 1, refused.stdout + refused.stderr)
    assert.match(refused.stderr, /RevokedError/)
    await stopCliNode(city.child)
    rmSync(cityDir, { recursive: true, force: true })
    const made = await cli(['init', '-c', cityConfig, '--json'])
    assert.equal(made.status, 0, made.stderr)
    const { authorityKey: newKey, nextKeyHash } = JSON.parse(made.stdout) as { authorityKey: string, nextKeyHash: string }
    assert.match(nextKeyHash, /^[0-9a-f]{64}$/)
    const reinstated = await cli(['reinstate', 'MA.156.1301', '-c', countryConfig, '--key', newKey, '--next', nextKeyHash, '--json'])
    assert.equal(reinstated.status, 0, reinstated.stdout + reinstated.stderr)
    assert.match(reinstated.stderr, /via the running node's admin socket/)
    assert.equal((JSON.parse(reinstated.stdout) as { serial: number }).serial, 2)
    city = await startCliNode(cityConfig, env, children)
    assert.equal(city.code, 'MA.156.1301')
    const afterReinstate = await resolve()
    assert.equal(afterReinstate.key, newKey, 'a resolver that learns the old revocation at start takes the new certificate')
    assert.equal(afterReinstate.verification.chain.at(-1)?.serial, 2)

    // lost again, and this time the operator consents to the application itself
    await stopCliNode(city.child)
    rmSync(cityDir, { recursive: true, force: true })
    const lostKey = await keyOf(cityConfig)
    const waiting = startCliNode(cityConfig, env, children)
    const id = await pendingId(countryConfig, 'Shijiazhuang')
    const plain = await cli(['approve', id, '-c', countryConfig])
    assert.equal(plain.status, 1, plain.stdout + plain.stderr)
    assert.match(plain.stdout, /already allocated.*--reinstate/)
    const consented = await cli(['approve', id, '--reinstate', '-c', countryConfig, '--json'])
    assert.equal(consented.status, 0, consented.stdout + consented.stderr)
    assert.deepEqual((JSON.parse(consented.stdout) as { decisions: unknown[] }).decisions, [{ id, status: 'allocated', code: 'MA.156.1301', duplicate: false }])
    city = await waiting
    assert.equal(city.code, 'MA.156.1301')
    const afterReapply = await resolve()
    assert.equal(afterReapply.key, lostKey)
    assert.equal(afterReapply.verification.chain.at(-1)?.serial, 3)

    // rotate on the stopped city: its data directory is rotated in place, the next start serves the new key
    await stopCliNode(city.child)
    const offline = await cli(['rotate', '-c', cityConfig, '--json'])
    assert.equal(offline.status, 0, offline.stdout + offline.stderr)
    assert.match(offline.stderr, /via the data directory/)
    const offlineRotation = JSON.parse(offline.stdout) as { key: string, previousKey: string, via: string }
    assert.equal(offlineRotation.previousKey, lostKey)
    city = await startCliNode(cityConfig, env, children)
    const afterOffline = await resolve()
    assert.equal(afterOffline.key, offlineRotation.key)
    assert.deepEqual(afterOffline.verification.chain.map(c => c.kind), ['delegation', 'delegation', 'rotation'])
  })

  async function pendingId (config: string, name: string): Promise<string> {
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      const listed = await cli(['approve', '-c', config, '--json'])
      assert.equal(listed.status, 0, listed.stderr)
      const found = (JSON.parse(listed.stdout) as Array<{ id: string, name: string }>).find(p => p.name === name)
      if (found !== undefined) return found.id
      await new Promise(resolve => setTimeout(resolve, 500))
    }
    throw new Error(`${name} never became pending`)
  }
})
