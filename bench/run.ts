/**
 * `npm run bench`: runs every benchmark in its own process (so one cannot warm or slow another)
 * and prints where each wrote its figures. `npm run bench -- verify ledger` runs a subset.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('.', import.meta.url))
const skip = new Set(['run.ts', 'harness.ts', 'two-nodes.ts'])
const wanted = process.argv.slice(2)
const benches = readdirSync(dir).filter(f => f.endsWith('.ts') && !skip.has(f)).sort()
  .filter(f => wanted.length === 0 || wanted.includes(f.replace(/\.ts$/, '')))
let failed = 0
for (const file of benches) {
  console.log(`\n== bench/${file}`)
  const r = spawnSync(process.execPath, [`${dir}${file}`], { stdio: 'inherit' })
  if (r.status !== 0) failed++
}
process.exit(failed === 0 ? 0 : 1)
