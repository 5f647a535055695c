import assert from 'node:assert/strict'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { cliWorkspace, runCli, startCliNode } from '../../utils/cli-process.ts'
import type { CliRun } from '../../utils/cli-process.ts'

const env = { ...process.env, CITYCODE_PASSPHRASE: 'config paths test passphrase', DEBUG: '' }

describe('a relative dataDir in a config is relative to the config file, whatever the current directory', function () {
  this.timeout(200_000)
  const { dir, children, write, cleanup } = cliWorkspace('citycode-paths-')
  after(cleanup)
  // the operator's configs live in one directory, the shell is somewhere else
  const elsewhere = join(dir, 'elsewhere')
  mkdirSync(elsewhere)
  const cli = async (args: string[], cwd: string, timeoutMs = 90_000): Promise<CliRun> => await runCli(args, env, children, timeoutMs, cwd)

  it('init, node start, apply, approve and resolve -c reach the same data directory from any directory', async () => {
    const rootConfig = write('root.json', { role: 'root', dataDir: 'root-data', authority: { namespace: 'MA', name: 'Test root' } })
    const made = await cli(['init', '-c', 'root.json', '--json'], dir)
    assert.equal(made.status, 0, made.stderr)
    const { peerId, anchor } = JSON.parse(made.stdout) as { peerId: string, anchor: unknown }
    assert.ok(existsSync(join(dir, 'root-data')))

    // init again from elsewhere: the same identity, not a new root in elsewhere/root-data
    const again = await cli(['init', '-c', rootConfig, '--json'], elsewhere)
    assert.equal(again.status, 0, again.stderr)
    assert.equal((JSON.parse(again.stdout) as { peerId: string }).peerId, peerId)
    assert.equal(existsSync(join(elsewhere, 'root-data')), false, 'nothing made in the current directory')

    const root = await startCliNode(rootConfig, env, children, elsewhere)
    assert.equal(root.code, 'MA')
    assert.equal(root.socket, join(dir, 'root-data', 'admin.sock'))

    // a country applies under manual approval; its data directory is next to its config too
    const countryConfig = write('cn.json', { role: 'country', dataDir: 'cn-data', bootstrap: [root.addr], anchors: [anchor], authority: { parent: { namespace: 'MA', addr: root.addr }, name: 'China', officialCode: 'CN' } })
    const applied = await cli(['apply', '-c', countryConfig, '--timeout', '3000'], elsewhere)
    assert.notEqual(applied.status, 0)
    assert.ok(existsSync(join(dir, 'cn-data')))
    assert.equal(existsSync(join(elsewhere, 'cn-data')), false)

    // the root's operator, from elsewhere, sees the application on the running root
    const listed = await cli(['approve', '-c', rootConfig, '--json'], elsewhere)
    assert.equal(listed.status, 0, listed.stderr)
    const pending = JSON.parse(listed.stdout) as Array<{ id: string, name: string }>
    assert.equal(pending.length, 1, listed.stdout)
    assert.equal(pending[0]?.name, 'China')
    assert.match(listed.stderr, /via the running node's admin socket/)

    // a resolver config given by a relative path, run from the configs' directory's parent
    const resolverConfig = write('resolver.json', { role: 'resolver', bootstrap: [root.addr], anchors: [anchor], authorities: [{ namespace: 'MA', addr: root.addr }] })
    const resolved = await cli(['resolve', 'MA', '-c', resolverConfig, '--json'], elsewhere)
    assert.equal(resolved.status, 0, resolved.stderr)
    assert.equal((JSON.parse(resolved.stdout) as { code: string }).code, 'MA')
  })

  it('a --data-dir flag or CITYCODE_DATA_DIR stays relative to the current directory', async () => {
    const config = write('flag.json', { role: 'city', dataDir: 'from-file' })
    const made = await cli(['init', '-c', config, '--data-dir', 'from-flag', '--json'], elsewhere)
    assert.equal(made.status, 0, made.stderr)
    assert.ok(existsSync(join(elsewhere, 'from-flag')))
    const fromEnv = await runCli(['init', '-c', config, '--json'], { ...env, CITYCODE_DATA_DIR: 'from-env' }, children, 90_000, elsewhere)
    assert.equal(fromEnv.status, 0, fromEnv.stderr)
    assert.ok(existsSync(join(elsewhere, 'from-env')))
    assert.equal(existsSync(join(dir, 'from-file')), false)
  })
})
