import assert from 'node:assert/strict'
import { join } from 'node:path'
import { cliWorkspace, runCli, startCliNode } from '../../utils/cli-process.ts'

const env = { ...process.env, CITYCODE_PASSPHRASE: 'revocation reach test passphrase', DEBUG: '' }

/**
 * Issue: after `citycode revoke MA.156.1301` run as the country, a one-shot `citycode resolve` (a
 * fresh process that never heard the gossip) printed the record as verified and exited 0, so did
 * `resolve --inclusion`, and `audit` said "ok". Nodes started by hand from configs, one-shot
 * commands in fresh processes, as an operator and a user run them.
 */
describe('a revoked code is refused by one-shot resolvers at once (revocation sync at start, revoked answers)', function () {
  this.timeout(300_000)
  const { dir, children, write, cleanup } = cliWorkspace('cc-revoke-reach-')
  after(cleanup)

  it('from `revoke` returning, resolve, resolve --inclusion and audit in fresh processes refuse the code and say it was revoked', async () => {
    const cli = async (args: string[]): ReturnType<typeof runCli> => await runCli(args, env, children)
    // approval is manual by default: each operator makes its keys first and names them to its parent
    const keyOf = async (name: string, role: string): Promise<string> => {
      const made = await cli(['init', '-c', write(`${name}-keys.json`, { role, dataDir: join(dir, name) }), '--json'])
      assert.equal(made.status, 0, made.stderr)
      return (JSON.parse(made.stdout) as { authorityKey: string }).authorityKey
    }
    const cnKey = await keyOf('cn', 'country')
    const sjzKey = await keyOf('sjz', 'city')
    const rootConfig = write('root.json', { role: 'root', dataDir: join(dir, 'root'), authority: { namespace: 'MA', name: 'Test root', approval: 'auto', preapproved: [{ key: cnKey }] } })
    const init = await cli(['init', '-c', rootConfig, '--json'])
    assert.equal(init.status, 0, init.stderr)
    const anchor = (JSON.parse(init.stdout) as { anchor: unknown }).anchor
    const root = await startCliNode(rootConfig, env, children)
    const countryConfig = write('cn.json', { role: 'country', dataDir: join(dir, 'cn'), bootstrap: [root.addr], anchors: [anchor], authority: { parent: { namespace: 'MA', addr: root.addr }, name: 'China', officialCode: 'CN', approval: 'auto', preapproved: [{ key: sjzKey }] } })
    const country = await startCliNode(countryConfig, env, children)
    const cityConfig = write('sjz.json', {
      role: 'city',
      dataDir: join(dir, 'sjz'),
      bootstrap: [root.addr, country.addr],
      anchors: [anchor],
      authority: { parent: { namespace: 'MA.156', addr: country.addr }, name: 'Shijiazhuang', officialCode: '130100' },
      values: [{ type: 'name', lang: 'en', value: 'Shijiazhuang' }]
    })
    const city = await startCliNode(cityConfig, env, children)
    assert.equal(city.code, 'MA.156.1301')
    const resolverConfig = write('resolver.json', { role: 'resolver', bootstrap: [root.addr], anchors: [anchor], authorities: [{ namespace: 'MA', addr: root.addr }] })
    const before = await cli(['resolve', 'MA.156.1301', '-c', resolverConfig])
    assert.equal(before.status, 0, before.stdout + before.stderr)

    const revoked = await cli(['revoke', 'MA.156.1301', '-c', countryConfig, '--reason', 'key compromised', '--out', join(dir, 'revoked.cbor')])
    assert.equal(revoked.status, 0, revoked.stdout + revoked.stderr)
    const revokedAt = Date.now()

    // started at once: no time for gossip to matter, the answers themselves must carry the revocation
    const after = await cli(['resolve', 'MA.156.1301', '-c', resolverConfig])
    const tookMs = Date.now() - revokedAt
    assert.equal(after.status, 1, after.stdout + after.stderr)
    assert.equal(after.stdout, '', 'nothing printed as verified')
    assert.match(after.stderr, /^error: RevokedError: MA\.156\.1301 is revoked: the certificate for MA\.156\.1301 was revoked \S+: key compromised$/m)
    assert.doesNotMatch(after.stderr, /\n\s+at /, 'no stack trace')

    const inclusion = await cli(['resolve', 'MA.156.1301', '-c', resolverConfig, '--inclusion'])
    assert.equal(inclusion.status, 1, inclusion.stdout + inclusion.stderr)
    assert.match(inclusion.stderr, /RevokedError/)

    const asJson = await cli(['resolve', 'MA.156.1301', '-c', resolverConfig, '--json'])
    assert.equal(asJson.status, 1)

    const audit = await cli(['audit', 'MA.156.1301', '-c', resolverConfig])
    assert.equal(audit.status, 1, audit.stdout + audit.stderr)
    assert.match(audit.stdout, /^audit MA\.156\.1301: ok, REVOKED$/m)
    assert.match(audit.stdout, /^revoked: MA\.156\.1301: its current certificate [0-9a-f]+… revoked \S+: key compromised$/m)

    // a resolver whose only peer is the revoked city itself learns it from that node's store at start
    const viaCity = write('via-city.json', { role: 'resolver', bootstrap: [city.addr], anchors: [anchor] })
    const fromCity = await cli(['resolve', 'MA.156.1301', '-c', viaCity])
    assert.equal(fromCity.status, 1, fromCity.stdout + fromCity.stderr)
    assert.match(fromCity.stderr, /RevokedError/)

    // the country itself still stands, and so do codes beside the revoked one
    const countryResolved = await cli(['resolve', 'MA.156', '-c', resolverConfig])
    assert.equal(countryResolved.status, 0, countryResolved.stdout + countryResolved.stderr)
    // the first one-shot command started right after `revoke` returned: well within the 2 s bound
    assert.ok(tookMs < 30_000, `resolve took ${tookMs} ms`)
  })
})
