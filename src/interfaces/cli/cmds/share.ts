import { resolve as resolvePath } from 'node:path'
import type { Command } from 'commander'
import type { AccessPolicy } from '../../../core/catalogue/catalogue.ts'
import { parseCodeInput } from '../../../core/code/check-character.ts'
import type { ShareResult } from '../../../services/admin/index.ts'
import { openAdmin } from '../../admin/index.ts'
import { ConfigError } from '../../config/load.ts'
import { printJson, runHandler } from '../output.ts'
import { reportVia } from './approve.ts'
import { configFrom, withConfig } from './common.ts'
import type { ConfigOptions } from './common.ts'

/**
 * `--access`: `public`; one code, a namespace (that code and every code under it); or `codes` and
 * the codes themselves (exactly those), also comma-separated. Printed forms are accepted.
 */
export function parseAccess (values: readonly string[] | undefined): AccessPolicy {
  const parts = (values ?? []).flatMap(v => v.split(',')).map(v => v.trim()).filter(v => v.length > 0)
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'public')) return { kind: 'public' }
  if (parts[0] === 'codes') {
    const codes = parts.slice(1).map(c => parseCodeInput(c).text)
    if (codes.length === 0) throw new ConfigError('--access codes needs at least one code', { field: 'access' })
    return { kind: 'codes', codes: [...new Set(codes)] }
  }
  if (parts.includes('public')) throw new ConfigError('--access public takes no codes', { field: 'access' })
  if (parts.length === 1) return { kind: 'namespace', namespace: parseCodeInput(parts[0] as string).text }
  return { kind: 'codes', codes: [...new Set(parts.map(c => parseCodeInput(c).text))] }
}

function line (s: ShareResult): string {
  return `${s.code}/${s.name}  v${s.version}  ${s.cid}  ${s.size} bytes  ${s.mediaType}  access ${s.access}${s.licence !== '' ? `  licence ${s.licence}` : ''}`
}

interface AddOptions extends ConfigOptions { name: string, code?: string, access?: string[], mediaType?: string, licence?: string, description?: string, json?: boolean }

export function registerShare (program: Command): void {
  const share = program.command('share').description('the datasets this node shares by code (its catalogue): add, list, remove')
  withConfig(share.command('add'))
    .description('share a file: import it as a UnixFS DAG (CIDv1, sha2-256, as `ipfs add --cid-version 1`), list it in the code\'s signed catalogue and republish the record naming the catalogue')
    .argument('<file>', 'the file to share')
    .requiredOption('--name <name>', 'the dataset\'s name: lower-case letters, digits and "-" (fetched as CODE/NAME)')
    .option('--code <subcode>', 'list it in the catalogue of this sub-code (registered by this node) instead of the node\'s own code')
    .option('--access <policy...>', 'who may fetch it: "public" (default), a namespace such as MA.156, or "codes" and the codes')
    .option('--media-type <type>', 'its media type', 'application/octet-stream')
    .option('--licence <licence>', 'its licence, e.g. CC-BY-4.0')
    .option('--description <text>', 'what it holds')
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: AddOptions) => {
      await runHandler(async () => {
        const access = parseAccess(opts.access)
        const session = await openAdmin(configFrom(opts))
        try {
          reportVia(session)
          const added = await session.operations.shareAdd({
            path: resolvePath(file),
            name: opts.name,
            access,
            ...(opts.code !== undefined ? { code: parseCodeInput(opts.code).text } : {}),
            ...(opts.mediaType !== undefined ? { mediaType: opts.mediaType } : {}),
            ...(opts.licence !== undefined ? { licence: opts.licence } : {}),
            ...(opts.description !== undefined ? { description: opts.description } : {})
          })
          if (opts.json === true) printJson(added)
          else process.stdout.write(`shared ${line(added)}; catalogue ${added.catalogue} (seq ${added.seq})\n`)
          return 0
        } finally {
          await session.close()
        }
      }, { json: opts.json === true })
    })
  withConfig(share.command('list'))
    .description('list the datasets this node shares')
    .option('--json', 'machine-readable output')
    .action(async (opts: ConfigOptions & { json?: boolean }) => {
      await runHandler(async () => {
        const session = await openAdmin(configFrom(opts))
        try {
          reportVia(session)
          const shares = await session.operations.shareList()
          if (opts.json === true) printJson(shares)
          else if (shares.length === 0) process.stdout.write('no datasets shared\n')
          else for (const s of shares) process.stdout.write(`${line(s)}\n`)
          return 0
        } finally {
          await session.close()
        }
      }, { json: opts.json === true })
    })
  withConfig(share.command('remove'))
    .description('stop sharing a dataset: a new catalogue version without it is signed and the record republished (its blocks stay in the store)')
    .argument('<name>', 'the dataset\'s name')
    .option('--code <subcode>', 'the sub-code whose catalogue lists it')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: ConfigOptions & { code?: string, json?: boolean }) => {
      await runHandler(async () => {
        const session = await openAdmin(configFrom(opts))
        try {
          reportVia(session)
          const removed = await session.operations.shareRemove({ name, ...(opts.code !== undefined ? { code: parseCodeInput(opts.code).text } : {}) })
          if (opts.json === true) printJson(removed)
          else process.stdout.write(`no longer sharing ${removed.code}/${removed.name}\n`)
          return 0
        } finally {
          await session.close()
        }
      }, { json: opts.json === true })
    })
}
