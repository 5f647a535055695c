import type { Command } from 'commander'
import { UnknownCommandError } from './errors.ts'

/** Optimal string alignment distance: a swapped pair of letters (`reslove`) costs one edit, as a typo does. */
export function editDistance (a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => i === 0 ? j : j === 0 ? i : 0))
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1)
      const row = d[i]
      if (row !== undefined) row[j] = best
    }
  }
  return at(a.length, b.length)
}

/** The name of `parent`'s subcommand nearest `name` (ties: the first registered). */
export function closestCommand (parent: Command, name: string): string | undefined {
  let best: { name: string, distance: number } | undefined
  for (const c of parent.commands) {
    for (const candidate of [c.name(), ...c.aliases()]) {
      const distance = editDistance(name, candidate)
      if (best === undefined || distance < best.distance) best = { name: candidate, distance }
    }
  }
  return best?.name
}

/** The command path as typed so far (`citycode node`), for the message. */
function pathOf (cmd: Command): string {
  const names: string[] = []
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name())
  return names.join(' ')
}

/**
 * Refuses a command name that `program` does not have, before commander parses: commander shows the
 * top-level help and exits 0 for `citycode shar --help` (help is handled before the unknown
 * command), so a script or an operator takes a typo for success, and it names a command only when a
 * near one exists. Walks the words as commander would: options are skipped, and a command without
 * subcommands takes the rest as its own arguments.
 */
export function assertKnownCommand (program: Command, args: readonly string[]): void {
  let cmd = program
  for (const arg of args) {
    if (arg === '--') return
    if (arg.startsWith('-')) continue
    if (cmd.commands.length === 0) return
    // commander's implicit `help [command]` is made on demand, not listed among the commands
    if (arg === 'help') return
    const next = cmd.commands.find(c => c.name() === arg || c.aliases().includes(arg))
    if (next === undefined) {
      const suggestion = closestCommand(cmd, arg)
      const near = suggestion !== undefined ? `; the closest is '${suggestion}'` : ''
      throw new UnknownCommandError(`'${arg}' is not a command of ${pathOf(cmd)}${near} (run ${pathOf(cmd)} --help for the list)`, { command: arg, ...(suggestion !== undefined ? { suggestion } : {}) })
    }
    cmd = next
  }
}
