import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { http } from '../../utils/gateway-network.ts'

const main = fileURLToPath(new URL('../../../src/interfaces/cli/main.ts', import.meta.url))

describe('citycode node start --http', function () {
  this.timeout(120_000)
  const dir = mkdtempSync(join(tmpdir(), 'citycode-gateway-cli-'))
  const children: ChildProcessWithoutNullStreams[] = []
  after(async () => {
    await Promise.all(children.filter(c => c.exitCode === null && c.signalCode === null).map(async c => {
      c.kill('SIGKILL')
      await new Promise(resolve => c.on('exit', resolve))
    }))
    rmSync(dir, { recursive: true, force: true })
  })

  const start = async (name: string, extra: string[]): Promise<{ proc: ChildProcessWithoutNullStreams, url: string, err: () => string }> => {
    const config = join(dir, `${name}.json`)
    writeFileSync(config, JSON.stringify({ role: 'root', authority: { namespace: 'MA', name: 'Test root' } }))
    const proc = spawn(process.execPath, [main, 'node', 'start', '-c', config, '--http', '127.0.0.1:0', ...extra], { env: { ...process.env, DEBUG: '' } })
    children.push(proc)
    let out = ''
    let err = ''
    proc.stderr.on('data', (d: Buffer) => { err += d.toString() })
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`no gateway line: ${err.slice(-500)}`)) }, 60_000)
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        const m = /^gateway (http:\/\/127\.0\.0\.1:\d+)\//m.exec(out)
        if (m !== null && /^ready /m.test(out)) {
          clearTimeout(timer)
          resolve(m[1] as string)
        }
      })
      proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`node exited ${String(code)}: ${err.slice(-500)}`)) })
    })
    return { proc, url, err: () => err }
  }
  const stop = async (proc: ChildProcessWithoutNullStreams): Promise<number | null> => {
    proc.kill('SIGINT')
    return await new Promise<number | null>(resolve => proc.on('exit', resolve))
  }

  it('serves the gateway with libp2p metrics, JSON access logs when asked, and stops cleanly on SIGINT', async () => {
    const { proc, url, err } = await start('logged', ['--access-log', 'json'])
    assert.equal((await http(url, 'GET', '/healthz')).status, 200)
    const root = await http(url, 'GET', '/v1/codes/MA')
    assert.equal(root.status, 200, root.text)
    assert.equal(root.json<{ code: string, resolution: { source: string } }>().resolution.source, 'local')
    assert.equal((await http(url, 'GET', '/v1/codes/MA.15')).status, 400)
    const metrics = (await http(url, 'GET', '/metrics')).text
    assert.match(metrics, /^libp2p_\w+/m, 'libp2p metrics in the same registry')
    assert.match(metrics, /citycode_records_held\{role="own"\} 1/)
    // one JSON object per request line
    const logged = err().split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as { msg?: string, res?: { statusCode: number } })
    assert.ok(logged.some(l => l.msg === 'request completed' && l.res?.statusCode === 400), err().slice(-1000))
    assert.equal(await stop(proc), 0, err().slice(-500))
  })

  it('keeps the access log out of the operator\'s output unless asked', async () => {
    const { proc, url, err } = await start('quiet', [])
    assert.equal((await http(url, 'GET', '/v1/codes/MA')).status, 200)
    assert.equal((await http(url, 'GET', '/v1/codes/MA.15')).status, 400)
    assert.equal(await stop(proc), 0, err().slice(-500))
    assert.doesNotMatch(err(), /request completed|\/v1\/codes|GET /, err().slice(-1000))
  })
})
