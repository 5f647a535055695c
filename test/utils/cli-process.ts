import { spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The CLI entry point, run with this process's Node. */
export const CLI_MAIN = fileURLToPath(new URL('../../src/interfaces/cli/main.ts', import.meta.url))

export interface CliRun { status: number | null, stdout: string, stderr: string }

/**
 * Runs one CLI command to its end, asynchronously (nodes a test started keep being read meanwhile);
 * the child joins `children` so the test's cleanup kills it if it outlives the test. Killed at
 * `timeoutMs`.
 */
export async function runCli (args: string[], env: NodeJS.ProcessEnv, children: ChildProcessWithoutNullStreams[], timeoutMs = 90_000): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { env })
  children.push(child)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  return await new Promise((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }) })
  })
}
