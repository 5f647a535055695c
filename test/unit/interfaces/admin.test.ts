import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, request } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { AllocationError, MalformedCodeError } from '../../../src/core/errors.ts'
import { AdminClient, serveAdmin } from '../../../src/interfaces/admin/index.ts'
import type { AdminServer } from '../../../src/interfaces/admin/index.ts'
import { ADMIN_REQUEST_TIMEOUT_MS } from '../../../src/interfaces/admin/protocol.ts'
import { parseAdminRequest } from '../../../src/interfaces/admin/server.ts'
import type { AdminOperations, Decision, ProveRequest, RevokeRequest, ShareResult } from '../../../src/services/admin/index.ts'
import { AccessDeniedError } from '../../../src/core/catalogue/errors.ts'

/** Operations that record what reached them, so a test can tell a refused request from one that was carried out. */
function fakeOperations (): AdminOperations & { calls: string[] } {
  const calls: string[] = []
  return {
    calls,
    status: async () => { calls.push('status'); return { role: 'root', namespace: 'MA', peerId: '12D3KooWtest', approval: 'manual' } },
    pending: async () => { calls.push('pending'); return [{ id: '0123456789abcdef', name: 'China', officialCode: 'CN', receivedAt: 1 }] },
    approve: async (ids: readonly string[]): Promise<Decision[]> => {
      calls.push(`approve ${ids.join(',')}`)
      return ids.map(id => id === 'ffffffffffffffff' ? { id, status: 'failed', error: { name: 'AllocationError', code: 'ERR_ALLOCATION', message: `no pending application ${id}` } } : { id, status: 'allocated', code: 'MA.156', duplicate: false })
    },
    reject: async (ids: readonly string[]): Promise<Decision[]> => { calls.push(`reject ${ids.join(',')}`); return ids.map(id => ({ id, status: 'rejected' })) },
    prove: async (r: ProveRequest) => {
      calls.push(`prove ${r.code}`)
      if (r.code === 'BOOM') throw new Error('disk on fire at /secret/path')
      if (r.code === 'MA.1') throw new MalformedCodeError('bad code', { position: 3 })
      return { code: r.code, bytes: new Uint8Array([1, 2, 3, 250]), text: 'CC1:X', madeAt: 5, ledger: null }
    },
    registerBatch: async (r) => { calls.push(`register-batch ${r.lines.length}`); return { total: r.lines.length, registered: r.lines.length, already: 0, outcomes: [] } },
    invite: async (r) => { calls.push(`invite ${r.key.slice(0, 8)}`); return { namespace: 'MA', key: r.key, code: r.code ?? null, expiresAt: 9, bytes: new Uint8Array([7]) } },
    revoke: async (r: RevokeRequest) => {
      calls.push(`revoke ${r.code} ${r.reason} ${String(r.revokedAt)}`)
      return { code: r.code, bytes: new Uint8Array([0, 255, 7]), revokedAt: r.revokedAt ?? 9, reason: r.reason, ledgerIndex: 4 }
    },
    shareAdd: async (r) => { calls.push(`share-add ${r.name} ${r.access?.kind ?? '-'}`); return { ...SHARE, name: r.name } },
    shareList: async () => { calls.push('share-list'); return [SHARE] },
    shareRemove: async (r) => { calls.push(`share-remove ${r.name}`); return SHARE },
    fetch: async (r) => {
      calls.push(`fetch ${r.code}/${r.name}`)
      if (r.name === 'secret') throw new AccessDeniedError('MA.156.1302 may not fetch MA.156.1301/secret', { code: 'MA.156.1302' })
      return { code: r.code, dataset: r.name, cid: SHARE.cid, size: 3, mediaType: 'text/csv', licence: '', provider: '12D3KooWp', blocks: 1, bytes: 3, alreadyHeld: 0, receipts: 2, out: r.out ?? null, logSeq: 0 }
    },
    exchangeLog: async () => { calls.push('exchange-log'); return { entries: [], verified: { entries: 0, head: null } } },
    rotate: async () => { calls.push('rotate'); return { code: 'MA', key: 'ab'.repeat(32), previousKey: 'cd'.repeat(32), serial: 2, ledgerIndex: 7, republished: 1 } },
    reinstate: async (r) => { calls.push(`reinstate ${r.code} ${r.key.slice(0, 8)}`); return { code: r.code, key: r.key, serial: 2, revokedPrevious: true, duplicate: false } },
    publish: async (r) => { calls.push(`publish ${r.sub ?? '(own)'} ${(r.values ?? []).map(v => `${v.name}=${v.value}`).join(',')}`); return { code: 'MA.1', seq: 3, dhtPeers: 0 } }
  }
}

