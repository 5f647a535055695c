import assert from 'node:assert/strict'
import { bureauLines, cliWorkspace, runCli, startCliCity, startCliNode } from '../../utils/cli-process.ts'
import type { CliRun } from '../../utils/cli-process.ts'

const env = { ...process.env, CITYCODE_PASSPHRASE: 'paged listing test passphrase', DEBUG: '' }
const SUB_CODES = 300


interface Listed { listing: string, code: string, logs: Array<{ log: string, size: number, next?: string, error?: string }>, entries: Array<{ log: string, index: number, type: string, code: string, seq?: number }>, next?: string }

/** Issue #20 part 1 at the CLI: `citycode list children|history|log` pages with --limit/--cursor, one-shot, from a resolver. */
describe('citycode list (paged, proven listings)', function () {
  this.timeout(300_000)
  const { dir, children, write, cleanup } = cliWorkspace('cc-list-')
  after(cleanup)
  const cli = async (args: string[]): Promise<CliRun> => await runCli(args, env, children, 120_000)

  it('pages a city\'s children, a sub-code\'s history and the city\'s log; bad cursors and limits are typed errors', async () => {
    const { root, cityConfig, city, anchor } = await startCliCity({ dir, write, children }, cli, env)

    const registered = await cli(['register', '-c', cityConfig, '--batch', write('subs.jsonl', bureauLines(10, 10 + SUB_CODES - 1)), '--json'])
    assert.equal(registered.status, 0, registered.stderr)
    await startCliNode(cityConfig, env, children)
    const resolverConfig = write('resolver.json', { role: 'resolver', bootstrap: [root.addr], anchors: [anchor], authorities: [{ namespace: 'MA', addr: root.addr }] })
    const list = async (...args: string[]): Promise<Listed> => {
      const run = await cli(['list', ...args, '-c', resolverConfig, '--json'])
      assert.equal(run.status, 0, run.stderr + run.stdout)
      return JSON.parse(run.stdout) as Listed
    }

    const seen: string[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await list('children', city, '--limit', '128', ...(cursor !== undefined ? ['--cursor', cursor] : []))
      assert.ok(page.entries.every(e => e.type === 'allocation' && e.log === city))
      seen.push(...page.entries.map(e => e.code))
      cursor = page.next
      pages++
    } while (cursor !== undefined && pages < 10)
    assert.equal(pages, Math.ceil(SUB_CODES / 128))
    assert.deepEqual(seen, Array.from({ length: SUB_CODES }, (_, i) => `${city}.${10 + i}`))

    const history = await list('history', `${city}.150`)
    assert.deepEqual(history.entries.map(e => [e.type, e.log, e.seq]), [['allocation', city, undefined], ['record', city, 1]])

    const log = await list('log', city, '--limit', '7')
    assert.deepEqual(log.entries.map(e => e.index), [0, 1, 2, 3, 4, 5, 6])
    assert.ok(log.next !== undefined)
    const more = await list('log', city, '--limit', '3', '--cursor', log.next)
    assert.deepEqual(more.entries.map(e => e.index), [7, 8, 9])

    const text = await cli(['list', 'children', city, '--limit', '2', '-c', resolverConfig])
    assert.equal(text.status, 0, text.stderr)
    assert.match(text.stdout, /signed head of \d+ entries/)
    assert.match(text.stdout, /^next: c1\./m)

    const refused = async (args: string[]): Promise<{ name: string, reason?: string }> => {
      const run = await cli(['list', ...args, '-c', resolverConfig, '--json'])
      assert.notEqual(run.status, 0)
      assert.doesNotMatch(run.stdout + run.stderr, /\bat .*\.ts:\d+/)
      const e = (JSON.parse(run.stdout) as { error: { name: string, details?: { reason?: string } } }).error
      return { name: e.name, ...(e.details?.reason !== undefined ? { reason: e.details.reason } : {}) }
    }
    const first = await list('children', city, '--limit', '1')
    assert.ok(first.next !== undefined)
    assert.equal((await refused(['children', city, '--cursor', `${first.next}x`])).name, 'InvalidCursorError')
    assert.equal((await refused(['log', city, '--cursor', first.next])).name, 'InvalidCursorError', 'a children cursor is not a log cursor')
    assert.equal((await refused(['children', city, '--limit', '5000'])).name, 'InvalidCursorError')
    assert.equal((await refused(['everything', city])).name, 'ConfigError')
  })
})
