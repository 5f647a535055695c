import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CLI_MAIN, cliWorkspace, runCli, stopCliNode } from '../../utils/cli-process.ts'

describe('npm start: the demo tells a resolver in another process how to reach it', function () {
  this.timeout(240_000)
  const ws = cliWorkspace('citycode-demo-resolver-')
  after(async () => { await ws.cleanup() })

  it('prints the root anchor and writes a resolver config that a one-shot resolve verifies against', async () => {
    const file = join(ws.dir, 'nested', 'resolver.json')
    const demo = spawn(process.execPath, [CLI_MAIN, 'demo', '--resolver-config', file], { env: { ...process.env, DEBUG: '' } })
    ws.children.push(demo)
    let out = ''
    demo.stdout.on('data', (d: Buffer) => { out += d.toString() })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`demo not running: ${out.slice(-1000)}`)) }, 180_000)
      demo.stdout.on('data', () => { if (out.includes('running; Ctrl-C')) { clearTimeout(timer); resolve() } })
      demo.once('exit', (code) => { clearTimeout(timer); reject(new Error(`demo exited ${String(code)}: ${out.slice(-1000)}`)) })
    })
    const anchor = /^trust anchor MA \(demo-root\): ([0-9a-f]{64})$/m.exec(out)?.[1]
    assert.ok(anchor !== undefined, out.slice(0, 1000))
    const config = JSON.parse(readFileSync(file, 'utf8')) as { anchors: Array<{ keys: string[] }>, bootstrap: string[] }
    assert.deepEqual(config.anchors.map(a => a.keys), [[anchor]], 'the file carries the printed anchor')
    const r = await runCli(['resolve', 'MA.156.1301', '-c', file], { ...process.env, DEBUG: '' }, ws.children, 90_000)
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /Shijiazhuang/)
    assert.match(r.stdout, /verified: chain demo-root -> MA\.156 -> MA\.156\.1301/)
    assert.equal(await stopCliNode(demo, 'SIGINT'), 0)
  })
})
