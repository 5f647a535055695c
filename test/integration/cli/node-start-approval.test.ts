import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { CLI_MAIN as main, cliWorkspace, runCli, stopCliNode as stop } from '../../utils/cli-process.ts'
import type { CliRun } from '../../utils/cli-process.ts'

const env = { ...process.env, CITYCODE_PASSPHRASE: 'node start approval test passphrase', DEBUG: '' }
/** The one-shot deadline `node start` used to give up after. */
const OLD_APPLY_TIMEOUT_MS = 30_000

type Run = CliRun

async function cli (args: string[], children: ChildProcessWithoutNullStreams[], timeoutMs = 90_000): Promise<Run> {
  return await runCli(args, env, children, timeoutMs)
}

/** A running `node start`, its output so far and its exit. */
interface Running {
  child: ChildProcessWithoutNullStreams
  out: () => string
  err: () => string
  exited: Promise<number | null>
  /** Resolves once `pattern` matches stdout or stderr (whichever `stream` names). */
  waitFor: (stream: 'out' | 'err', pattern: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>
}

function start (config: string, children: ChildProcessWithoutNullStreams[]): Running {
  const child = spawn(process.execPath, [main, 'node', 'start', '-c', config], { env })
  children.push(child)
  let out = ''
  let err = ''
  const waiters = new Set<() => void>()
  const wake = (): void => { for (const w of waiters) w() }
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); wake() })
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); wake() })
  const exited = new Promise<number | null>(resolve => { child.once('exit', (code) => { wake(); resolve(code) }) })
  const waitFor = async (stream: 'out' | 'err', pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> => await new Promise((resolve, reject) => {
    const check = (): void => {
      const m = pattern.exec(stream === 'out' ? out : err)
      if (m !== null) { done(); resolve(m); return }
      if (child.exitCode !== null || child.signalCode !== null) { done(); reject(new Error(`exited ${String(child.exitCode)} before ${String(pattern)}: ${out} ${err}`)) }
    }
    const timer = setTimeout(() => { done(); reject(new Error(`no ${String(pattern)} in ${timeoutMs} ms: ${out} ${err}`)) }, timeoutMs)
    const done = (): void => { clearTimeout(timer); waiters.delete(check) }
    waiters.add(check)
    check()
  })
  return { child, out: () => out, err: () => err, exited, waitFor }
}


async function adminStatus (socketPath: string): Promise<{ namespace: string | null }> {
  return await new Promise((resolve, reject) => {
    const body = JSON.stringify({ op: 'status' })
    const req = request({ socketPath, path: '/v1', method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, signal: AbortSignal.timeout(15_000) }, (res) => {
      let text = ''
      res.on('data', (d: Buffer) => { text += d.toString() })
      res.on('end', () => { resolve((JSON.parse(text) as { result: { namespace: string | null } }).result) })
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => { resolve(port) })
    })
  })
}

/** `250 ms` or `2 s` as written in the progress lines. */
const toMs = (text: string): number => text.endsWith(' ms') ? Number(text.slice(0, -3)) : Number(text.slice(0, -2)) * 1_000

const pendingLine = /^application ([0-9a-f]{16}) pending approval by the operator of MA \(there: citycode approve \1\); asking again in (\d+ m?s)$/gm

