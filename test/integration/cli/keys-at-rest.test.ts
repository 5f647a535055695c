import assert from 'node:assert/strict'
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { keychain } from '@libp2p/keychain'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { LevelDatastore } from 'datastore-level'
import { signerFromSeed } from '../../../src/core/crypto/signature.ts'
import { closeDatastore, openDatastore } from '../../../src/storage/datastore.ts'
import { readParams } from '../../../src/storage/keys.ts'
import type { KeychainParams } from '../../../src/storage/keys.ts'
import { cliWorkspace, runCli, startCliNode, stopCliNode } from '../../utils/cli-process.ts'

/** Meets the passphrase rule: words, spaces, a digit. */
const PASSPHRASE = 'keys at rest test passphrase 6'
const env = (passphrase = PASSPHRASE): NodeJS.ProcessEnv => ({ ...process.env, CITYCODE_PASSPHRASE: passphrase, DEBUG: '' })

/** Every directory and file under `dir` (the directory itself first) with its permission bits. */
function modes (dir: string): Array<{ path: string, mode: number, kind: 'dir' | 'file' | 'socket' }> {
  const out: Array<{ path: string, mode: number, kind: 'dir' | 'file' | 'socket' }> = [{ path: dir, mode: statSync(dir).mode & 0o777, kind: 'dir' }]
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    const s = lstatSync(p)
    if (s.isDirectory()) out.push(...modes(p))
    else out.push({ path: p, mode: s.mode & 0o777, kind: s.isSocket() ? 'socket' : 'file' })
  }
  return out
}

function assertPrivate (dir: string): number {
  const all = modes(dir)
  for (const m of all) assert.equal(m.mode, m.kind === 'dir' ? 0o700 : 0o600, `${m.path} is 0${m.mode.toString(8)}`)
  return all.filter(m => m.kind === 'file').length
}

/** Names, sizes and modification times: what a refused start must leave exactly as it was. */
function snapshot (dir: string): string {
  return readdirSync(dir).sort().map(n => { const s = statSync(join(dir, n)); return `${n} ${s.size} ${s.mtimeMs} ${(s.mode & 0o777).toString(8)}` }).join('\n')
}

function chmodTree (dir: string, dirMode: number, fileMode: number): void {
  chmodSync(dir, dirMode)
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) chmodTree(p, dirMode, fileMode)
    else chmodSync(p, fileMode)
  }
}

async function paramsOf (dir: string): Promise<KeychainParams | undefined> {
  const ds = await openDatastore(dir)
  try {
    return await readParams(ds)
  } finally {
    await closeDatastore(ds)
  }
}

/** What citycode before per-node salts wrote: the keychain's default, shared salt; LevelDB at the process umask. */
async function legacyDataDir (dir: string, passphrase: string): Promise<{ peerId: string, authorityKey: string }> {
  const ds = new LevelDatastore(dir)
  await ds.open()
  try {
    const chain = keychain({ pass: passphrase })({ datastore: ds, logger: defaultLogger() })
    const peer = await generateKeyPair('Ed25519')
    const authority = await generateKeyPair('Ed25519')
    await chain.importKey('self', peer)
    await chain.importKey('citycode-authority', authority)
    return { peerId: peerIdFromPrivateKey(peer).toString(), authorityKey: Buffer.from(signerFromSeed(authority.raw.subarray(0, 32)).publicKey).toString('hex') }
  } finally {
    await ds.close()
  }
}

/** Whether the old fixed-salt derivation still decrypts the key `name` in `dir` (opened 0600, so the check leaves the directory private). */
async function legacyDecrypts (dir: string, passphrase: string, name: string): Promise<boolean> {
  const umask = process.umask(0o077)
  const ds = new LevelDatastore(dir)
  await ds.open()
  try {
    await keychain({ pass: passphrase })({ datastore: ds, logger: defaultLogger() }).exportKey(name)
    return true
  } catch {
    return false
  } finally {
    await ds.close()
    process.umask(umask)
  }
}

