import assert from 'node:assert/strict'
import { cliWorkspace, runCli } from '../../utils/cli-process.ts'
import type { CliRun } from '../../utils/cli-process.ts'

const env = { ...process.env, DEBUG: '' }

describe('an unknown command is an error naming the closest command', function () {
  this.timeout(60_000)
  const { children, cleanup } = cliWorkspace('citycode-unknown-')
  after(cleanup)
  const cli = async (args: string[]): Promise<CliRun> => await runCli(args, env, children, 30_000)

  it('citycode shar --help: not the top-level help with exit 0', async () => {
    const r = await cli(['shar', '--help'])
    assert.equal(r.status, 2, r.stdout + r.stderr)
    assert.equal(r.stdout, '', 'no help printed as if it had worked')
    assert.equal(r.stderr, "error: UnknownCommandError: 'shar' is not a command of citycode; the closest is 'share' (run citycode --help for the list)\n")
  })

  it('a typo of a command, and of a subcommand, names the one meant', async () => {
    const top = await cli(['reslove', 'MA.156.1301', '-c', 'x.json'])
    assert.equal(top.status, 2)
    assert.match(top.stderr, /^error: UnknownCommandError: 'reslove' is not a command of citycode; the closest is 'resolve' /)
    const sub = await cli(['node', 'strat', '--help'])
    assert.equal(sub.status, 2)
    assert.match(sub.stderr, /'strat' is not a command of citycode node; the closest is 'start' \(run citycode node --help for the list\)/)
  })

  it('under --json the error is JSON on stdout', async () => {
    const r = await cli(['shar', '--json'])
    assert.equal(r.status, 2)
    const { error } = JSON.parse(r.stdout) as { error: { name: string, code: string, details: { command: string, suggestion: string } } }
    assert.equal(error.name, 'UnknownCommandError')
    assert.equal(error.code, 'ERR_UNKNOWN_COMMAND')
    assert.deepEqual(error.details, { command: 'shar', suggestion: 'share' })
  })

  it('known commands, help and options still work', async () => {
    for (const args of [['--help'], ['help', 'resolve'], ['resolve', '--help'], ['node', 'start', '--help'], ['sim', 'list']]) {
      const r = await cli(args)
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`)
      assert.notEqual(r.stdout, '')
    }
  })
})