describe('node start waits for a manual approval however long it takes', function () {
  this.timeout(300_000)
  const { dir, children, write, cleanup } = cliWorkspace('cc-wait-')
  after(cleanup)
  const rootConfig = write('root.json', { role: 'root', dataDir: join(dir, 'root'), authority: { namespace: 'MA', name: 'Test root', approval: 'manual' } })
  let anchor: unknown
  let rootAddr = ''

  before(async () => {
    const init = await cli(['init', '-c', rootConfig, '--json'], children)
    assert.equal(init.status, 0, init.stderr)
    anchor = (JSON.parse(init.stdout) as { anchor: unknown }).anchor
    const root = start(rootConfig, children)
    rootAddr = (await root.waitFor('out', /^ready root MA peer \S+ listening (\S+)/m))[1] as string
  })

  it('an applicant pending beyond the old 30 s timeout obtains its code once approved and serves it; a rejected one ends with the typed error', async () => {
    // fast polling so the test does not wait for the minute-long back-off; the cap shows the doubling stops
    const applyPoll = { intervalMs: 200, maxIntervalMs: 1_000 }
    const country = (name: string, officialCode: string): string => write(`${officialCode}.json`, { role: 'country', dataDir: join(dir, officialCode), bootstrap: [rootAddr], anchors: [anchor], authority: { parent: { namespace: 'MA', addr: rootAddr }, name, officialCode, applyPoll } })
    const cn = start(country('China', 'CN'), children)
    const de = start(country('Germany', 'DE'), children)
    const cnId = (await cn.waitFor('err', new RegExp(pendingLine.source, 'm')))[1] as string
    const pendingSince = Date.now()
    const deId = (await de.waitFor('err', new RegExp(pendingLine.source, 'm')))[1] as string

    // meanwhile: the rejected applicant ends with one typed line and exit 1
    const rejected = await cli(['approve', '--reject', deId, '-c', rootConfig], children)
    assert.equal(rejected.status, 0, rejected.stderr)
    assert.equal(await de.exited, 1, de.err())
    const errorLines = de.err().split('\n').filter(l => l.startsWith('error: '))
    assert.equal(errorLines.length, 1, de.err())
    assert.match(errorLines[0] as string, new RegExp(`^error: AllocationError: (remote: )?application ${deId} was rejected by the operator of MA$`))
    assert.doesNotMatch(de.out(), /^ready /m)

    // the other one keeps waiting past the point where the old deadline gave up
    const remaining = OLD_APPLY_TIMEOUT_MS + 2_000 - (Date.now() - pendingSince)
    if (remaining > 0) await new Promise(resolve => setTimeout(resolve, remaining))
    assert.equal(cn.child.exitCode, null, `the applicant gave up: ${cn.err()}`)
    assert.doesNotMatch(cn.out(), /^ready /m)
    const waits = [...cn.err().matchAll(pendingLine)].map(m => { assert.equal(m[1], cnId); return toMs(m[2] as string) })
    assert.deepEqual(waits.slice(0, 4), [200, 400, 800, 1_000], 'back-off doubles from the poll interval up to its cap')
    assert.ok(waits.every(w => w <= 1_000), `never beyond the cap: ${waits.join(' ')}`)
    // asked about once a second at most for ~30 s, not hammered (a loaded machine asks less often)
    assert.ok(waits.length >= 5 && waits.length <= 40, `${waits.length} polls`)

    const approved = await cli(['approve', cnId, '-c', rootConfig, '--json'], children)
    assert.equal(approved.status, 0, approved.stderr)
    const [, code, peer] = await cn.waitFor('out', /^ready country (\S+) peer (\S+) listening/m, 60_000)
    assert.equal(code, 'MA.156')

    // and it serves it: a resolver finds the applicant's own record under its new code
    const resolverConfig = write('resolver.json', { role: 'resolver', bootstrap: [rootAddr], anchors: [anchor], authorities: [{ namespace: 'MA', addr: rootAddr }] })
    const deadline = Date.now() + 60_000
    let held: string | undefined
    while (held !== peer && Date.now() < deadline) {
      const resolved = await cli(['resolve', 'MA.156', '-c', resolverConfig, '--json'], children)
      if (resolved.status === 0) held = (JSON.parse(resolved.stdout) as { values: Array<{ type: string, id?: string }> }).values.find(v => v.type === 'peer')?.id
      if (held !== peer) await new Promise(resolve => setTimeout(resolve, 1_000))
    }
    assert.equal(held, peer, 'the record of MA.156 names the applicant\'s peer')
    assert.equal(await stop(cn.child, 'SIGTERM'), 0)
  })

  it('an unreachable parent is retried with back-off while the node serves its admin socket; SIGTERM stops it cleanly', async () => {
    const peerId = /\/p2p\/(\S+)$/.exec(rootAddr)?.[1] as string
    const deadAddr = `/ip4/127.0.0.1/tcp/${await closedPort()}/p2p/${peerId}`
    const config = write('fr.json', { role: 'country', dataDir: join(dir, 'fr'), anchors: [anchor], authority: { parent: { namespace: 'MA', addr: deadAddr }, name: 'France', officialCode: 'FR', applyPoll: { intervalMs: 200, maxIntervalMs: 2_000 } } })
    const fr = start(config, children)
    const socket = (await fr.waitFor('out', /^admin (\S+)$/m))[1] as string
    const retry = new RegExp(`^parent MA unreachable at ${deadAddr.replace(/\//g, '\\/')} \\(.+\\); retrying in (\\d+ m?s), this node keeps serving meanwhile$`, 'gm')
    await fr.waitFor('err', new RegExp(`(${retry.source}[\\s\\S]*){4}`, 'm'))
    const waits = [...fr.err().matchAll(retry)].map(m => toMs(m[1] as string))
    assert.deepEqual(waits.slice(0, 4), [250, 500, 1_000, 2_000], 'retries back off (250 ms doubling, capped by the poll cap)')
    assert.equal((await adminStatus(socket)).namespace, null, 'the node answers on its admin socket while it waits')
    assert.equal(await stop(fr.child, 'SIGTERM'), 0)
    assert.match(fr.err(), /^stopped before MA answered$/m)
    assert.doesNotMatch(fr.err(), /^error: /m)
  })
})
