import assert from 'node:assert/strict'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeBundle, decodeRevocationList } from '../../../src/core/index.ts'
import { cliWorkspace, runCli, startCliNode } from '../../utils/cli-process.ts'

import type { CliRun } from '../../utils/cli-process.ts'

const env = { ...process.env, CITYCODE_PASSPHRASE: 'revocation list test passphrase', DEBUG: '' }
const startNode = async (config: string, children: ChildProcessWithoutNullStreams[]): Promise<{ child: ChildProcessWithoutNullStreams, addr: string }> => await startCliNode(config, env, children)

type Run = CliRun

async function cli (args: string[], children: ChildProcessWithoutNullStreams[], timeoutMs = 90_000): Promise<Run> {
  return await runCli(args, env, children, timeoutMs)
}



describe('revocations: citycode revoke makes the list, citycode verify --revocations honours it offline', function () {
  this.timeout(300_000)
  const { dir, children, write, cleanup } = cliWorkspace('cc-revoke-')
  after(cleanup)

  it('a bundle made before its certificate was revoked, and one revoked before it was made, are refused saying which; a tampered list is unusable input', async () => {
    // approval is manual by default: the country's operator makes its key first and the root names it
    const cnKeys = await cli(['init', '-c', write('cn-keys.json', { role: 'country', dataDir: join(dir, 'cn') }), '--json'], children)
    assert.equal(cnKeys.status, 0, cnKeys.stderr)
    const cnKey = (JSON.parse(cnKeys.stdout) as { authorityKey: string }).authorityKey
    const rootConfig = write('root.json', { role: 'root', dataDir: join(dir, 'root'), authority: { namespace: 'MA', name: 'Test root', approval: 'auto', preapproved: [{ key: cnKey }] } })
    const init = await cli(['init', '-c', rootConfig, '--json'], children)
    assert.equal(init.status, 0, init.stderr)
    const anchor = (JSON.parse(init.stdout) as { anchor: unknown }).anchor
    const root = await startNode(rootConfig, children)
    const countryConfig = write('cn.json', { role: 'country', dataDir: join(dir, 'cn'), bootstrap: [root.addr], anchors: [anchor], authority: { parent: { namespace: 'MA', addr: root.addr }, name: 'China', officialCode: 'CN' } })
    const country = await startNode(countryConfig, children)
    void country
    const verifier = write('verifier.json', { role: 'resolver', anchors: [anchor] })

    const bundleFile = join(dir, 'cn.bundle')
    const proved = await cli(['prove', 'MA.156', '-c', countryConfig, '--out', bundleFile], children)
    assert.equal(proved.status, 0, proved.stderr)
    const madeAt = decodeBundle(new Uint8Array(readFileSync(bundleFile))).madeAt
    const plain = await cli(['verify', bundleFile, '-c', verifier], children)
    assert.equal(plain.status, 0, plain.stdout + plain.stderr)

    // revoked from tomorrow: not in force yet, the bundle still verifies and says what it was checked against
    const future = join(dir, 'future.cbor')
    const planned = await cli(['revoke', 'MA.156', '-c', countryConfig, '--reason', 'planned rotation', '--at', new Date(Date.now() + 86_400_000).toISOString(), '--out', future, '--json'], children)
    assert.equal(planned.status, 0, planned.stderr)
    const plannedOut = JSON.parse(planned.stdout) as { code: string, ledgerIndex: number | null, entries: number, via: string }
    assert.equal(plannedOut.via, 'admin-socket', 'the running node signed it')
    assert.equal(typeof plannedOut.ledgerIndex, 'number', 'recorded in the country\'s ledger')
    assert.equal(plannedOut.entries, 1)
    const notYet = await cli(['verify', bundleFile, '-c', verifier, '--revocations', future], children)
    assert.equal(notYet.status, 0, notYet.stdout + notYet.stderr)
    assert.match(notYet.stdout, /^revocations: none in force for this chain \(list .*future\.cbor: 1 certificate\(s\) revoked from a later date\)$/m)

    // revoked now, after the bundle was made: refused, saying it was valid when made
    const since = join(dir, 'since.cbor')
    const compromised = await cli(['revoke', 'MA.156', '-c', countryConfig, '--reason', 'key compromised', '--out', since], children)
    assert.equal(compromised.status, 0, compromised.stderr)
    assert.match(compromised.stdout, /^revoked the certificate for MA\.156 from \S+ \(key compromised\), ledger entry #\d+; .*since\.cbor holds 1 revocation\(s\)$/m)
    const afterMade = await cli(['verify', bundleFile, '-c', verifier, '--revocations', since], children)
    assert.equal(afterMade.status, 1, afterMade.stdout + afterMade.stderr)
    assert.match(afterMade.stdout, /^INVALID proof bundle: RevokedError: certificate for MA\.156 \(link 0\) was valid when the bundle was made \(.+\) and revoked since, .+: key compromised$/m)
    const asJson = await cli(['verify', bundleFile, '-c', verifier, '--revocations', since, '--json'], children)
    assert.equal(asJson.status, 1)
    assert.deepEqual((JSON.parse(asJson.stdout) as { error: { name: string, details: { revokedSince: boolean, madeAt: number } } }).error.details.revokedSince, true)

    // the running node honours its own revocation: it no longer vouches for the chain
    const refused = await cli(['prove', 'MA.156', '-c', countryConfig], children)
    assert.equal(refused.status, 1, refused.stdout + refused.stderr)
    assert.match(refused.stderr, /^error: RevokedError: /m)

    // revoked from before the bundle was made (a compromise found out later), added to the same list
    const backdated = await cli(['revoke', 'MA.156', '-c', countryConfig, '--reason', 'compromised earlier', '--at', String(madeAt - 60_000), '--out', since], children)
    assert.equal(backdated.status, 0, backdated.stderr)
    assert.equal(decodeRevocationList(new Uint8Array(readFileSync(since))).length, 2, 'the list collects both')
    const beforeMade = await cli(['verify', bundleFile, '-c', verifier, '--revocations', since], children)
    assert.equal(beforeMade.status, 1, beforeMade.stdout + beforeMade.stderr)
    assert.match(beforeMade.stdout, /^INVALID proof bundle: RevokedError: certificate for MA\.156 \(link 0\) was revoked .+, before the bundle was made \(.+\): compromised earlier$/m)

    // a list entry that does not verify: unusable input (exit 2), naming the entry
    const bytes = new Uint8Array(readFileSync(since))
    bytes[bytes.length - 2] = (bytes[bytes.length - 2] as number) ^ 0x01
    const tampered = await cli(['verify', bundleFile, '-c', verifier, '--revocations', write('tampered.cbor', bytes)], children)
    assert.equal(tampered.status, 2, tampered.stdout + tampered.stderr)
    assert.match(tampered.stderr, /^error: RevocationListError: revocation list entry 1 does not verify: BadSignatureError: /m)
    const notAList = await cli(['verify', bundleFile, '-c', verifier, '--revocations', bundleFile], children)
    assert.equal(notAList.status, 2, notAList.stdout + notAList.stderr)
    assert.match(notAList.stderr, /^error: RevocationListError: not a revocation list/m)
    const missing = await cli(['verify', bundleFile, '-c', verifier, '--revocations', join(dir, 'nope.cbor')], children)
    assert.equal(missing.status, 2)
    assert.match(missing.stderr, /^error: RevocationListError: cannot read /m)
  })
})
