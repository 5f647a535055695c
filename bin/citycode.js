#!/usr/bin/env node
// Node >= 22.18 runs the TypeScript sources directly (type stripping); see docs/ARCHITECTURE.md.
// An older Node would fail on the first .ts import with a stack trace: run the project's own Node 22
// (the `node` dev dependency) when it is installed, else say in one line what is needed.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { constants } from 'node:os'
import { fileURLToPath } from 'node:url'

const [major, minor] = process.versions.node.split('.').map(Number)
if (major > 22 || (major === 22 && minor >= 18)) {
  await import('../src/interfaces/cli/main.ts')
} else {
  const local = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url))
  if (existsSync(local) && process.env.CITYCODE_REEXEC === undefined) {
    const child = spawn(local, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, CITYCODE_REEXEC: '1' } })
    // Ctrl-C reaches the child from the terminal itself; what is sent to this process alone is passed on
    process.on('SIGINT', () => {})
    for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => { child.kill(signal) })
    child.on('exit', (code, signal) => { process.exit(code ?? 128 + (constants.signals[signal] ?? 0)) })
  } else {
    process.stderr.write(`error: citycode needs Node >= 22.18, this is ${process.version}: run \`npm install\` in the project (it brings Node 22), then \`npm run citycode -- <command>\`\n`)
    process.exit(1)
  }
}
