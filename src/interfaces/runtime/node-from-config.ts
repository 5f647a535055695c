import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { decodeInvitation } from '../../core/application/invitation.ts'
import { equalBytes, fromHex } from '../../core/crypto/hash.ts'
import { generateSeed, signerFromSeed } from '../../core/crypto/signature.ts'
import { toMicroDegrees } from '../../core/record/values.ts'
import type { RecordValue } from '../../core/record/values.ts'
import type { TrustAnchor } from '../../core/trust/anchors.ts'
import { createCitycodeNode } from '../../services/node/index.ts'
import type { CitycodeNode, CitycodeNodeInit, NetworkInit } from '../../services/node/index.ts'
import { closeDatastore, openDatastore } from '../../storage/datastore.ts'
import { AUTHORITY_KEY_NAME, KeyStore, memoryKeyring } from '../../storage/keys.ts'
import { assertStrongPassphrase, PASSPHRASE_RULE } from '../../storage/passphrase-policy.ts'
import { ConfigError } from '../config/load.ts'
import type { NodeConfig } from '../config/schema.ts'
import type { Datastore } from 'interface-datastore'
import { dataDirBefore, discardIfFresh } from './fresh-data-dir.ts'
import { assertListenAddressesFree, fromLibp2pListenError } from './listen-check.ts'

export function anchorsOf (config: NodeConfig): TrustAnchor[] {
  return config.anchors.map(a => ({ name: a.name, namespace: a.namespace, keys: a.keys.map(fromHex), threshold: a.threshold }))
}

/** The config's ledger block as node init: the ledger's options and the resolver's ledger requirements. */
export function ledgerOf (ledger: NonNullable<NodeConfig['ledger']>): Pick<CitycodeNodeInit, 'ledger' | 'resolver'> {
  const { requireCosignatures, requireInclusion, ...options } = ledger
  return {
    ledger: options,
    resolver: {
      ...(requireCosignatures !== undefined ? { requireCosignatures: { k: requireCosignatures.k, witnesses: requireCosignatures.witnesses.map(fromHex) } } : {}),
      ...(requireInclusion === true ? { requireInclusion } : {})
    }
  }
}

export function valuesOf (config: NodeConfig): RecordValue[] {
  return config.values.map((v): RecordValue => v.type === 'geo' ? { type: 'geo', lat: toMicroDegrees(v.lat), lon: toMicroDegrees(v.lon) } : v)
}

/** The keychain passphrase from the config's environment variable; a missing one is a ConfigError. */
export function passphraseOf (config: NodeConfig, env: NodeJS.ProcessEnv): string {
  const value = env[config.passphraseEnv]
  if (value === undefined || value.length === 0) {
    throw new ConfigError(`set ${config.passphraseEnv} to the keychain passphrase (${PASSPHRASE_RULE}) for a node with a dataDir`, { field: 'passphraseEnv' })
  }
  return value
}

/**
 * The node's keychain in its data directory, unlocked on first use; an old fixed-salt keychain is
 * upgraded then and `warn` says so once (the operator learns older versions cannot open it now).
 */
export function keyStoreOf (config: NodeConfig & { dataDir: string }, datastore: Datastore, env: NodeJS.ProcessEnv, warn: (line: string) => void): KeyStore {
  return new KeyStore(datastore, passphraseOf(config, env), {
    onUpgrade: (p) => { warn(`upgraded the keychain in ${config.dataDir} from the old shared salt to its own salt and ${p.iterations} PBKDF2-${p.hash} iterations (older citycode versions cannot open it any more)`) }
  })
}

/**
 * Checks the passphrase of a keychain about to be made in `dataDir` (missing or empty, as an operator
 * may make it 0700 beforehand), before LevelDB writes anything there.
 */
export function assertNewDataDirPassphrase (config: NodeConfig & { dataDir: string }, env: NodeJS.ProcessEnv): void {
  const fresh = !existsSync(config.dataDir) || (statSync(config.dataDir).isDirectory() && readdirSync(config.dataDir).length === 0)
  if (fresh) assertStrongPassphrase(passphraseOf(config, env))
}

const warnOnStderr = (line: string): void => { process.stderr.write(`warning: ${line}\n`) }

/**
 * Builds a node from a validated config: its datastore, its keys (from the encrypted keychain when
 * it has a data directory, fresh ones otherwise), then the node itself. The caller stops it with
 * `closeNode`.
 */
