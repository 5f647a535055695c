import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closeDatastore, openDatastore } from '../../../src/storage/datastore.ts'

const modeOf = (path: string): number => statSync(path).mode & 0o777

describe('data directory modes', function () {
  if (process.platform === 'win32') return
  const dir = mkdtempSync(join(tmpdir(), 'cc-modes-'))
  let umask = 0
  before(() => { umask = process.umask(0o022) })
  after(() => { process.umask(umask); rmSync(dir, { recursive: true, force: true }) })

  it('files made while a data directory is open are 0600 (LevelDB writes from its own threads); the umask is given back after the last close', async () => {
    const a = await openDatastore(join(dir, 'nested', 'a'))
    const b = await openDatastore(join(dir, 'b'))
    assert.equal(modeOf(join(dir, 'nested')), 0o700, 'parents made for it are private too')
    assert.equal(modeOf(join(dir, 'nested', 'a')), 0o700)
    writeFileSync(join(dir, 'while-open'), 'x')
    assert.equal(modeOf(join(dir, 'while-open')), 0o600)
    await closeDatastore(a)
    writeFileSync(join(dir, 'one-still-open'), 'x')
    assert.equal(modeOf(join(dir, 'one-still-open')), 0o600, 'b still holds the restrictive umask')
    await closeDatastore(b)
    await closeDatastore(b)
    writeFileSync(join(dir, 'after-close'), 'x')
    assert.equal(modeOf(join(dir, 'after-close')), 0o644, 'the operator umask is back, a second close changes nothing')
  })

  it('a refused directory gives the umask back and opens nothing', async () => {
    const d = join(dir, 'open')
    await closeDatastore(await openDatastore(d))
    chmodSync(d, 0o750)
    await assert.rejects(openDatastore(d), (err: Error & { code?: string, details?: { path?: string, fix?: string } }) => err.name === 'DataDirPermissionError' && err.code === 'ERR_DATA_DIR_PERMISSIONS' && err.details?.fix === `chmod 700 ${d}`)
    writeFileSync(join(dir, 'after-refusal'), 'x')
    assert.equal(modeOf(join(dir, 'after-refusal')), 0o644)
  })
})
