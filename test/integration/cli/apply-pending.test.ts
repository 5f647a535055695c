import assert from 'node:assert/strict'
import { join } from 'node:path'
import { cliWorkspace, runCli, startCliNode } from '../../utils/cli-process.ts'
import type { CliRun } from '../../utils/cli-process.ts'

const env = { ...process.env, CITYCODE_PASSPHRASE: 'apply pending test passphrase', DEBUG: '' }

describe('apply --timeout while the parent\'s operator has not decided', function () {
  this.timeout(200_000)
  const { dir, children, write, cleanup } = cliWorkspace('citycode-apply-pending-')
  after(cleanup)
  const cli = async (args: string[]): Promise<CliRun> => await runCli(args, env, children, 90_000)

  it('says the application waits for approval and gives its id, which the parent lists; once approved, apply gets the code', async () => {
    const rootConfig = write('root.json', { role: 'root', dataDir: join(dir, 'root'), authority: { namespace: 'MA', name: 'Test root' } })
    const made = await cli(['init', '-c', rootConfig, '--json'])
    assert.equal(made.status, 0, made.stderr)
    const { anchor } = JSON.parse(made.stdout) as { anchor: unknown }
    const root = await startCliNode(rootConfig, env, children)
    const cnConfig = write('cn.json', { role: 'country', dataDir: join(dir, 'cn'), bootstrap: [root.addr], anchors: [anchor], authority: { parent: { namespace: 'MA', addr: root.addr }, name: 'China', officialCode: 'CN' } })

    const waited = await cli(['apply', '-c', cnConfig, '--timeout', '3000', '--json'])
    assert.equal(waited.status, 1, waited.stdout + waited.stderr)
    const { error } = JSON.parse(waited.stdout) as { error: { name: string, code: string, details: { id: string, parent: string } } }
    assert.equal(error.name, 'ApplicationPendingError')
    assert.equal(error.code, 'ERR_APPLICATION_PENDING')
    assert.equal(error.details.parent, 'MA')
    const id = error.details.id
    assert.match(waited.stderr, new RegExp(`^error: ApplicationPendingError: application ${id} is waiting for approval by the operator of MA \\(there: citycode approve ${id}\\)`, 'm'))
    assert.doesNotMatch(waited.stderr, /RequestTimeoutError/)

    const listed = await cli(['approve', '-c', rootConfig, '--json'])
    assert.equal(listed.status, 0, listed.stderr)
    assert.deepEqual((JSON.parse(listed.stdout) as Array<{ id: string }>).map(p => p.id), [id])
    const approved = await cli(['approve', '-c', rootConfig, id])
    assert.equal(approved.status, 0, approved.stdout + approved.stderr)

    const again = await cli(['apply', '-c', cnConfig, '--timeout', '20000', '--json'])
    assert.equal(again.status, 0, again.stdout + again.stderr)
    assert.equal((JSON.parse(again.stdout) as { code: string }).code, 'MA.156')
  })
})