const SHARE: ShareResult = { code: 'MA.156.1301', catalogue: 'bafyrei', seq: 1, name: 'water', version: 1, cid: 'bafkrei', size: 3, mediaType: 'text/csv', licence: 'CC-BY-4.0', description: '', access: 'public' }

async function post (path: string, body: string, headers: Record<string, string | number> = {}): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request({ socketPath: path, path: '/v1', method: 'POST', agent: false, headers: { 'content-length': Buffer.byteLength(body), ...headers }, signal: AbortSignal.timeout(10_000) }, (res) => {
      let text = ''
      res.on('data', (d: Buffer) => { text += d.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: text }) })
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('admin socket (in process)', function () {
  this.timeout(30_000)
  const dir = mkdtempSync(join(tmpdir(), 'cc-adm-'))
  const servers: AdminServer[] = []
  after(async () => {
    await Promise.all(servers.map(async s => { await s.stop() }))
    rmSync(dir, { recursive: true, force: true })
  })
  let n = 0
  const socketPath = (): string => join(dir, `s${n++}.sock`)
  const serve = async (ops: AdminOperations, path = socketPath()): Promise<AdminServer> => {
    const s = await serveAdmin(ops, { socketPath: path })
    servers.push(s)
    return s
  }

  it('the client gets every operation\'s result, bytes intact', async () => {
    const ops = fakeOperations()
    const s = await serve(ops)
    const client = new AdminClient(s.path)
    assert.equal((await client.status()).namespace, 'MA')
    assert.equal((await client.pending())[0]?.name, 'China')
    assert.deepEqual(await client.approve(['0123456789abcdef', 'ffffffffffffffff']), [
      { id: '0123456789abcdef', status: 'allocated', code: 'MA.156', duplicate: false },
      { id: 'ffffffffffffffff', status: 'failed', error: { name: 'AllocationError', code: 'ERR_ALLOCATION', message: 'no pending application ffffffffffffffff' } }
    ])
    assert.deepEqual(await client.reject(['0123456789abcdef']), [{ id: '0123456789abcdef', status: 'rejected' }])
    assert.deepEqual((await client.prove({ code: 'MA.156' })).bytes, new Uint8Array([1, 2, 3, 250]))
    assert.deepEqual(await client.revoke({ code: 'MA.156', reason: 'compromised', revokedAt: 77 }), { code: 'MA.156', bytes: new Uint8Array([0, 255, 7]), revokedAt: 77, reason: 'compromised', ledgerIndex: 4 })
    assert.deepEqual(ops.calls, ['status', 'pending', 'approve 0123456789abcdef,ffffffffffffffff', 'reject 0123456789abcdef', 'prove MA.156', 'revoke MA.156 compromised 77'])
  })

  it('the exchange\'s operations cross the socket; an access refusal keeps its class', async () => {
    const ops = fakeOperations()
    const s = await serve(ops)
    const client = new AdminClient(s.path)
    assert.equal((await client.shareAdd({ path: '/tmp/w.csv', name: 'water', access: { kind: 'codes', codes: ['MA.156.1302'] } })).name, 'water')
    assert.deepEqual(await client.shareList(), [SHARE])
    assert.equal((await client.fetch({ code: 'MA.156.1301', name: 'water', out: '/tmp/x' })).out, '/tmp/x')
    await assert.rejects(client.fetch({ code: 'MA.156.1301', name: 'secret' }), (err: Error) => err instanceof AccessDeniedError && err.code === 'ERR_ACCESS_DENIED')
    assert.deepEqual((await client.exchangeLog({})).verified, { entries: 0, head: null })
    await client.shareRemove({ name: 'water' })
    // a policy of another shape is refused at the door
    const bad = await post(s.path, JSON.stringify({ op: 'share-add', path: '/tmp/w', name: 'w', access: { kind: 'everyone' } }))
    assert.equal(bad.status, 400)
    assert.deepEqual(ops.calls, ['share-add water codes', 'share-list', 'fetch MA.156.1301/water', 'fetch MA.156.1301/secret', 'exchange-log', 'share-remove water'])
  })

  it('rotate, reinstate, publish and approve --reinstate cross the socket with their arguments and results', async () => {
    const ops = fakeOperations()
    const s = await serve(ops)
    const client = new AdminClient(s.path)
    assert.deepEqual(await client.rotate(), { code: 'MA', key: 'ab'.repeat(32), previousKey: 'cd'.repeat(32), serial: 2, ledgerIndex: 7, republished: 1 })
    assert.deepEqual(await client.reinstate({ code: 'MA.156', key: 'ef'.repeat(32) }), { code: 'MA.156', key: 'ef'.repeat(32), serial: 2, revokedPrevious: true, duplicate: false })
    assert.deepEqual(await client.publish({ values: [{ name: 'k', value: 'v' }] }), { code: 'MA.1', seq: 3, dhtPeers: 0 })
    await client.publish({ sub: 'Harbour' })
    assert.deepEqual(ops.calls, ['rotate', 'reinstate MA.156 efefefef', 'publish (own) k=v', 'publish Harbour '])
    const reinstating = await post(s.path, JSON.stringify({ op: 'approve', ids: ['0123456789abcdef'], reinstate: true }))
    assert.equal(reinstating.status, 200, reinstating.body)
  })

  it('a refusal of an operation comes back to the client as the same typed error; a failure hides its details', async () => {
    const s = await serve(fakeOperations())
    const client = new AdminClient(s.path)
    await assert.rejects(client.prove({ code: 'MA.1' }), (err: Error) => err instanceof MalformedCodeError && (err as MalformedCodeError).details.position === 3)
    const internal = await post(s.path, JSON.stringify({ op: 'prove', code: 'BOOM' }))
    assert.equal(internal.status, 500)
    assert.equal((JSON.parse(internal.body) as { error: { name: string } }).error.name, 'AdminInternalError')
    assert.doesNotMatch(internal.body, /secret|disk on fire|\.ts:\d+/)
    assert.equal((await client.status()).role, 'root')
  })

  it('refuses what the protocol does not allow, before any operation runs', async () => {
    const ops = fakeOperations()
    const s = await serve(ops)
    const cases: Array<[string, Record<string, string | number>, number, string]> = [
      ['{"op":"nuke"}', {}, 400, 'UnknownAdminOpError'],
      ['[1,2]', {}, 400, 'AdminRequestError'],
      ['{"op":7}', {}, 400, 'AdminRequestError'],
      ['{"op":"approve","ids":[]}', {}, 400, 'AdminRequestError'],
      [JSON.stringify({ op: 'approve', ids: Array.from({ length: 257 }, (_, i) => i.toString(16).padStart(16, '0')) }), {}, 400, 'AdminRequestError'],
      ['{"op":"prove","code":"MA.156","timeoutMs":0}', {}, 400, 'AdminRequestError'],
      ['{"op":"revoke","code":"MA.156"}', {}, 400, 'AdminRequestError'],
      ['{"op":"revoke","code":"MA.156","reason":""}', {}, 400, 'AdminRequestError'],
      ['{"op":"revoke","code":"MA.156","reason":"x","revokedAt":-1}', {}, 400, 'AdminRequestError'],
      ['{"op":"rotate","key":"00"}', {}, 400, 'AdminRequestError'],
      ['{"op":"reinstate","code":"MA.156","key":"ABCD"}', {}, 400, 'AdminRequestError'],
      ['{"op":"reinstate","key":"' + 'ab'.repeat(32) + '"}', {}, 400, 'AdminRequestError'],
      ['{"op":"publish","values":[{"name":"","value":"x"}]}', {}, 400, 'AdminRequestError'],
      ['{"op":"publish","sub":""}', {}, 400, 'AdminRequestError'],
      ['{"op":"approve","ids":["0123456789abcdef"],"reinstate":"yes"}', {}, 400, 'AdminRequestError'],
      ['{"op":"status"}', { 'content-length': 1_000_000 }, 413, 'AdminRequestTooLargeError']
    ]
    for (const [body, headers, status, name] of cases) {
      const r = await post(s.path, body, headers).catch((err: Error) => ({ status: -1, body: err.message }))
      assert.equal(r.status, status, `${body.slice(0, 40)}: ${r.body}`)
      assert.equal((JSON.parse(r.body) as { error: { name: string } }).error.name, name)
    }
    assert.deepEqual(ops.calls, [])
  })

  it('any bytes at all: parseAdminRequest throws only typed admin errors', () => {
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }).map(b => Buffer.from(b)), fc.json().map(j => Buffer.from(j)), fc.record({ op: fc.constantFrom('status', 'pending', 'approve', 'reject', 'prove', 'x'), ids: fc.array(fc.string()), code: fc.string() }, { requiredKeys: ['op'] }).map(o => Buffer.from(JSON.stringify(o)))), (body) => {
      try {
        parseAdminRequest(body)
      } catch (err) {
        assert.ok(['AdminRequestError', 'UnknownAdminOpError'].includes((err as Error).name), String(err))
      }
    }), { numRuns: 300 })
  })

  it('the socket is created 0600 even under a permissive umask, and removed on stop', async () => {
    const old = process.umask(0)
    let s
    try {
      s = await serveAdmin(fakeOperations(), { socketPath: socketPath() })
    } finally {
      process.umask(old)
    }
    assert.equal(statSync(s.path).mode & 0o777, 0o600)
    await s.stop()
    assert.equal(existsSync(s.path), false)
  })

  it('a socket file left by a killed process is replaced; a live one, a regular file or a too long path is refused', async () => {
    const stale = socketPath()
    const killed = spawnSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`], { timeout: 10_000 })
    assert.equal(killed.signal, 'SIGKILL')
    assert.ok(statSync(stale).isSocket())
    const replaced = await serve(fakeOperations(), stale)
    assert.equal((await new AdminClient(replaced.path).status()).namespace, 'MA')

    await assert.rejects(serveAdmin(fakeOperations(), { socketPath: stale }), (err: Error) => err.name === 'AdminSocketError' && /another process answers/.test(err.message))
    assert.equal((await new AdminClient(replaced.path).status()).namespace, 'MA', 'the live node keeps its socket')

    const file = join(dir, 'notes.txt')
    writeFileSync(file, 'keep me')
    await assert.rejects(serveAdmin(fakeOperations(), { socketPath: file }), (err: Error) => err.name === 'AdminSocketError' && /is not a socket/.test(err.message))
    assert.ok(statSync(file).isFile())

    await assert.rejects(serveAdmin(fakeOperations(), { socketPath: join(dir, 'x'.repeat(120)) }), { name: 'AdminSocketError', code: 'ERR_ADMIN_SOCKET' })
  })

  it('the client says when nobody answers, and when something else answers', async () => {
    await assert.rejects(new AdminClient(join(dir, 'none.sock')).status(), (err: Error & { details?: Record<string, unknown> }) => err.name === 'AdminUnavailableError' && err.details?.reason === 'ENOENT')
    const other = join(dir, 'other.sock')
    const server = createServer((_req, res) => { res.end('<html>hello</html>') })
    await new Promise<void>(resolve => server.listen(other, resolve))
    try {
      await assert.rejects(new AdminClient(other).status(), { name: 'AdminProtocolError' })
    } finally {
      await new Promise(resolve => server.close(resolve))
    }
  })

  it('an allocation refusal keeps its class across the socket', async () => {
    const ops = fakeOperations()
    const s = await serve({ ...ops, pending: async () => { throw new AllocationError('this node holds no code', { role: 'country' }) } })
    await assert.rejects(new AdminClient(s.path).pending(), (err: Error) => err instanceof AllocationError && err.message === 'this node holds no code')
  })

  /** A raw client on the socket: writes what it is told, keeps what comes back, knows when the node closed it. */
  async function rawAdmin (path: string): Promise<{ write: (text: string) => void, received: () => string, closed: () => boolean, destroy: () => void }> {
    const socket = connect(path)
    let text = ''
    let closed = false
    socket.on('data', (d: Buffer) => { text += d.toString() })
    socket.on('close', () => { closed = true })
    socket.on('error', () => { /* a cut-off connection may reset; `closed` says so */ })
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    return { write: (t) => { if (!socket.destroyed) socket.write(t) }, received: () => text, closed: () => closed, destroy: () => { socket.destroy() } }
  }

  it('the documented 10 s limit is the one in force', async () => {
    assert.equal(ADMIN_REQUEST_TIMEOUT_MS, 10_000)
    const s = await serve(fakeOperations())
    assert.equal(s.requestTimeoutMs, 10_000)
  })

  it('a body dripped a few bytes at a time is cut off at the limit for the whole request, and never carried out', async () => {
    const ops = fakeOperations()
    const s = await serveAdmin(ops, { socketPath: socketPath(), requestTimeoutMs: 1_000, timeoutCheckIntervalMs: 50 })
    servers.push(s)
    const body = '{"op":"status"}'
    const c = await rawAdmin(s.path)
    const started = Date.now()
    c.write(`POST /v1 HTTP/1.1\r\nHost: admin\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`)
    // one byte every 200 ms: each chunk is far inside the limit, the whole request (3 s) is not
    for (let i = 0; i < body.length && !c.closed(); i++) {
      c.write(body[i] as string)
      await new Promise(resolve => setTimeout(resolve, 200))
    }
    const took = Date.now() - started
    try {
      assert.ok(c.closed(), `the connection is still open after ${took} ms`)
      assert.ok(took < 2_000, `cut off after ${took} ms, the limit is 1000`)
      assert.match(c.received(), /^HTTP\/1\.1 408 /)
      const answer = JSON.parse(c.received().slice(c.received().indexOf('\r\n\r\n') + 4)) as { v: number, error: { name: string, code: string, details: { timeoutMs: number } } }
      assert.deepEqual([answer.v, answer.error.name, answer.error.code, answer.error.details.timeoutMs], [1, 'AdminRequestTimeoutError', 'ERR_ADMIN_REQUEST_TIMEOUT', 1_000])
      assert.deepEqual(ops.calls, [])
    } finally {
      c.destroy()
    }
  })

  it('slow headers and a connection that sends nothing are cut off at the same limit', async () => {
    const s = await serveAdmin(fakeOperations(), { socketPath: socketPath(), requestTimeoutMs: 600, timeoutCheckIntervalMs: 50 })
    servers.push(s)
    const silent = await rawAdmin(s.path)
    const slow = await rawAdmin(s.path)
    const started = Date.now()
    slow.write('POST /v1 HTTP/1.1\r\n')
    for (let i = 0; i < 30 && !(silent.closed() && slow.closed()); i++) {
      slow.write(`x-drip-${i}: a\r\n`)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    const took = Date.now() - started
    try {
      assert.ok(silent.closed() && slow.closed(), `open after ${took} ms`)
      assert.ok(took < 1_500, `cut off after ${took} ms, the limit is 600`)
      assert.match(slow.received(), /^HTTP\/1\.1 408 [\s\S]*AdminRequestTimeoutError/)
    } finally {
      silent.destroy()
      slow.destroy()
    }
    // the socket still answers a client that asks in time
    assert.equal((await new AdminClient(s.path).status()).role, 'root')
  })
})
