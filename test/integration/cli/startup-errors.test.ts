import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import type { Server } from 'node:net'
import { join } from 'node:path'
import { cliWorkspace, runCli } from '../../utils/cli-process.ts'
import type { CliRun } from '../../utils/cli-process.ts'

const env = { ...process.env, CITYCODE_PASSPHRASE: 'startup errors test passphrase', DEBUG: '' }
const PEER = '12D3KooWGRUVh8gw3sG9vU8Ppyd5oqMkwBx28pXPZGAxLmWTmbZM'

async function listening (port = 0): Promise<Server> {
  const server = createServer()
  await new Promise<void>(resolve => { server.listen(port, '127.0.0.1', resolve) })
  return server
}
const portOf = (s: Server): number => (s.address() as { port: number }).port
async function closed (s: Server): Promise<void> { await new Promise<void>(resolve => { s.close(() => { resolve() }) }) }

/** A typed one-line error on stderr, exit 1, no stack trace. */
function assertOneLine (r: CliRun, pattern: RegExp): void {
  assert.equal(r.status, 1, r.stdout + r.stderr)
  const lines = r.stderr.trim().split('\n').filter(l => !l.startsWith('warning: '))
  assert.equal(lines.length, 1, r.stderr)
  assert.match(lines[0] as string, pattern)
  assert.doesNotMatch(r.stderr, /^\s+at /m)
}

describe('startup errors an operator can fix: a port in use, no reachable bootstrap peer', function () {
  this.timeout(120_000)
  const { dir, children, write, cleanup } = cliWorkspace('citycode-startup-')
  after(cleanup)
  const cli = async (args: string[]): Promise<CliRun> => await runCli(args, env, children, 60_000)

  it('a listen port in use: one line naming the address and the field, exit 1, no identity left behind', async () => {
    const holder = await listening()
    try {
      const addr = `/ip4/127.0.0.1/tcp/${portOf(holder)}`
      const dataDir = join(dir, 'root-listen')
      const r = await cli(['node', 'start', '-c', write('root-listen.json', { role: 'root', dataDir, listen: [addr], authority: { namespace: 'MA' } })])
      assertOneLine(r, new RegExp(`^error: ListenAddressInUseError: ${addr} \\(listen\\.0 in the config\\) is already in use`))
      assert.equal(existsSync(dataDir), false, 'no new keychain in the data directory')
    } finally {
      await closed(holder)
    }
  })

  it('a gateway port in use: the same, naming http', async () => {
    const holder = await listening()
    try {
      const http = `127.0.0.1:${portOf(holder)}`
      const dataDir = join(dir, 'root-http')
      const r = await cli(['node', 'start', '-c', write('root-http.json', { role: 'root', dataDir, authority: { namespace: 'MA' } }), '--http', http])
      assertOneLine(r, new RegExp(`^error: ListenAddressInUseError: ${http} \\(http in the config, or --http\\)`))
      assert.equal(existsSync(dataDir), false)
    } finally {
      await closed(holder)
    }
  })

  it('an address this machine does not have: one line, and the first start leaves no identity behind', async () => {
    const dataDir = join(dir, 'root-foreign')
    // TEST-NET-1 (RFC 5737): never one of this machine's addresses
    const r = await cli(['node', 'start', '-c', write('root-foreign.json', { role: 'root', dataDir, listen: ['/ip4/192.0.2.1/tcp/4001'], authority: { namespace: 'MA' } })])
    assertOneLine(r, /^error: ListenAddressError: cannot listen on \/ip4\/192\.0\.2\.1\/tcp\/4001 \(listen\.0 in the config\): /)
    assert.equal(existsSync(dataDir), false)
  })

  it('no bootstrap peer answers: resolve says so at once, not at its deadline', async () => {
    const gone = await listening()
    const port = portOf(gone)
    await closed(gone)
    const t0 = Date.now()
    const r = await cli(['resolve', 'MA.156.1301', '-c', write('dead-bootstrap.json', { role: 'resolver', anchors: [{ name: 'root', namespace: 'MA', keys: ['11'.repeat(32)], threshold: 1 }], bootstrap: [`/ip4/127.0.0.1/tcp/${port}/p2p/${PEER}`] }), '--timeout', '15000'])
    assertOneLine(r, new RegExp(`^error: BootstrapUnreachableError: no peer named in the config .*127\\.0\\.0\\.1/tcp/${port}/p2p/${PEER} \\(.*ECONNREFUSED`))
    assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`)
  })

  it('an empty bootstrap list is a warning', async () => {
    const r = await cli(['resolve', 'MA.156.1301', '-c', write('no-bootstrap.json', { role: 'resolver', anchors: [{ name: 'root', namespace: 'MA', keys: ['11'.repeat(32)], threshold: 1 }] }), '--timeout', '1000'])
    assert.match(r.stderr, /^warning: the config lists no bootstrap peers \(bootstrap\)/m)
  })
})
