/**
 * Data exchange vectors (SPEC 11): catalogues, exchange requests, receipts, access policies and the
 * frames of `/citycode/exchange/1.0.0`, each with what a compatible implementation must conclude.
 */
import { contentIdOf, createCatalogue, createExchangeRequest, createReceipt, DAG_PB, encodeCbor, issueCertificate, RAW, toHex } from '../../src/core/index.ts'
import type { AccessPolicy, DatasetEntry } from '../../src/core/index.ts'
import { encodeProviderFrame } from '../../src/network/protocols/exchange.ts'
import { InvalidRequestError } from '../../src/core/catalogue/errors.ts'
import { DAY_MS, hierarchy, NOW, seededSigner, YEAR_MS } from '../utils/fixtures.ts'

const hex = toHex

export const VECTOR_PROVIDER_PEER = '12D3KooWProviderPeerOfTheVectors'
export const VECTOR_REQUESTER_PEER = '12D3KooWRequesterPeerOfTheVectors'

export function exchangeVectors (): unknown {
  // the provider is MA.156.1301 (the fixtures' city); the requester is a neighbour, MA.156.1302
  const h = hierarchy()
  const neighbour = seededSigner(31)
  const neighbourCert = issueCertificate({ namespace: 'MA.156.1302', subject: neighbour.publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'] }, [h.country])
  const neighbourChain = [h.countryCert.bytes, neighbourCert.bytes]
  const hello = new TextEncoder().encode('hello city')
  const leaf = contentIdOf(RAW, hello)
  const dataset = (name: string, access: AccessPolicy, cid = leaf, size = hello.length): DatasetEntry => ({ name, version: 1, cid, size, mediaType: 'text/plain', licence: 'CC-BY-4.0', description: `${name} of Shijiazhuang`, access })
  const datasets = [
    dataset('water-quality', { kind: 'namespace', namespace: 'MA.156' }),
    dataset('open-map', { kind: 'public' }),
    dataset('budget', { kind: 'codes', codes: ['MA.156.1302', 'MA.156.1303'] }),
    dataset('roads', { kind: 'public' }, contentIdOf(DAG_PB, new Uint8Array([1])), 1_000_000)
  ]
  const catalogue = createCatalogue({ code: 'MA.156.1301', seq: 3, issuedAt: NOW - 1000, datasets }, h.city, h.chain)
  const flipped = Uint8Array.from(catalogue.sig)
  flipped[0] = (flipped[0] as number) ^ 0x01
  const neighbourCatalogue = createCatalogue({ code: 'MA.156.1301', seq: 1, issuedAt: NOW - 1000, datasets: [] }, neighbour, neighbourChain)
  const dupBody = encodeCbor({ v: 1, type: 'catalogue', code: 'MA.156.1301', seq: 1, issuedAt: NOW, key: h.city.publicKey, datasets: [encodeDatasetForVector(datasets[1] as DatasetEntry), encodeDatasetForVector(datasets[1] as DatasetEntry)] })
  const duplicate = encodeCbor({ body: dupBody, sig: h.city.sign('catalogue', dupBody), chain: h.chain })

  const fields = { code: 'MA.156.1302', dataset: 'water-quality', root: leaf, want: [leaf], nonce: new Uint8Array(16).fill(0x42), time: NOW - 5000, from: VECTOR_REQUESTER_PEER, to: VECTOR_PROVIDER_PEER }
  const request = createExchangeRequest(fields, neighbour, neighbourChain)
  const forger = seededSigner(32)
  const forgedCert = issueCertificate({ namespace: 'MA.156.1302', subject: forger.publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign'] }, [forger])
  const badSig = Uint8Array.from(request.sig)
  badSig[5] = (badSig[5] as number) ^ 0x10
  const receipt = createReceipt({ request: request.hash, root: leaf, bytes: hello.length, time: NOW, code: 'MA.156.1301' }, h.city)

  const reqCase = (name: string, bytes: Uint8Array, result: unknown): unknown => ({ name, request: hex(bytes), result })
  const admits = (policy: AccessPolicy, requester: string, admitted: boolean): unknown => ({ policy, requester, admitted })
  return {
    description: 'Data exchange (SPEC 11). catalogues: verifyCatalogue(bytes, anchors, now, {expectedCode, expectedCid}); requests: verifyExchangeRequest(bytes, anchors, {now, localPeer: provider, remotePeer: requester}) with a fresh nonce cache, then the same bytes again is ReplayedRequestError; receipts: verifyReceipt(bytes, providerKey, requestHash); frames: what a requester decodes from the provider\'s DAG-CBOR frames (behind a varint length prefix). Content ids are CIDv1 sha2-256 (raw leaves, dag-pb nodes), as Kubo computes them.',
    anchors: h.anchors.map(a => ({ name: a.name, namespace: a.namespace, keys: a.keys.map(hex), threshold: a.threshold })),
    now: NOW,
    provider: { code: 'MA.156.1301', key: hex(h.city.publicKey), peer: VECTOR_PROVIDER_PEER },
    requester: { code: 'MA.156.1302', key: hex(neighbour.publicKey), peer: VECTOR_REQUESTER_PEER },
    content: [{ name: 'the bytes "hello city" as one raw leaf', bytes: hex(hello), cid: leaf.toString() }],
    catalogues: [
      { name: 'a catalogue of four datasets, one of each policy kind', catalogue: hex(catalogue.bytes), cid: catalogue.cid.toString(), expectedCode: 'MA.156.1301', expectedCid: catalogue.cid.toString(), result: { valid: true, code: 'MA.156.1301', seq: 3, datasets: datasets.map(d => d.name) } },
      { name: 'signature bit flipped', catalogue: hex(encodeCbor({ body: catalogue.bodyBytes, sig: flipped, chain: [...catalogue.chain] })), expectedCode: 'MA.156.1301', result: { valid: false, error: 'BadSignatureError' } },
      { name: 'the bytes are not the block the record names', catalogue: hex(catalogue.bytes), expectedCode: 'MA.156.1301', expectedCid: contentIdOf(0x71, new Uint8Array([0])).toString(), result: { valid: false, error: 'InvalidCatalogueError' } },
      { name: 'found under another code than its own', catalogue: hex(catalogue.bytes), expectedCode: 'MA.156.1302', result: { valid: false, error: 'InvalidCatalogueError' } },
      { name: 'a neighbour signing a catalogue of MA.156.1301', catalogue: hex(neighbourCatalogue.bytes), expectedCode: 'MA.156.1301', result: { valid: false, error: 'NamespaceViolationError' } },
      { name: 'a dataset listed twice', catalogue: hex(duplicate), expectedCode: 'MA.156.1301', result: { valid: false, error: 'MalformedRecordError' } }
    ],
    policies: [
      admits({ kind: 'public' }, 'MA.840.0001', true),
      admits({ kind: 'namespace', namespace: 'MA.156' }, 'MA.156.1302', true),
      admits({ kind: 'namespace', namespace: 'MA.156' }, 'MA.156', true),
      admits({ kind: 'namespace', namespace: 'MA.156.1302' }, 'MA.156.1302.05', true),
      admits({ kind: 'namespace', namespace: 'MA.156' }, 'MA.840.0001', false),
      admits({ kind: 'namespace', namespace: 'MA.156.1301' }, 'MA.156.1302', false),
      admits({ kind: 'codes', codes: ['MA.156.1302', 'MA.156.1303'] }, 'MA.156.1303', true),
      admits({ kind: 'codes', codes: ['MA.156.1302'] }, 'MA.156.1302.05', false)
    ],
    requests: [
      reqCase('MA.156.1302 asks for water-quality on this connection', request.bytes, { valid: true, code: 'MA.156.1302', namespace: 'MA.156.1302', hash: hex(request.hash), replayAgain: 'ReplayedRequestError' }),
      reqCase('asked 121 s before the provider\'s now', createExchangeRequest({ ...fields, time: NOW - 121_000 }, neighbour, neighbourChain).bytes, { valid: false, error: 'ReplayedRequestError' }),
      reqCase('bound to another provider', createExchangeRequest({ ...fields, to: '12D3KooWSomeOtherProvider' }, neighbour, neighbourChain).bytes, { valid: false, error: 'InvalidRequestError' }),
      reqCase('a code outside the chain\'s namespace', createExchangeRequest({ ...fields, code: 'MA.156.1303' }, neighbour, neighbourChain).bytes, { valid: false, error: 'InvalidRequestError' }),
      reqCase('a self-signed chain', createExchangeRequest(fields, forger, [forgedCert.bytes]).bytes, { valid: false, error: 'UnknownAnchorError' }),
      reqCase('signature bit flipped', encodeCbor({ body: request.bodyBytes, sig: badSig, chain: [...request.chain] }), { valid: false, error: 'InvalidRequestError' }),
      reqCase('not a request', encodeCbor({ hello: 'city' }), { valid: false, error: 'InvalidRequestError' })
    ],
    receipts: [
      { name: 'the provider\'s receipt for that request', receipt: hex(receipt.bytes), providerKey: hex(h.city.publicKey), requestHash: hex(request.hash), result: { valid: true, bytes: hello.length } },
      { name: 'checked against another key', receipt: hex(receipt.bytes), providerKey: hex(neighbour.publicKey), requestHash: hex(request.hash), result: { valid: false, error: 'InvalidReceiptError' } },
      { name: 'for another request', receipt: hex(receipt.bytes), providerKey: hex(h.city.publicKey), requestHash: hex(new Uint8Array(32)), result: { valid: false, error: 'InvalidReceiptError' } }
    ],
    frames: [
      { name: 'a block', frame: hex(encodeProviderFrame({ status: 'block', cid: leaf, data: hello })), result: { valid: true, status: 'block', cid: leaf.toString(), data: hex(hello) } },
      { name: 'the end of a batch, nothing missing', frame: hex(encodeProviderFrame({ status: 'end', receipt: receipt.bytes, missing: [] })), result: { valid: true, status: 'end', receipt: hex(receipt.bytes), missing: [] } },
      { name: 'a refusal', frame: hex(encodeProviderFrame({ status: 'refused', error: new InvalidRequestError('request nonce was already used') })), result: { valid: true, status: 'refused', error: 'InvalidRequestError' } },
      { name: 'a block under a CIDv0', frame: hex(encodeCbor({ v: 1, status: 'block', cid: new Uint8Array([0x12, 0x20, ...new Uint8Array(32)]), data: hello })), result: { valid: false, error: 'InvalidContentIdError' } },
      { name: 'an unknown status', frame: hex(encodeCbor({ v: 1, status: 'more' })), result: { valid: false, error: 'MalformedRecordError' } },
      { name: 'a block with an extra field', frame: hex(encodeCbor({ v: 1, status: 'block', cid: leaf.bytes, data: hello, note: 'x' })), result: { valid: false, error: 'MalformedRecordError' } }
    ]
  }
}

function encodeDatasetForVector (d: DatasetEntry): Record<string, string | number | Uint8Array | Record<string, string>> {
  return { name: d.name, version: d.version, cid: d.cid.bytes, size: d.size, mediaType: d.mediaType, licence: d.licence, description: d.description, access: { kind: 'public' } }
}
