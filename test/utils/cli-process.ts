import { spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The CLI entry point, run with this process's Node. */
export const CLI_MAIN = fileURLToPath(new URL('../../src/interfaces/cli/main.ts', import.meta.url))

export interface CliRun { status: number | null, stdout: string, stderr: string }

/**
 * Runs one CLI command to its end, asynchronously (nodes a test started keep being read meanwhile);
 * the child joins `children` so the test's cleanup kills it if it outlives the test. Killed at
 * `timeoutMs`. Runs in `cwd` when given (paths in a config are relative to the config, not to it).
 */
export async function runCli (args: string[], env: NodeJS.ProcessEnv, children: ChildProcessWithoutNullStreams[], timeoutMs = 90_000, cwd?: string): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { env, ...(cwd !== undefined ? { cwd } : {}) })
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

export interface CliNode {
  child: ChildProcessWithoutNullStreams
  /** The code the node holds, from its `ready` line. */
  code: string
  /** The address it listens on. */
  addr: string
  /** Its admin socket, from the `admin` line printed before `ready` (undefined when absent). */
  socket?: string
}

/** Starts `citycode node start -c config` (in `cwd`, default this process's) and resolves at its `ready` line; rejects if it exits first or stays silent for 60 s. */
export async function startCliNode (config: string, env: NodeJS.ProcessEnv, children: ChildProcessWithoutNullStreams[], cwd?: string): Promise<CliNode> {
  const child = spawn(process.execPath, [CLI_MAIN, 'node', 'start', '-c', config], { env, ...(cwd !== undefined ? { cwd } : {}) })
  children.push(child)
  let out = ''
  let err = ''
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no ready line: ${err.slice(-500)}`)) }, 60_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const ready = /^ready \w+ (\S+) peer (\S+) listening (\S+)/m.exec(out)
      if (ready === null) return
      clearTimeout(timer)
      const admin = /^admin (\S+)$/m.exec(out)
      resolve({ child, code: ready[1] as string, addr: ready[3] as string, ...(admin !== null ? { socket: admin[1] as string } : {}) })
    })
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`node exited ${String(code)}: ${err.slice(-500)}`)) })
  })
}

/** Stops a node process with `signal` (SIGKILL after 20 s); resolves with its exit code. */
export async function stopCliNode (child: ChildProcessWithoutNullStreams, signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
  return await new Promise(resolve => {
    const timer = setTimeout(() => { child.kill('SIGKILL') }, 20_000)
    child.once('exit', (code) => { clearTimeout(timer); resolve(code) })
    child.kill(signal)
  })
}

/** A temporary directory for one CLI test file: its config files and data, and the processes it starts. */
export interface CliWorkspace {
  dir: string
  /** Every process the tests start; `cleanup` stops them. */
  children: ChildProcessWithoutNullStreams[]
  /** Writes `content` (JSON, unless text or bytes already) to `name` in the directory; returns its path. */
  write(name: string, content: unknown): string
  /** Stops every process still running (Ctrl-C, then SIGKILL after 20 s) and removes the directory. */
  cleanup(): Promise<void>
}

export function cliWorkspace (prefix: string): CliWorkspace {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const children: ChildProcessWithoutNullStreams[] = []
  return {
    dir,
    children,
    write: (name, content) => {
      const file = join(dir, name)
      writeFileSync(file, typeof content === 'string' || content instanceof Uint8Array ? content : JSON.stringify(content))
      return file
    },
    cleanup: async () => {
      await Promise.all(children.map(async c => { await stopCliNode(c, 'SIGINT') }))
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** A root, the country MA.156 and the city Shijiazhuang, started as CLI processes in `ws`. */
export interface CliCity {
  root: CliNode
  country: CliNode
  /** The city's config file (its node is not running: the city applied once and holds its code). */
  cityConfig: string
  city: string
  /** The root's trust anchor entry, as `init` printed it. */
  anchor: unknown
}

/**
 * The hierarchy most CLI tests start from: each authority approves its child's key beforehand, the
 * root and the country run as `node start` processes, the city has applied with `apply`.
 */
export async function startCliCity (ws: Pick<CliWorkspace, 'dir' | 'write' | 'children'>, cli: (args: string[]) => Promise<CliRun>, env: NodeJS.ProcessEnv): Promise<CliCity> {
  const { dir, write, children } = ws
  const keyOf = async (name: string, role: string): Promise<string> => {
    const made = await cli(['init', '-c', write(`${name}-keys.json`, { role, dataDir: join(dir, name) }), '--json'])
    if (made.status !== 0) throw new Error(`init ${name}: ${made.stderr}`)
    return (JSON.parse(made.stdout) as { authorityKey: string }).authorityKey
  }
  const cnKey = await keyOf('cn', 'country')
  const cityKey = await keyOf('sjz', 'city')
  const rootConfig = write('root.json', { role: 'root', dataDir: join(dir, 'root'), authority: { namespace: 'MA', name: 'Test root', approval: 'auto', preapproved: [{ key: cnKey }] } })
  const init = await cli(['init', '-c', rootConfig, '--json'])
  if (init.status !== 0) throw new Error(`init root: ${init.stderr}`)
  const { anchor } = JSON.parse(init.stdout) as { anchor: unknown }
  const root = await startCliNode(rootConfig, env, children)
  const country = await startCliNode(write('cn.json', { role: 'country', dataDir: join(dir, 'cn'), bootstrap: [root.addr], anchors: [anchor], authority: { parent: { namespace: 'MA', addr: root.addr }, name: 'China', officialCode: 'CN', approval: 'auto', preapproved: [{ key: cityKey }] } }), env, children)
  const cityConfig = write('sjz.json', { role: 'city', dataDir: join(dir, 'sjz'), bootstrap: [root.addr, country.addr], anchors: [anchor], authority: { parent: { namespace: 'MA.156', addr: country.addr }, name: 'Shijiazhuang', officialCode: '130100' } })
  const applied = await cli(['apply', '-c', cityConfig, '--json'])
  if (applied.status !== 0) throw new Error(`apply: ${applied.stderr}`)
  return { root, country, cityConfig, city: (JSON.parse(applied.stdout) as { code: string }).code, anchor }
}

/** `register --batch` lines (JSONL) for sub-codes `from`..`to`, bureaus with a phone value. */
export const bureauLines = (from: number, to: number): string => Array.from({ length: to - from + 1 }, (_, i) => JSON.stringify({ number: String(from + i).padStart(2, '0'), name: `Bureau ${from + i}`, type: 'bureau', values: { phone: `0311-${from + i}` } })).join('\n') + '\n'
