import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { memory } from '@libp2p/memory'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from 'libp2p'
import { createApplication } from '../../../src/core/application/application.ts'
import { generateSeed, signerFromSeed } from '../../../src/core/crypto/signature.ts'
import type { Signer } from '../../../src/core/crypto/signature.ts'
import { APPLY_PROTOCOL, decodeApplyResponse } from '../../../src/network/protocols/apply.ts'
import type { ApplyResponse } from '../../../src/network/protocols/apply.ts'
import { DEFAULT_PENDING_PER_KEY, DEFAULT_PENDING_PER_PEER } from '../../../src/services/authority/index.ts'
import { startTestNetwork } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'

/**
 * Issue #16 section 2, replayed by a stock js-libp2p peer (memory transport, noise, yamux) that
 * speaks `/citycode/apply/1.0.0` by hand: one length-prefixed application, one response.
 */
describe('who may get a code: a stranger applying with a stock libp2p node', function () {
  this.timeout(60_000)
  let net: TestNetwork
  let attacker: Libp2p

  before(async () => {
    net = await startTestNetwork(1)
    attacker = await createLibp2p({ transports: [memory()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
  })
  after(async () => {
    await attacker?.stop()
    await net?.stop()
  })

  async function send (to: string, bytes: Uint8Array): Promise<ApplyResponse> {
    const stream = await attacker.dialProtocol(multiaddr(to), APPLY_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
    const lp = lpStream(stream)
    await lp.write(bytes)
    const response = decodeApplyResponse((await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray())
    await stream.close().catch(() => undefined)
    return response
  }
  const application = (parent: string, signer: Signer, name: string, officialCode: string | null, time = Date.now()): Uint8Array =>
    createApplication({ parent, name, officialCode, peer: attacker.peerId.toString(), next: null, time }, signer).bytes

  it('the country queues a stranger\'s application for Baoding (MA.156.1306) and the city one for a sub-code: neither is allocated', async () => {
    const stranger = signerFromSeed(generateSeed())
    const baoding = await send(net.addrOf(net.country), application('MA.156', stranger, 'Baoding', '130600'))
    assert.equal(baoding.status, 'pending')
    const city = net.cities[0]
    assert.ok(city?.identity !== undefined)
    const sub = await send(net.addrOf(city), application(city.identity.namespace, stranger, 'Shijiazhuang Urban Management Bureau', null))
    assert.equal(sub.status, 'pending')
    assert.deepEqual((await net.country.authority?.allocations())?.map(a => a.code), ['MA.156.1301'])
    assert.deepEqual(await city.authority?.allocations(), [])
  })

  it('500 applications from one key, then from many keys over one peer: bounded, each refusal typed, nothing more stored', async () => {
    const authority = net.country.authority
    assert.ok(authority !== undefined)
    const before = (await authority.pending()).length
    const key = signerFromSeed(generateSeed())
    const t0 = performance.now()
    const outcomes: string[] = []
    for (let i = 0; i < 500; i++) {
      const r = await send(net.addrOf(net.country), application('MA.156', key, `Flood ${i}`, '130600', Date.now() + i))
      outcomes.push(r.status === 'refused' ? r.error.name : r.status)
    }
    const ms = performance.now() - t0
    assert.equal(outcomes.filter(o => o === 'pending').length, DEFAULT_PENDING_PER_KEY)
    assert.equal(outcomes.filter(o => o === 'PendingLimitError').length, 500 - DEFAULT_PENDING_PER_KEY)
    assert.equal((await authority.pending()).length, before + DEFAULT_PENDING_PER_KEY)
    process.stdout.write(`      500 applications from one key in ${Math.round(ms)} ms: ${DEFAULT_PENDING_PER_KEY} queued, the rest refused\n`)

    // fresh keys over the same peer: the peer's bound (it already has 1 + 2 queued) stops them
    const perPeer: string[] = []
    for (let i = 0; i < 20; i++) {
      const r = await send(net.addrOf(net.country), application('MA.156', signerFromSeed(generateSeed()), `Key ${i}`, '130600'))
      perPeer.push(r.status === 'refused' ? r.error.name : r.status)
    }
    const queuedFromPeer = (await authority.pending()).length
    assert.equal(queuedFromPeer, DEFAULT_PENDING_PER_PEER, perPeer.join(' '))
    assert.ok(perPeer.slice(-5).every(o => o === 'PendingLimitError'), perPeer.join(' '))
  })

  it('an invited node gets its code at once over the network; the stranger presenting that invitation with its own key is refused typed', async () => {
    const authority = net.country.authority
    assert.ok(authority !== undefined)
    // a key the harness did not name: only the invitation admits it
    const invitedKey = signerFromSeed(generateSeed())
    const invitation = authority.invite({ key: invitedKey.publicKey, code: 'MA.156.1306' })
    const stolen = await send(net.addrOf(net.country), createApplication({ parent: 'MA.156', name: 'Baoding', officialCode: '130600', peer: attacker.peerId.toString(), next: null, time: Date.now(), invitation }, signerFromSeed(generateSeed())).bytes)
    assert.ok(stolen.status === 'refused' && stolen.error.name === 'InvitationError', JSON.stringify(stolen))
    const invited = await net.add('city', { authorityKey: invitedKey })
    const code = await invited.apply({ namespace: 'MA.156', addr: net.addrOf(net.country) }, { name: 'Baoding', officialCode: '130600', invitation }, { timeoutMs: 10_000 })
    assert.equal(code, 'MA.156.1306')
  })
})
