import assert from 'node:assert/strict'
import { join } from 'node:path'
import { cliWorkspace, runCli, startCliNode } from '../../utils/cli-process.ts'

const env = { ...process.env, CITYCODE_PASSPHRASE: 'invitation flow test passphrase', DEBUG: '' }

/**
 * Issue #16 section 2 from the operator's side: a root under `auto` that names nobody in its
 * config; `citycode invite` on the running root (its admin socket) admits the one country it
 * invites, whose `apply` presents `authority.invitation`; a country without one still waits.
 */
describe('citycode invite: an invitation admits one applicant, a stranger still waits', function () {
  this.timeout(200_000)
  const { dir, children, write, cleanup } = cliWorkspace('cc-invite-')
  after(cleanup)

  it('invited: allocated at once; not invited: pending; a bad invitation file or key: one typed line', async () => {
    const rootConfig = write('root.json', { role: 'root', dataDir: join(dir, 'root'), authority: { namespace: 'MA', name: 'Test root', approval: 'auto' } })
    const init = await runCli(['init', '-c', rootConfig, '--json'], env, children)
    assert.equal(init.status, 0, init.stderr)
    const anchor = (JSON.parse(init.stdout) as { anchor: unknown }).anchor
    const root = await startCliNode(rootConfig, env, children)

    const cnKeys = await runCli(['init', '-c', write('cn-keys.json', { role: 'country', dataDir: join(dir, 'cn') }), '--json'], env, children)
    assert.equal(cnKeys.status, 0, cnKeys.stderr)
    const cnKey = (JSON.parse(cnKeys.stdout) as { authorityKey: string }).authorityKey
    const invitationFile = join(dir, 'cn.invitation')
    const invited = await runCli(['invite', '-c', rootConfig, '--key', cnKey, '--code', 'MA.156', '--out', invitationFile, '--json'], env, children)
    assert.equal(invited.status, 0, invited.stderr)
    assert.match(invited.stderr, /via the running node's admin socket/)
    assert.equal((JSON.parse(invited.stdout) as { code: string }).code, 'MA.156')

    const cnConfig = write('cn.json', { role: 'country', dataDir: join(dir, 'cn'), bootstrap: [root.addr], anchors: [anchor], authority: { parent: { namespace: 'MA', addr: root.addr }, name: 'China', officialCode: 'CN', invitation: invitationFile } })
    const applied = await runCli(['apply', '-c', cnConfig, '--json'], env, children)
    assert.equal(applied.status, 0, applied.stderr)
    assert.equal((JSON.parse(applied.stdout) as { code: string }).code, 'MA.156')

    const deConfig = write('de.json', { role: 'country', dataDir: join(dir, 'de'), bootstrap: [root.addr], anchors: [anchor], authority: { parent: { namespace: 'MA', addr: root.addr }, name: 'Germany', officialCode: 'DE' } })
    const stranger = await runCli(['apply', '-c', deConfig, '--timeout', '3000'], env, children)
    assert.notEqual(stranger.status, 0)
    const pending = await runCli(['approve', '-c', rootConfig, '--json'], env, children)
    assert.equal(pending.status, 0, pending.stderr)
    assert.deepEqual((JSON.parse(pending.stdout) as Array<{ name: string }>).map(p => p.name), ['Germany'])

    const badFile = write('bad.invitation', { not: 'an invitation' })
    const bad = await runCli(['apply', '-c', write('de2.json', { role: 'country', dataDir: join(dir, 'de'), bootstrap: [root.addr], anchors: [anchor], authority: { parent: { namespace: 'MA', addr: root.addr }, name: 'Germany', officialCode: 'DE', invitation: badFile } })], env, children)
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /^error: ConfigError: .*is not an invitation/m)
    assert.doesNotMatch(bad.stderr, /\n\s+at /)
    const badKey = await runCli(['invite', '-c', rootConfig, '--key', 'xyz', '--out', join(dir, 'x')], env, children)
    assert.equal(badKey.status, 1)
    assert.match(badKey.stderr, /^error: ConfigError: --key must be 64/m)
  })
})
