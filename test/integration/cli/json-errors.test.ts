import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { cliWorkspace, runCli } from '../../utils/cli-process.ts'
import type { CliRun } from '../../utils/cli-process.ts'

const env = { ...process.env, CITYCODE_PASSPHRASE: 'json errors test passphrase', DEBUG: '' }

interface ErrorJson { error: { name: string, code: string, message: string, details: Record<string, unknown> } }

/** stdout is exactly one JSON document `{ "error": { name, code, message, details } }`. */
function errorOf (r: CliRun): ErrorJson['error'] {
  const parsed = JSON.parse(r.stdout) as ErrorJson
  assert.deepEqual(Object.keys(parsed), ['error'])
  assert.deepEqual(Object.keys(parsed.error).sort(), ['code', 'details', 'message', 'name'])
  return parsed.error
}

describe('--json commands print their errors as JSON on stdout, with the exit code', function () {
  this.timeout(120_000)
  const { children, write, cleanup } = cliWorkspace('citycode-json-errors-')
  after(cleanup)
  const cli = async (args: string[]): Promise<CliRun> => await runCli(args, env, children, 60_000)

  it('resolve --json: a mistyped check character', async () => {
    const r = await cli(['resolve', 'MA.156.1301-X', '-c', write('resolver.json', { role: 'resolver' }), '--json'])
    assert.equal(r.status, 1)
    const e = errorOf(r)
    assert.equal(e.name, 'CheckCharacterError')
    assert.equal(e.code, 'ERR_CHECK_CHARACTER')
    assert.equal(e.details.given, 'X')
    assert.match(r.stderr, /^error: CheckCharacterError: /, 'the operator still reads one line on stderr')
  })

  it('init --json: a config error names its field in details', async () => {
    const r = await cli(['init', '-c', write('no-data-dir.json', { role: 'city' }), '--json'])
    assert.equal(r.status, 1)
    const e = errorOf(r)
    assert.equal(e.name, 'ConfigError')
    assert.equal(e.code, 'ERR_CONFIG')
    assert.equal(e.details.field, 'dataDir')
  })

  it('resolve --json: a network that cannot be reached', async () => {
    const server = createServer()
    await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
    const port = (server.address() as { port: number }).port
    await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    const r = await cli(['resolve', 'MA.156.1301', '-c', write('dead.json', { role: 'resolver', anchors: [{ name: 'root', namespace: 'MA', keys: ['11'.repeat(32)], threshold: 1 }], bootstrap: [`/ip4/127.0.0.1/tcp/${port}/p2p/12D3KooWGRUVh8gw3sG9vU8Ppyd5oqMkwBx28pXPZGAxLmWTmbZM`] }), '--json'])
    assert.equal(r.status, 1)
    const e = errorOf(r)
    assert.equal(e.name, 'BootstrapUnreachableError')
    assert.equal(e.code, 'ERR_BOOTSTRAP_UNREACHABLE')
    assert.equal(e.details.field, 'bootstrap')
  })

  it('a usage mistake under --json: UsageError, exit 2', async () => {
    const r = await cli(['resolve', 'MA.156.1301', '--json'])
    assert.equal(r.status, 2)
    const e = errorOf(r)
    assert.equal(e.name, 'UsageError')
    assert.equal(e.code, 'ERR_USAGE')
    assert.equal(e.details.reason, 'commander.missingMandatoryOptionValue')
  })
})