describe('keys at rest (issue #16 section 6)', function () {
  this.timeout(240_000)
  if (process.platform === 'win32') return
  const ws = cliWorkspace('citycode-keys-')
  let umask = 0
  // an operator's usual umask: with it the old code made 0755 directories and 0644 files
  before(() => { umask = process.umask(0o022) })
  after(async () => {
    process.umask(umask)
    await ws.cleanup()
  })
  const rootConfig = (dataDir: string): string => ws.write(`root-${Math.random().toString(36).slice(2)}.json`, { role: 'root', dataDir, authority: { namespace: 'MA', approval: 'manual' } })
  const oneLine = (stderr: string): string => {
    const lines = stderr.trim().split('\n')
    assert.equal(lines.length, 1, stderr)
    return lines[0] as string
  }

  const dirA = join(ws.dir, 'node-a')
  const configA = rootConfig(dirA)

  it('init makes the data directory 0700 and every file 0600; so does a node run (admin socket 0600 too)', async () => {
    const init = await runCli(['init', '-c', configA], env(), ws.children)
    assert.equal(init.status, 0, init.stderr)
    assert.ok(assertPrivate(dirA) >= 4, 'LevelDB files were made')
    const node = await startCliNode(configA, env(), ws.children)
    assert.ok(node.socket !== undefined)
    assert.equal(lstatSync(node.socket).mode & 0o777, 0o600)
    assertPrivate(dirA)
    assert.equal(await stopCliNode(node.child), 0)
    assert.ok(assertPrivate(dirA) >= 4)
  })

  it('node start and init on a data directory chmod 755 exit 1 with one line naming it and chmod 700, changing nothing', async () => {
    chmodSync(dirA, 0o755)
    const before = snapshot(dirA)
    for (const args of [['node', 'start', '-c', configA], ['init', '-c', configA]]) {
      const r = await runCli(args, env(), ws.children, 30_000)
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`)
      assert.equal(oneLine(r.stderr), `error: DataDirPermissionError: the data directory ${dirA} is open to other users (mode 0755): run chmod 700 ${dirA}`)
      assert.equal(snapshot(dirA), before, 'nothing changed or created')
    }
    // a single file open to others is refused too, with the fix for the whole directory
    chmodSync(dirA, 0o700)
    const file = join(dirA, 'CURRENT')
    chmodSync(file, 0o644)
    const r = await runCli(['node', 'start', '-c', configA], env(), ws.children, 30_000)
    assert.equal(r.status, 1, r.stderr)
    assert.match(oneLine(r.stderr), new RegExp(`^error: DataDirPermissionError: .*${file} is 0644.*: run chmod -R go= ${dirA}$`))
    chmodTree(dirA, 0o700, 0o600)
    const ok = await runCli(['init', '-c', configA], env(), ws.children)
    assert.equal(ok.status, 0, ok.stderr)
  })

  it('a weak passphrase is refused at init and at a first node start with the rule, and no data directory is made', async () => {
    const dir = join(ws.dir, 'weak')
    const config = rootConfig(dir)
    const weak = ['twelve chars', 'aaaaaaaaaaaaaaaaaaaaaaaa', 'abcdefghijklmnopqrstuvwx', 'Password1234567890!!', 'citycode citycode citycode', 'ab12ab12ab12ab12ab12ab12']
    for (const passphrase of weak) {
      const r = await runCli(['init', '-c', config], env(passphrase), ws.children, 30_000)
      assert.equal(r.status, 1, `${passphrase}: ${r.stderr}`)
      assert.match(oneLine(r.stderr), /^error: WeakPassphraseError: the keychain passphrase is too weak \(.+\): use at least 20 characters, from at least 2 of .*not a common password/, passphrase)
      assert.equal(existsSync(dir), false, `${passphrase}: nothing created`)
    }
    const start = await runCli(['node', 'start', '-c', config], env('aaaaaaaaaaaaaaaaaaaaaaaa'), ws.children, 30_000)
    assert.equal(start.status, 1, start.stderr)
    assert.match(oneLine(start.stderr), /^error: WeakPassphraseError: /)
    assert.equal(existsSync(dir), false)
    // an operator may make the directory 0700 beforehand: empty, it is still a new keychain's
    mkdirSync(dir, { mode: 0o700 })
    const made = await runCli(['node', 'start', '-c', config], env('aaaaaaaaaaaaaaaaaaaaaaaa'), ws.children, 30_000)
    assert.equal(made.status, 1, made.stderr)
    assert.match(oneLine(made.stderr), /^error: WeakPassphraseError: /)
    assert.deepEqual(readdirSync(dir), [], 'nothing written into it')
  })

  it('two nodes get different random salts (>= 16 bytes) and PBKDF2-SHA512 with >= 210,000 iterations', async () => {
    const dirB = join(ws.dir, 'node-b')
    const r = await runCli(['init', '-c', rootConfig(dirB)], env(), ws.children)
    assert.equal(r.status, 0, r.stderr)
    const a = await paramsOf(dirA)
    const b = await paramsOf(dirB)
    assert.ok(a !== undefined && b !== undefined, 'both keychains store their derivation parameters')
    assert.notEqual(a.salt, b.salt)
    for (const p of [a, b]) {
      assert.ok(Buffer.from(p.salt, 'base64').length >= 16)
      assert.equal(p.hash, 'sha2-512')
      assert.ok(p.iterations >= 210_000, `${p.iterations} iterations`)
    }
  })

  it('an old-format data directory (shared salt) opens after chmod, keeps its identity and is re-encrypted under its own salt', async () => {
    const dir = join(ws.dir, 'legacy')
    const old = await legacyDataDir(dir, PASSPHRASE)
    const config = rootConfig(dir)
    // the old code made it 0755 / 0644: the upgrade path starts with the fix the refusal names
    const refused = await runCli(['init', '-c', config], env(), ws.children, 30_000)
    assert.equal(refused.status, 1)
    assert.match(oneLine(refused.stderr), new RegExp(`DataDirPermissionError: .*run chmod -R go= ${dir}$`))
    chmodTree(dir, 0o700, 0o600)
    const wrong = await runCli(['init', '-c', config], env('another passphrase, 20+ chars'), ws.children, 30_000)
    assert.equal(wrong.status, 1)
    assert.match(oneLine(wrong.stderr), /^error: StorageError: cannot decrypt key .* wrong passphrase/)
    assert.equal(await paramsOf(dir), undefined, 'a wrong passphrase writes nothing')
    assert.ok(await legacyDecrypts(dir, PASSPHRASE, 'self'), 'the old keychain is whole')

    const upgraded = await runCli(['init', '-c', config, '--json'], env(), ws.children)
    assert.equal(upgraded.status, 0, upgraded.stderr)
    const ids = JSON.parse(upgraded.stdout) as { peerId: string, authorityKey: string }
    assert.deepEqual({ peerId: ids.peerId, authorityKey: ids.authorityKey }, old, 'same identity and authority key')
    assert.match(oneLine(upgraded.stderr), /^warning: upgraded the keychain in .* to its own salt and 210000 PBKDF2-sha2-512 iterations/)
    const params = await paramsOf(dir)
    assert.ok(params !== undefined && params.iterations >= 210_000)
    assert.equal(await legacyDecrypts(dir, PASSPHRASE, 'self'), false, 'the shared-salt key no longer opens it')
    assert.equal(await legacyDecrypts(dir, PASSPHRASE, 'citycode-authority'), false)
    assertPrivate(dir)

    const node = await startCliNode(config, env(), ws.children)
    assert.match(node.addr, new RegExp(`/p2p/${old.peerId}$`))
    assert.equal(await stopCliNode(node.child), 0)
    assert.equal((await paramsOf(dir))?.salt, params.salt, 'upgraded once')
  })
})
