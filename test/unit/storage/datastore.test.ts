import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closeDatastore, openDatastore } from '../../../src/storage/datastore.ts'

describe('openDatastore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cc-ds-'))
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  it('a directory another holder has open is DataDirLockedError naming it; free again once closed', async () => {
    const path = join(dir, 'node')
    const first = await openDatastore(path)
    try {
      await assert.rejects(openDatastore(path), (err: Error & { code?: string, details?: Record<string, unknown> }) => err.name === 'DataDirLockedError' && err.code === 'ERR_DATA_DIR_LOCKED' && err.details?.path === path)
    } finally {
      await closeDatastore(first)
    }
    const again = await openDatastore(path)
    await closeDatastore(again)
  })

  it('a path that cannot be a data directory is a StorageError, not a lock', async () => {
    const file = join(dir, 'a-file')
    writeFileSync(file, 'not a directory')
    await assert.rejects(openDatastore(join(file, 'db')), { name: 'StorageError' })
  })
})
