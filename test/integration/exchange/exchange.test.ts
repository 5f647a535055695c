import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryDatastore } from 'datastore-core'
import { startTestNetwork, eventually } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'
import type { CitycodeNode } from '../../../src/services/node/index.ts'
import { catalogueIdOf, catalogueValue } from '../../../src/core/index.ts'
import { revokeCertificate } from '../../../src/services/proof/revoke.ts'
import { BlockStore } from '../../../src/storage/block-store.ts'
import { createExchangeRequest, issueCertificate } from '../../../src/core/index.ts'
import type { CID } from 'multiformats/cid'
import { blockLinks, importContent } from '../../../src/services/exchange/content.ts'
import * as varint from 'uint8-varint'
import { rawExchange, startExchangePeer } from '../../utils/exchange-peer.ts'
import type { ExchangePeer } from '../../utils/exchange-peer.ts'
import { seededSigner } from '../../utils/fixtures.ts'

function bytesOf (n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; out[i] = x >>> 24 }
  return out
}

function ns (node: CitycodeNode): string {
  return node.identity?.namespace as string
}

describe('data exchange between cities (/citycode/exchange/1.0.0)', function () {
  this.timeout(120_000)
  let net: TestNetwork
  let dir: string
  let provider: CitycodeNode
  let member: CitycodeNode
  let outsider: CitycodeNode

  before(async () => {
    net = await startTestNetwork(3)
    ;[provider, member, outsider] = net.cities as [CitycodeNode, CitycodeNode, CitycodeNode]
    dir = mkdtempSync(join(tmpdir(), 'citycode-exchange-'))
    writeFileSync(join(dir, 'probe.bin'), 'a small public dataset')
    await provider.exchange?.share({ path: join(dir, 'probe.bin'), name: 'probe' })
  })

  after(async () => {
    await net?.stop()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('an authorised fetch gets the dataset\'s exact bytes, checked block by block, and both sides log it', async () => {
    const data = bytesOf(3 * 262_144 + 12_345)
    const file = join(dir, 'water.bin')
    writeFileSync(file, data)
    const shared = await provider.exchange?.share({ path: file, name: 'water-quality', access: { kind: 'namespace', namespace: 'MA.156' }, mediaType: 'text/csv', licence: 'CC-BY-4.0' })
    assert.ok(shared !== undefined)
    assert.equal(shared.dataset.size, data.length)
    // the record now names the catalogue
    const own = await provider.held(ns(provider))
    assert.equal(catalogueIdOf(own?.record.body.values ?? [])?.toString(), shared.catalogue)

    const out = join(dir, 'fetched.bin')
    const result = await member.exchange?.fetch(ns(provider), 'water-quality', { out })
    assert.ok(result !== undefined)
    assert.deepEqual(new Uint8Array(readFileSync(out)), data)
    assert.equal(result.cid, shared.dataset.cid.toString())
    assert.equal(result.blocks, 5) // a dag-pb root and four raw leaves
    assert.equal(result.alreadyHeld, 0)
    assert.ok(result.receipts >= 2) // the catalogue's batch and the dataset's

    const fetched = await member.exchange?.log()
    assert.equal(fetched?.at(-1)?.role, 'fetched')
    assert.equal(fetched?.at(-1)?.dataset, 'water-quality')
    assert.equal(fetched?.at(-1)?.policy, 'MA.156')
    assert.ok(await eventually(async () => (await provider.exchange?.log())?.some(e => e.role === 'served' && e.requester === ns(member)) === true, 5000))
    const served = (await provider.exchange?.log())?.find(e => e.role === 'served' && e.requester === ns(member))
    assert.equal(served?.bytes, result.bytes)
    assert.equal((await provider.exchange?.verifyLog())?.entries, (await provider.exchange?.log())?.length)
    assert.equal((await member.exchange?.verifyLog())?.entries, fetched?.length)
  })

  /** A dataset shared by the provider under `access`, and its file's bytes. */
  async function share (name: string, size: number, access: Parameters<NonNullable<CitycodeNode['exchange']>['share']>[0]['access'], seed = 11): Promise<{ cid: CID, data: Uint8Array }> {
    const data = bytesOf(size, seed)
    const file = join(dir, `${name}.bin`)
    writeFileSync(file, data)
    const shared = await provider.exchange?.share({ path: file, name, access })
    assert.ok(shared !== undefined)
    return { cid: shared.dataset.cid, data }
  }

  function requestOf (node: CitycodeNode, fields: { dataset: string, root: CID, want: CID[], time?: number, nonce?: Uint8Array }): Uint8Array {
    return createExchangeRequest({
      code: ns(node),
      dataset: fields.dataset,
      root: fields.root,
      want: fields.want,
      nonce: fields.nonce ?? crypto.getRandomValues(new Uint8Array(16)),
      time: fields.time ?? Date.now(),
      from: node.peerId.toString(),
      to: provider.peerId.toString()
    }, node.authorityKey as NonNullable<CitycodeNode['authorityKey']>, node.identity?.chain ?? []).bytes
  }

  it('a requester outside the policy is refused with AccessDeniedError and keeps none of the dataset', async () => {
    const { cid } = await share('budget', 5000, { kind: 'codes', codes: [ns(member)] })
    await assert.rejects(outsider.exchange?.fetch(ns(provider), 'budget', { out: join(dir, 'budget.out') }) as Promise<unknown>, { name: 'AccessDeniedError' })
    assert.equal(await new BlockStore(outsider.datastore).has(cid), false)
    assert.equal(existsSync(join(dir, 'budget.out')), false)
    // the provider logs the refusal with the signed request that was refused
    assert.ok(await eventually(async () => (await provider.exchange?.log())?.some(e => e.role === 'served' && e.requester === ns(outsider) && e.outcome === 'AccessDeniedError' && e.policy === `codes:${ns(member)}`) === true, 5000))
    assert.equal((await provider.exchange?.verifyLog())?.entries, (await provider.exchange?.log())?.length)
    // the one it names is served
    const ok = await member.exchange?.fetch(ns(provider), 'budget')
    assert.equal(ok?.cid, cid.toString())
  })

  it('a forged chain is refused; so is an admitted requester asking for another dataset\'s blocks', async () => {
    const { cid } = await share('forged-target', 4000, { kind: 'public' })
    const attacker = await startExchangePeer({ listen: `/memory/exchange-attacker-${process.pid}-1` })
    try {
      const forger = seededSigner(9001)
      const fakeCountry = issueCertificate({ namespace: 'MA.156', subject: forger.publicKey, serial: 1, notBefore: Date.now() - 86_400_000, notAfter: Date.now() + 86_400_000, perms: ['sign', 'delegate'] }, [forger])
      const request = createExchangeRequest({ code: 'MA.156.1399', dataset: 'forged-target', root: cid, want: [cid], nonce: new Uint8Array(16).fill(1), time: Date.now(), from: attacker.peerId.toString(), to: provider.peerId.toString() }, forger, [fakeCountry.bytes])
      const [answer] = await attacker.request(provider.addresses[0] as never, [request.bytes])
      assert.equal(answer?.[0]?.status, 'refused')
      assert.equal((answer?.[0]?.error as { name: string }).name, 'UnknownAnchorError')
    } finally {
      await attacker.stop()
    }
    // member is admitted to forged-target (public), not to budget's blocks by naming them
    const budget = (await provider.exchange?.shares())?.find(s => s.dataset.name === 'budget')?.dataset.cid as CID
    const [answer] = await rawExchange(member.libp2p, provider.peerId, [requestOf(member, { dataset: 'forged-target', root: cid, want: [budget] })])
    assert.equal((answer?.[0]?.error as { name: string }).name, 'InvalidRequestError')
  })

  it('a valid requester replaying a request (same bytes, or an old time) is refused with ReplayedRequestError', async () => {
    const { cid } = await share('replayed', 3000, { kind: 'public' })
    const request = requestOf(member, { dataset: 'replayed', root: cid, want: [cid] })
    const [first] = await rawExchange(member.libp2p, provider.peerId, [request])
    assert.equal(first?.[0]?.status, 'block')
    assert.equal(first?.at(-1)?.status, 'end')
    const [again] = await rawExchange(member.libp2p, provider.peerId, [request])
    assert.equal((again?.[0]?.error as { name: string }).name, 'ReplayedRequestError')
    const [old] = await rawExchange(member.libp2p, provider.peerId, [requestOf(member, { dataset: 'replayed', root: cid, want: [cid], time: Date.now() - 3 * 60_000 })])
    assert.equal((old?.[0]?.error as { name: string }).name, 'ReplayedRequestError')
    // another peer cannot use a request captured from member's connection either
    const attacker = await startExchangePeer({ listen: `/memory/exchange-attacker-${process.pid}-2` })
    try {
      const [stolen] = await attacker.request(provider.addresses[0] as never, [requestOf(member, { dataset: 'replayed', root: cid, want: [cid] })])
      assert.equal((stolen?.[0]?.error as { name: string }).name, 'InvalidRequestError')
    } finally {
      await attacker.stop()
    }
  })

  /** The liar is asked for the dataset only: member holds the provider's newest catalogue, fetched honestly. */
  async function viaLiar (liar: ExchangePeer, name: string): Promise<unknown> {
    const current = provider.exchange?.catalogueOf(ns(provider))?.cid
    assert.ok(await eventually(async () => catalogueIdOf((await member.resolve(ns(provider))).verified.record.body.values)?.equals(current) === true, 10_000))
    const refreshed = await member.exchange?.fetch(ns(provider), 'probe')
    assert.ok(refreshed !== undefined && refreshed.blocks <= 2) // the new catalogue, and probe's block the first time
    await member.libp2p.dial(liar.libp2p.getMultiaddrs()[0] as never)
    assert.equal(await new BlockStore(member.datastore).has(current as CID), true)
    return await member.exchange?.fetch(ns(provider), name, { provider: liar.peerId, timeoutMs: 20_000 })
  }

  it('a block whose bytes do not match its CID is BlockMismatchError and is not kept', async () => {
    const { cid } = await share('mismatch', 600_000, { kind: 'public' })
    const liar = await startExchangePeer({ listen: `/memory/exchange-liar-${process.pid}-1`, lie: { kind: 'mismatch', data: new Uint8Array(1000).fill(7) } })
    try {
      await assert.rejects(viaLiar(liar, 'mismatch'), { name: 'BlockMismatchError' })
      assert.equal(await new BlockStore(member.datastore).has(cid), false)
      assert.equal((await member.exchange?.log())?.at(-1)?.outcome, 'BlockMismatchError')
    } finally {
      await liar.stop()
    }
  })

  it('an oversized frame and an endless stream are bounded: typed errors, little read', async () => {
    await share('bounded', 2000, { kind: 'public' })
    for (const [i, lie] of [{ kind: 'oversized' as const, bytes: 64 * 1024 * 1024 }, { kind: 'endless' as const }].entries()) {
      const liar = await startExchangePeer({ listen: `/memory/exchange-liar-${process.pid}-b${i}`, lie })
      try {
        const started = Date.now()
        await assert.rejects(viaLiar(liar, 'bounded'), { name: 'FrameTooLargeError' })
        assert.ok(Date.now() - started < 10_000)
        // the requester stopped reading at the frame limit plus the muxer's window, not at 64 MiB
        assert.ok(liar.sent < 8 * 1024 * 1024, `liar sent ${liar.sent} bytes`)
      } finally {
        await liar.stop()
      }
    }
  })

  it('a provider that stops mid-transfer: the blocks received are kept, and the next fetch asks only for the missing ones', async () => {
    const size = 4 * 262_144
    const { cid, data } = await share('resumable', size, { kind: 'public' }, 23)
    // a holder of a copy that stops after the root
    const copy = new BlockStore(new MemoryDatastore())
    const imported = await importContent([data], copy)
    assert.equal(imported.cid.toString(), cid.toString())
    const liar = await startExchangePeer({ listen: `/memory/exchange-liar-${process.pid}-s`, lie: { kind: 'stop-after', blocks: 1, held: new Map([[cid.toString(), await copy.getBlock(cid)]]) } })
    try {
      await assert.rejects(viaLiar(liar, 'resumable'), { name: 'ProtocolError' })
    } finally {
      await liar.stop()
    }
    const blocks = new BlockStore(member.datastore)
    assert.equal(await blocks.has(cid), true)
    // then the provider itself, interrupted after two leaves
    const cut = new AbortController()
    await assert.rejects(member.exchange?.fetch(ns(provider), 'resumable', { signal: cut.signal, onProgress: (p) => { if (p.blocks === 2) cut.abort(new Error('interrupted')) } }) as Promise<unknown>, { message: 'interrupted' })
    const out = join(dir, 'resumable.out')
    const resumed = await member.exchange?.fetch(ns(provider), 'resumable', { out })
    assert.equal(resumed?.alreadyHeld, 3)
    assert.equal(resumed?.blocks, 2)
    assert.equal(resumed?.bytes, 2 * 262_144)
    assert.deepEqual(new Uint8Array(readFileSync(out)), data)
    assert.deepEqual(readdirSync(dir).filter(f => f.includes('.partial-')), [])
  })

  it('a revoked requester is refused with RevokedError', async () => {
    await share('after-revocation', 1000, { kind: 'public' })
    await revokeCertificate(net.country, ns(outsider), { reason: 'test', revokedAt: Date.now() - 1000 })
    assert.ok(await eventually(() => provider.validator.revocations.size > 0, 10_000))
    await assert.rejects(outsider.exchange?.fetch(ns(provider), 'after-revocation') as Promise<unknown>, { name: 'RevokedError' })
  })

  it('a sub-code shares under its own catalogue, and is fetched as SUBCODE/NAME', async () => {
    const sub = `${ns(provider)}.05`
    await provider.publish(sub, [{ type: 'name', lang: 'en', value: 'Water bureau' }])
    const file = join(dir, 'bureau.bin')
    const data = bytesOf(2000, 5)
    writeFileSync(file, data)
    const shared = await provider.exchange?.share({ path: file, name: 'water-quality', code: sub, access: { kind: 'public' } })
    assert.equal(shared?.code, sub)
    const record = await provider.held(sub)
    assert.equal(catalogueIdOf(record?.record.body.values ?? [])?.toString(), shared?.catalogue)
    assert.ok(record?.record.body.values.some(v => v.type === 'name' && v.value === 'Water bureau'), 'the sub-code keeps its other values')
    const out = join(dir, 'bureau.out')
    const fetched = await member.exchange?.fetch(sub, 'water-quality', { out })
    assert.equal(fetched?.code, sub)
    assert.deepEqual(new Uint8Array(readFileSync(out)), data)
    // outside this node's namespace: refused before anything is imported
    await assert.rejects(provider.exchange?.share({ path: file, name: 'x', code: ns(member) }) as Promise<unknown>, { name: 'NotAllocatedError' })
  })

  it('a reader that stops reading is cut off at the provider\'s batch deadline', async () => {
    const slow = await net.add('city', { exchange: { batchTimeoutMs: 1500 } })
    await slow.apply({ namespace: 'MA.156', addr: net.addrOf(net.country) }, { name: 'Slow provider', officialCode: '130400' })
    const file = join(dir, 'large.bin')
    writeFileSync(file, bytesOf(16 * 262_144, 3))
    const shared = await slow.exchange?.share({ path: file, name: 'large', access: { kind: 'public' } })
    assert.ok(shared !== undefined)
    const leaves = blockLinks(shared.dataset.cid, await new BlockStore(slow.datastore).getBlock(shared.dataset.cid))
    const request = createExchangeRequest({ code: ns(member), dataset: 'large', root: shared.dataset.cid, want: leaves, nonce: crypto.getRandomValues(new Uint8Array(16)), time: Date.now(), from: member.peerId.toString(), to: slow.peerId.toString() }, member.authorityKey as NonNullable<CitycodeNode['authorityKey']>, member.identity?.chain ?? [])
    await member.libp2p.dial(slow.addresses[0] as never)
    const stream = await member.libp2p.dialProtocol(slow.peerId, '/citycode/exchange/1.0.0')
    // write the request, then never read: the provider fills the muxer's window and waits
    stream.pause()
    stream.send(varint.encode(request.bytes.length))
    stream.send(request.bytes)
    const started = Date.now()
    const ended = await eventually(() => stream.status !== 'open', 8000)
    assert.ok(ended, 'the provider ended the stream')
    // reset by the provider, not closed after sending all 4 MiB: it sent what flow control let through
    assert.equal(stream.status, 'reset')
    assert.ok(stream.readBufferLength < 2 * 1024 * 1024, `${stream.readBufferLength} bytes were buffered`)
    assert.ok(Date.now() - started < 6000)
  })

  it('a file of repeated chunks (its DAG links one leaf many times) is fetched whole, each block asked for once', async () => {
    const data = new Uint8Array(4 * 262_144 + 10)
    const file = join(dir, 'zeros.bin')
    writeFileSync(file, data)
    await provider.exchange?.share({ path: file, name: 'zeros', access: { kind: 'public' } })
    const out = join(dir, 'zeros.out')
    const fetched = await member.exchange?.fetch(ns(provider), 'zeros', { out })
    assert.equal(fetched?.blocks, 3) // the root, the one full-chunk leaf, the short last leaf
    assert.deepEqual(new Uint8Array(readFileSync(out)), data)
  })

  it('a dataset held whole is written out with no transfer; an unwritable --out is StorageError and keeps the blocks', async () => {
    const own = await provider.exchange?.fetch(ns(provider), 'probe', { out: join(dir, 'own-probe.out') })
    assert.equal(own?.blocks, 0)
    assert.equal(own?.receipts, 0)
    assert.equal(readFileSync(join(dir, 'own-probe.out'), 'utf8'), 'a small public dataset')
    const { data } = await share('unwritable', 3000, { kind: 'public' }, 41)
    await assert.rejects(member.exchange?.fetch(ns(provider), 'unwritable', { out: join(dir, 'no-such-dir', 'x.out') }) as Promise<unknown>, { name: 'StorageError' })
    const again = await member.exchange?.fetch(ns(provider), 'unwritable', { out: join(dir, 'unwritable.out') })
    assert.equal(again?.blocks, 0)
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'unwritable.out'))), data)
  })

  it('a record naming a catalogue that does not verify for its code: InvalidCatalogueError, the catalogue not kept', async () => {
    const sub = provider.exchange?.catalogueOf(`${ns(provider)}.05`)
    assert.ok(sub !== undefined)
    // the holder's record names its sub-code's catalogue, a valid block of another code
    await provider.publishOwn([catalogueValue(sub.cid)])
    const fresh = await net.add('city')
    await fresh.apply({ namespace: 'MA.156', addr: net.addrOf(net.country) }, { name: 'Fresh', officialCode: '130500' })
    assert.ok(await eventually(async () => catalogueIdOf((await fresh.resolve(ns(provider), { fresh: true })).verified.record.body.values)?.equals(sub.cid) === true, 10_000))
    await assert.rejects(fresh.exchange?.fetch(ns(provider), 'water-quality') as Promise<unknown>, { name: 'InvalidCatalogueError' })
    assert.equal(await new BlockStore(fresh.datastore).has(sub.cid), false)
    await provider.publishOwn([])
  })
})
