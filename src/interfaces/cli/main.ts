#!/usr/bin/env node
import { Command, CommanderError } from 'commander'
import { registerCommands } from './cmds/index.ts'
import { UsageError } from './errors.ts'
import { EXIT_USAGE, errorJson, printJson, reportError } from './output.ts'
import { assertKnownCommand } from './unknown-command.ts'
import { tolerateStrayNetworkErrors } from '../../network/stray-errors.ts'

tolerateStrayNetworkErrors()

/**
 * `citycode`: one binary for operators (init, node start, apply, approve, publish), resolvers
 * (resolve, inspect) and researchers (sim). Handlers are thin and call the services.
 */
const program = new Command('citycode')
  .description('Peer-to-peer registry of global, hierarchical, tamper-evident city identification codes')
  .showHelpAfterError('(run citycode --help for usage)')
  .exitOverride()
registerCommands(program)

// a usage mistake is found before any handler runs: a script that asked for JSON still gets JSON
const json = process.argv.includes('--json')

async function run (): Promise<void> {
  try {
    assertKnownCommand(program, process.argv.slice(2))
  } catch (err) {
    process.exitCode = reportError(err, { json }, EXIT_USAGE)
    return
  }
  try {
    await program.parseAsync(process.argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has written its own line on stderr already
      if (err.exitCode !== 0 && json) printJson(errorJson(new UsageError(err.message.replace(/^error: /, ''), { reason: err.code })))
      process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE
    } else {
      process.exitCode = reportError(err, { json })
    }
  }
}

await run()