export async function nodeFromConfig (config: NodeConfig, options: { env?: NodeJS.ProcessEnv, listen?: string[], metrics?: NetworkInit['metrics'], warn?: (line: string) => void } = {}): Promise<CitycodeNode> {
  const env = options.env ?? process.env
  const dataDir = config.dataDir
  const listen = options.listen ?? config.listen
  if (dataDir !== undefined) assertNewDataDirPassphrase({ ...config, dataDir }, env)
  // before a key is made or unlocked (the keychain costs a second): a port in use is the operator's to fix
  if (config.transport === 'tcp') await assertListenAddressesFree(listen)
  const before = dataDir !== undefined ? dataDirBefore(dataDir) : undefined
  const datastore = await openDatastore(dataDir)
  try {
    let peerKey, authorityKey, authorityKeys
    if (dataDir !== undefined) {
      const keys = keyStoreOf({ ...config, dataDir }, datastore, env, options.warn ?? warnOnStderr)
      peerKey = await keys.peerKey()
      authorityKey = config.role === 'resolver' ? undefined : await keys.authoritySigner(AUTHORITY_KEY_NAME)
      // the next keys live beside it, so a rotation survives restarts
      authorityKeys = config.role === 'resolver' ? undefined : keys.keyring()
    } else {
      peerKey = await generateKeyPair('Ed25519')
      authorityKey = config.role === 'resolver' ? undefined : signerFromSeed(generateSeed())
      if (authorityKey !== undefined) authorityKeys = memoryKeyring(authorityKey, () => signerFromSeed(generateSeed()))
    }
    const anchors = anchorsOf(config)
    if (config.role === 'root' && authorityKey !== undefined && !anchors.some(a => a.keys.some(k => equalBytes(k, authorityKey.publicKey)))) {
      // a root trusts itself: its own key anchors its namespace even when its config lists no anchors
      anchors.push({ name: config.authority.name ?? 'root', namespace: config.authority.namespace ?? 'MA', keys: [authorityKey.publicKey], threshold: 1 })
    }
    const node = await createCitycodeNode({
      role: config.role,
      anchors,
      datastore,
      peerKey,
      authorityKey,
      ...(authorityKeys !== undefined ? { authorityKeys } : {}),
      rootNamespace: config.role === 'root' ? config.authority.namespace : undefined,
      network: {
        transport: config.transport,
        listen,
        bootstrap: config.bootstrap,
        // the parent it applies to keeps its way in through a flood of strangers (before the first apply too)
        ...(config.authority.parent !== undefined ? { knownPeers: [config.authority.parent.addr] } : {}),
        ...(options.metrics !== undefined ? { metrics: options.metrics } : {})
      },
      authority: authorityOf(config.authority),
      ...(config.ledger !== undefined ? ledgerOf(config.ledger) : {}),
      ...(config.revocationStatus !== undefined ? { resolver: { ...(config.ledger !== undefined ? ledgerOf(config.ledger).resolver : {}), revocationStatusMaxAgeMs: config.revocationStatus.maxAgeMs } } : {}),
      values: valuesOf(config)
    })
    for (const a of config.authorities) await node.knowAuthority(a)
    return node
  } catch (err) {
    await closeDatastore(datastore)
    if (before !== undefined) discardIfFresh(before)
    throw fromLibp2pListenError(err, listen) ?? err
  }
}

function authorityOf (a: NodeConfig['authority']): NonNullable<CitycodeNodeInit['authority']> {
  return {
    approval: a.approval,
    ...(a.preapproved !== undefined ? { preapproved: a.preapproved.map(p => ({ key: fromHex(p.key), ...(p.code !== undefined ? { code: p.code } : {}) })) } : {}),
    ...(a.pendingLimits !== undefined ? { pendingLimits: a.pendingLimits } : {})
  }
}

/** What `apply` and `node start` put in their application: the config's name and code, and the invitation file's bytes. */
export function applicationFields (config: NodeConfig, parentNamespace: string): { name: string, officialCode?: string, invitation?: Uint8Array } {
  const fields = { name: config.authority.name ?? parentNamespace, ...(config.authority.officialCode !== undefined ? { officialCode: config.authority.officialCode } : {}) }
  const file = config.authority.invitation
  if (file === undefined) return fields
  let bytes: Uint8Array
  try {
    bytes = new Uint8Array(readFileSync(file))
  } catch (err) {
    throw new ConfigError(`cannot read the invitation ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { field: 'authority.invitation' })
  }
  try {
    decodeInvitation(bytes)
  } catch (err) {
    throw new ConfigError(`${file} is not an invitation: ${(err as Error).message}`, { field: 'authority.invitation' })
  }
  return { ...fields, invitation: bytes }
}

export async function closeNode (node: CitycodeNode): Promise<void> {
  await node.stop()
  await closeDatastore(node.datastore)
}
