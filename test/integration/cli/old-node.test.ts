import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const bin = fileURLToPath(new URL('../../../bin/citycode.js', import.meta.url))

/** The machine's own Node (older than the project's), found on PATH outside node_modules. */
function systemNode (): { path: string, version: string } | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir.includes('node_modules')) continue
    const path = join(dir, 'node')
    if (!existsSync(path)) continue
    const version = spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout.trim()
    const [major, minor] = version.slice(1).split('.').map(Number) as [number, number]
    if (major < 22 || (major === 22 && minor < 18)) return { path, version }
  }
  return undefined
}

describe('bin/citycode.js under the machine\'s older Node', function () {
  this.timeout(60_000)

  it('runs the command with the project\'s Node 22: its output and exit code, no stack trace', () => {
    const node = systemNode()
    assert.ok(node !== undefined, 'these machines have Node 20 on PATH (npm runs on it)')
    const help = spawnSync(node.path, [bin, '--help'], { encoding: 'utf8', env: { ...process.env, DEBUG: '' } })
    assert.equal(help.status, 0, help.stderr)
    assert.match(help.stdout, /^Usage: citycode/m)
    const bad = spawnSync(node.path, [bin, 'resolve', 'MA.999', '-c', 'none.json'], { encoding: 'utf8' })
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /^error: AllocationRuleError: MA\.999/)
    assert.doesNotMatch(bad.stderr, /ERR_UNKNOWN_FILE_EXTENSION|\n\s+at /)
  })

  it('says in one line what it needs when the project\'s Node is not there', () => {
    const node = systemNode()
    assert.ok(node !== undefined, 'these machines have Node 20 on PATH (npm runs on it)')
    // the re-run marker stands for "already the project's Node": without a Node 22 there is no re-run
    const r = spawnSync(node.path, [bin, '--help'], { encoding: 'utf8', env: { ...process.env, CITYCODE_REEXEC: '1' } })
    assert.equal(r.status, 1)
    assert.equal(r.stderr, `error: citycode needs Node >= 22.18, this is ${node.version}: run \`npm install\` in the project (it brings Node 22), then \`npm run citycode -- <command>\`\n`)
  })
})
