import assert from 'node:assert/strict'
import { join } from 'node:path'
import { bureauLines, cliWorkspace, runCli, startCliCity, startCliNode } from '../../utils/cli-process.ts'
import type { CliRun } from '../../utils/cli-process.ts'

const env = { ...process.env, CITYCODE_PASSPHRASE: 'bulk registration test passphrase', DEBUG: '' }

interface Registered { via: string, namespace: string, total: number, registered: number, already: number, outcomes: Array<{ line: number, code: string, status: string }> }


/** Issue #20 part 1 from the operator's side: `citycode register --batch`, on a stopped city and on a running one. */
describe('citycode register --batch', function () {
  this.timeout(300_000)
  const { dir, children, write, cleanup } = cliWorkspace('cc-batch-')
  after(cleanup)
  const cli = async (args: string[]): Promise<CliRun> => await runCli(args, env, children, 120_000)

  it('registers a file on the data directory, again on the running node (only the new lines), refuses bad files whole', async () => {
    const { root, cityConfig, city, anchor } = await startCliCity({ dir, write, children }, cli, env)

    // stopped city: the command opens its data directory
    const first = await cli(['register', '-c', cityConfig, '--batch', write('first.jsonl', bureauLines(10, 40)), '--json'])
    assert.equal(first.status, 0, first.stderr)
    const a = JSON.parse(first.stdout) as Registered
    assert.deepEqual([a.via, a.namespace, a.total, a.registered, a.already], ['data-dir', city, 31, 31, 0])

    // running city: through the admin socket, in chunks; the old lines are reported, not duplicated
    const running = await startCliNode(cityConfig, env, children)
    assert.equal(running.code, city)
    const csv = 'number,name,type,phone\n' + Array.from({ length: 50 }, (_, i) => `${10 + i},Bureau ${10 + i},bureau,0311-${10 + i}`).join('\n') + '\n'
    const second = await cli(['register', '-c', cityConfig, '--batch', write('second.csv', csv)])
    assert.equal(second.status, 0, second.stderr)
    assert.match(second.stderr, /via the running node's admin socket/)
    assert.match(second.stderr, /50\/50 lines/)
    assert.match(second.stdout, new RegExp(`^line 2: ${city.replaceAll('.', '\\.')}\\.10 already registered$`, 'm'))
    assert.match(second.stdout, /registered 19 sub-codes of \S+, 31 already registered, 50 lines/)

    // a bad file: every bad line named, exit 1, nothing written
    const bad = [bureauLines(70, 71).trim(), '{"number":"70","name":"twice"}', 'nonsense', '{"code":"MA.156.9999.01","name":"elsewhere"}', '{"number":"11","name":"Not bureau 11"}'].join('\n')
    const refused = await cli(['register', '-c', cityConfig, '--batch', write('bad.jsonl', bad), '--json'])
    assert.equal(refused.status, 1)
    const err = JSON.parse(refused.stdout) as { error: { name: string, lines: Array<{ line: number, error: string }> } }
    assert.equal(err.error.name, 'BatchError')
    assert.deepEqual(err.error.lines.map(l => [l.line, l.error]), [[3, 'DuplicateLine'], [4, 'MalformedLine'], [5, 'OutsideNamespaceError']])
    // the same file without its malformed lines still conflicts with an allocation: refused whole, line 70 not written
    const conflict = await cli(['register', '-c', cityConfig, '--batch', write('conflict.jsonl', [bureauLines(70, 71).trim(), '{"number":"11","name":"Not bureau 11"}'].join('\n')), '--json'])
    assert.equal(conflict.status, 1, conflict.stdout)
    assert.deepEqual((JSON.parse(conflict.stdout) as { error: { lines: Array<{ line: number, error: string }> } }).error.lines.map(l => [l.line, l.error]), [[3, 'AllocationError']])
    const after = await cli(['register', '-c', cityConfig, '--batch', write('after.jsonl', bureauLines(70, 70)), '--json'])
    assert.equal(after.status, 0, after.stderr)
    assert.equal((JSON.parse(after.stdout) as Registered).registered, 1, 'line 70 was not written by the refused files')

    // a bulk sub-code resolves from elsewhere, signed by the city
    const resolverConfig = write('resolver.json', { role: 'resolver', bootstrap: [root.addr], anchors: [anchor], authorities: [{ namespace: 'MA', addr: root.addr }] })
    const resolved = await cli(['resolve', `${city}.25`, '-c', resolverConfig, '--json'])
    assert.equal(resolved.status, 0, resolved.stderr + resolved.stdout)
    const view = JSON.parse(resolved.stdout) as { code: string, values: Array<{ type: string, name?: string, value?: string }> }
    assert.equal(view.code, `${city}.25`)
    assert.ok(view.values.some(v => v.type === 'data' && v.name === 'phone' && v.value === '0311-25'))
  })
})
