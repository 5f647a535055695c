// The explorer page: plain browser JavaScript, no build step, nothing loaded from elsewhere.
// Every text from the network goes through textContent, never innerHTML.
'use strict'

const $ = (id) => document.getElementById(id)
const SVG = 'http://www.w3.org/2000/svg'
const CHILD_NAMES_LOOKED_UP = 24
/** A QR module needs this many CSS pixels to be read from a screen by a phone camera. */
const QR_PX_PER_MODULE = 4

/** The page's words in English and Chinese; the browser's preferred language picks (English by default). */
const TEXTS = {
  en: {
    title: 'citycode explorer',
    lead: 'Type or scan a city code. Every answer is verified by this node against its trust anchors before it is shown.',
    codeLabel: 'Code', lookUp: 'Look up', scan: 'Scan a QR code', version: 'version', cacheFor: 'cache for', answeredFrom: 'answered from',
    issued: 'issued', expires: 'expires', chainTitle: 'Chain of trust', chainHint: 'From the root anchor this node trusts, each link signed by the one before it.',
    placeTitle: 'Place', childrenTitle: 'Children', historyTitle: 'History', when: 'when', what: 'what', log: 'log', inTheLog: 'in the log',
    proofTitle: 'Offline proof', metrics: 'metrics',
    printed: (p) => `printed ${p}`,
    valueType: { name: 'name', geo: 'place', service: 'service', data: 'data' },
    trustAnchor: 'trust anchor (root)', serial: 'serial', anchorOwnKey: "signed by the anchor's own key", signedBy: (ns) => `signed by ${ns}`,
    notValid: (code, detail) => `“${code}” is not a valid code: ${detail}`,
    provenAbsent: (code, authority, detail) => `No one holds the code ${code}: it does not exist, and ${authority} proved it with its signed list of allocated codes (${detail}).`,
    unknown: (code, detail) => `No one holds the code ${code}: it is unknown to the network (${detail}).`,
    timeout: (code) => `The network did not answer in time for ${code}. Try again.`,
    tooMany: 'Too many requests from this address: wait a moment and try again.',
    failed: (code, detail) => `Could not look up ${code}: ${detail}`,
    lookingUp: (code) => `Looking up ${code}…`, loading: 'loading…',
    place: (name, lat, lon) => `${name}: latitude ${lat}, longitude ${lon}`,
    noLedgerChildren: 'No ledger lists children of this code.', childrenUnavailable: (d) => `Children unavailable: ${d}`,
    noChildren: 'No codes allocated under this one.',
    childrenCount: (n, more, fromTable, log) => `${n}${more ? ' shown, more' : ''} allocated under this code (${fromTable ? "from this node's allocation table" : `from the ledger of ${log}, checked against its signed head`}).`,
    more: 'more',
    historyUnavailable: (d) => `History unavailable: ${d}`,
    historyLedger: "Entries in the authorities' ledgers, each with an inclusion proof against a signed tree head.",
    historyNoLedger: 'This node keeps no ledger: only the current version is shown.',
    entry: { allocation: 'allocated', record: 'record', current: 'record (current)' },
    proofOf: (n) => `✓ proof of ${n} ${n === 1 ? 'hash' : 'hashes'}`,
    onlyEntry: '✓ the only entry: its hash is the signed root',
    proofNote: 'Scan this with any QR reader and check it offline: citycode verify "CC1:…" checks the record, its chain and, when present, its ledger proof against the trust anchors, with no network.',
    proofAlt: (code) => `Offline proof of ${code}: scan and check it with citycode verify`,
    noQr: 'No QR code found in that picture.'
  },
  zh: {
    title: '城市编码浏览器',
    lead: '输入或扫描城市编码。每个结果在显示之前，都由本节点依据其信任锚验证。',
    codeLabel: '编码', lookUp: '查询', scan: '扫描二维码', version: '版本', cacheFor: '缓存', answeredFrom: '来源',
    issued: '签发', expires: '到期', chainTitle: '信任链', chainHint: '从本节点信任的根锚开始，每一环都由前一环签名。',
    placeTitle: '位置', childrenTitle: '下级编码', historyTitle: '历史', when: '时间', what: '事件', log: '日志', inTheLog: '日志证明',
    proofTitle: '离线证明', metrics: '指标',
    printed: (p) => `印刷形式 ${p}`,
    valueType: { name: '名称', geo: '位置', service: '服务', data: '数据' },
    trustAnchor: '信任锚（根）', serial: '序号', anchorOwnKey: '由根锚自身的密钥签名', signedBy: (ns) => `由 ${ns} 签名`,
    notValid: (code, detail) => `“${code}”不是有效的编码：${detail}`,
    provenAbsent: (code, authority, detail) => `没有人持有编码 ${code}：它不存在，${authority} 已用其签名的已分配编码列表证明（${detail}）。`,
    unknown: (code, detail) => `没有人持有编码 ${code}：网络中没有它（${detail}）。`,
    timeout: (code) => `网络未能及时回答 ${code}，请重试。`,
    tooMany: '来自此地址的请求过多，请稍候再试。',
    failed: (code, detail) => `无法查询 ${code}：${detail}`,
    lookingUp: (code) => `正在查询 ${code}…`, loading: '加载中…',
    place: (name, lat, lon) => `${name}：纬度 ${lat}，经度 ${lon}`,
    noLedgerChildren: '没有日志列出此编码的下级编码。', childrenUnavailable: (d) => `下级编码暂不可用：${d}`,
    noChildren: '此编码下尚未分配编码。',
    childrenCount: (n, more, fromTable, log) => `${more ? `已显示此编码下分配的 ${n} 个编码，还有更多` : `此编码下已分配 ${n} 个`}（${fromTable ? '来自本节点的分配表' : `来自 ${log} 的日志，已对照其签名树头核验`}）。`,
    more: '更多',
    historyUnavailable: (d) => `历史暂不可用：${d}`,
    historyLedger: '各授权机构日志中的条目，每条都附有对照签名树头的包含证明。',
    historyNoLedger: '本节点不保存日志：只显示当前版本。',
    entry: { allocation: '已分配', record: '记录', current: '记录（当前）' },
    proofOf: (n) => `✓ ${n} 个哈希的证明`,
    onlyEntry: '✓ 日志中唯一的条目：其哈希即签名根',
    proofNote: '用任意二维码扫描器扫描，即可离线核验：citycode verify "CC1:…" 无需网络，依据信任锚检查记录、信任链以及（如有）日志证明。',
    proofAlt: (code) => `${code} 的离线证明：扫描后用 citycode verify 核验`,
    noQr: '图片中没有找到二维码。'
  }
}
const LANG = (() => {
  for (const l of navigator.languages && navigator.languages.length > 0 ? navigator.languages : [navigator.language || 'en']) {
    const base = String(l).toLowerCase().split('-')[0]
    if (base in TEXTS) return base
  }
  return 'en'
})()
const T = TEXTS[LANG]

function translatePage () {
  document.documentElement.lang = LANG === 'zh' ? 'zh-CN' : 'en'
  document.title = T.title
  for (const e of document.querySelectorAll('[data-text]')) {
    const text = T[e.getAttribute('data-text')]
    if (typeof text === 'string') e.textContent = text
  }
}

/** A link only for a web address: a `javascript:` or `data:` URL in a record stays text. */
function webLink (url) {
  try {
    const u = new URL(url)
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : undefined
  } catch {
    return undefined
  }
}
// entries per page of children and history (the gateway's listings are paged); `?limit=` overrides it
const PAGE_LIMIT = Math.min(1000, Math.max(1, Number(new URLSearchParams(location.search).get('limit')) || 100))

function el (tag, attrs = {}, text) {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v)
  if (text !== undefined) e.textContent = text
  return e
}

function svgEl (tag, attrs) {
  const e = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v))
  return e
}

function showMessage (text, kind = 'error') {
  const m = $('message')
  m.textContent = text
  m.className = kind
  m.hidden = false
}

function clearMessage () {
  $('message').hidden = true
}

async function getJson (url) {
  const response = await fetch(url, { headers: { accept: 'application/json' } })
  const body = await response.json().catch(() => ({}))
  return { ok: response.ok, status: response.status, body }
}

/** What a problem response means for a person. */
function explain (code, status, problem) {
  const detail = problem && problem.detail ? problem.detail : ''
  if (status === 400) return T.notValid(code, detail)
  const proven = status === 404 && problem && problem.details && problem.details.proven === true
  if (proven) return T.provenAbsent(code, problem.details.authority, detail)
  if (status === 404) return T.unknown(code, detail)
  if (status === 504) return T.timeout(code)
  if (status === 429) return T.tooMany
  return T.failed(code, detail || 'error ' + status)
}

function drawRecord (r) {
  $('record-name').textContent = r.name || r.code
  $('record-code').textContent = r.code
  $('record-printed').textContent = T.printed(r.printed)
  $('record-seq').textContent = String(r.seq)
  $('record-ttl').textContent = `${r.ttlSeconds} s`
  $('record-source').textContent = r.resolution ? r.resolution.source : '?'
  $('record-issued').textContent = r.issuedAt
  $('record-expires').textContent = r.expiresAt
  const body = $('values').tBodies[0]
  body.replaceChildren()
  for (const v of r.values) {
    const { type, ...rest } = v
    if (type === 'addr' || type === 'peer') continue
    const tr = el('tr')
    const cell = el('td', { class: 'mono' })
    const href = type === 'service' ? webLink(v.url) : undefined
    if (href !== undefined) {
      cell.append(`${v.name}  `, el('a', { href, rel: 'noopener noreferrer nofollow', target: '_blank', class: 'service' }, v.url))
    } else {
      cell.textContent = Object.values(rest).join('  ')
    }
    tr.append(el('th', {}, T.valueType[type] || type), cell)
    body.append(tr)
  }
}

/** The chain as a path: the anchor, every certified namespace, then the record's code. */
function drawChain (r) {
  const list = $('chain')
  list.replaceChildren()
  const item = (cls, title, sub) => {
    const li = el('li', { class: cls })
    const box = el('span', { class: 'link' })
    box.append(el('strong', {}, title), el('small', {}, sub))
    li.append(box)
    list.append(li)
  }
  item('anchor', r.verification.anchor, T.trustAnchor)
  for (const c of r.verification.chain) item('cert', c.namespace, `${c.kind} · ${T.serial} ${c.serial}`)
  const chain = r.verification.chain
  if (chain.length > 0 && chain[chain.length - 1].namespace === r.code) list.lastElementChild.classList.add('holder')
  else item('holder', r.code, chain.length === 0 ? T.anchorOwnKey : T.signedBy(r.verification.namespace))
}

/** The land outlines, fetched once from this gateway (no tile server: the page works offline). */
let land
function landPath () {
  if (land === undefined) land = fetch('/explorer/land.json').then(r => r.ok ? r.json() : undefined).then(j => j && j.d).catch(() => undefined)
  return land
}

/**
 * An equirectangular world map (x = longitude, y = minus latitude) with land outlines and the place
 * as a pin; a record without a place shows no map at all.
 */
async function drawMap (r) {
  const map = $('map')
  map.replaceChildren()
  const geo = r.values.find(v => v.type === 'geo')
  $('place').hidden = geo === undefined
  if (geo === undefined) return
  const d = await landPath()
  if (d) map.append(svgEl('path', { id: 'land', d, fill: '#dfe7d8', stroke: '#a9b8a0', 'stroke-width': 0.3 }))
  for (let lon = -180; lon <= 180; lon += 30) map.append(svgEl('line', { x1: lon, y1: -90, x2: lon, y2: 90, stroke: lon === 0 ? '#9fb3c8' : '#d5dde6', 'stroke-width': 0.3 }))
  for (let lat = -90; lat <= 90; lat += 30) map.append(svgEl('line', { x1: -180, y1: -lat, x2: 180, y2: -lat, stroke: lat === 0 ? '#9fb3c8' : '#d5dde6', 'stroke-width': 0.3 }))
  for (let lon = -150; lon <= 150; lon += 60) {
    const t = svgEl('text', { x: lon + 1, y: 88, 'font-size': 5, fill: '#7d8b99' })
    t.textContent = `${Math.abs(lon)}°${lon < 0 ? 'W' : lon > 0 ? 'E' : ''}`
    map.append(t)
  }
  const x = geo.lon
  const y = -geo.lat
  map.append(svgEl('line', { x1: x, y1: -90, x2: x, y2: 90, stroke: '#e0a0a0', 'stroke-width': 0.4, 'stroke-dasharray': '2 2' }))
  map.append(svgEl('line', { x1: -180, y1: y, x2: 180, y2: y, stroke: '#e0a0a0', 'stroke-width': 0.4, 'stroke-dasharray': '2 2' }))
  const pin = svgEl('circle', { id: 'pin', cx: x, cy: y, r: 3, fill: '#d93025', stroke: 'white', 'stroke-width': 1 })
  const title = svgEl('title', {})
  title.textContent = `${r.name || r.code}: ${geo.lat}, ${geo.lon}`
  pin.append(title)
  map.append(pin)
  const label = svgEl('text', { x: x + 5, y: y + 1.5, 'font-size': 6, fill: '#1d2733' })
  label.textContent = r.name || r.code
  map.append(label)
  $('place-text').textContent = T.place(r.name || r.code, geo.lat.toFixed(4), geo.lon.toFixed(4))
}

/** A "more" button under a paged listing: it loads the next page with the cursor the last one gave, then goes away or waits for the next. */
function moreButton (id, next, load) {
  const old = $(id)
  if (old) old.remove()
  if (!next) return undefined
  const button = el('button', { id, type: 'button', class: 'more' }, T.more)
  button.addEventListener('click', () => {
    button.disabled = true
    void load(next)
  })
  return button
}

async function drawChildren (code, cursor) {
  const list = $('children')
  if (cursor === undefined) {
    list.replaceChildren()
    $('children-more')?.remove()
    $('children-note').textContent = T.loading
  }
  const { ok, status, body } = await getJson(`/v1/codes/${encodeURIComponent(code)}/children?limit=${PAGE_LIMIT}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
  if (!ok) {
    $('children-note').textContent = status === 404 ? T.noLedgerChildren : T.childrenUnavailable(body.detail || status)
    return
  }
  const unnamed = []
  for (const c of body.children) {
    const li = el('li')
    const a = el('a', { href: `/?code=${encodeURIComponent(c.code)}`, 'data-code': c.code }, c.code)
    const name = el('span', { class: 'child-name' }, c.name ? ` ${c.name}` : '')
    li.append(a, name)
    list.append(li)
    if (!c.name) unnamed.push({ code: c.code, name })
  }
  const shown = list.children.length
  $('children-note').textContent = shown === 0 ? T.noChildren : T.childrenCount(shown, body.next !== undefined && body.next !== null, body.source === 'authority', body.log)
  const more = moreButton('children-more', body.next, async (next) => { await drawChildren(code, next) })
  if (more) list.after(more)
  // names of the first children this node had not seen yet: one verified lookup each
  await Promise.all(unnamed.slice(0, CHILD_NAMES_LOOKED_UP).map(async ({ code, name }) => {
    const { ok, body: r } = await getJson(`/v1/codes/${encodeURIComponent(code)}`)
    if (ok && r.name) name.textContent = ` ${r.name}`
  }))
}

async function drawHistory (code, cursor) {
  const body = $('history').tBodies[0]
  if (cursor === undefined) {
    body.replaceChildren()
    $('history-more')?.remove()
    $('history-note').textContent = T.loading
  }
  const { ok, body: h } = await getJson(`/v1/codes/${encodeURIComponent(code)}/history?limit=${PAGE_LIMIT}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
  if (!ok) {
    $('history-note').textContent = T.historyUnavailable(h.detail || 'error')
    return
  }
  $('history-note').textContent = h.ledger ? T.historyLedger : T.historyNoLedger
  for (const v of h.versions) {
    const tr = el('tr')
    const what = v.type === 'allocation' ? T.entry.allocation : v.type === 'record' ? (v.current ? T.entry.current : T.entry.record) : v.type
    tr.append(el('td', {}, v.time), el('td', {}, what), el('td', {}, v.seq === undefined ? '' : String(v.seq)),
      el('td', { class: 'mono' }, v.log ? `${v.log} #${v.index}` : ''), el('td', { class: 'proof' }, v.proof ? (v.proof.length === 0 ? T.onlyEntry : T.proofOf(v.proof.length)) : ''))
    body.append(tr)
  }
  const more = moreButton('history-more', h.next, async (next) => { await drawHistory(code, next) })
  if (more) $('history').after(more)
}

/** The offline proof bundle as a QR code, when this gateway's node may sign one (holder or authority above). */
async function drawProof (code) {
  const section = $('proof')
  const slot = $('proof-qr')
  section.hidden = true
  slot.replaceChildren()
  const url = `/v1/codes/${encodeURIComponent(code)}/proof?format=svg`
  const res = await fetch(url)
  if (!res.ok) return
  const svg = await res.text()
  // the QR's size in modules (its viewBox, quiet zone included) sets the image's: a phone camera
  // reads a screen at QR_PX_PER_MODULE pixels per module, not a bundle of a thousand bytes in 220 px
  const box = /viewBox="0 0 (\d+) (\d+)"/.exec(svg)
  const modules = box ? Number(box[1]) : 0
  const side = Math.max(256, modules * QR_PX_PER_MODULE)
  const src = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }))
  const img = el('img', { id: 'proof-img', alt: T.proofAlt(code), src, width: side, height: side, 'data-modules': String(modules) })
  const note = el('p', { class: 'hint' }, T.proofNote)
  slot.append(img, note)
  section.hidden = false
}

async function lookUp (input, push = true) {
  const code = input.trim()
  if (code === '') return
  $('code-input').value = code
  if (push) history.pushState({ code }, '', `/?code=${encodeURIComponent(code)}`)
  clearMessage()
  showMessage(T.lookingUp(code), 'info')
  const { ok, status, body } = await getJson(`/v1/codes/${encodeURIComponent(code)}`)
  if (!ok) {
    $('result').hidden = true
    showMessage(explain(code, status, body))
    return
  }
  clearMessage()
  drawRecord(body)
  drawChain(body)
  $('result').hidden = false
  await Promise.all([drawMap(body), drawChildren(body.code), drawHistory(body.code), drawProof(body.code)])
  document.body.dataset.loaded = body.code
}

/** A scanned QR code holds a code (printed form) or a link to one. */
function codeFromScan (text) {
  const m = /\/v1\/codes\/([^/?#]+)/.exec(text) || /[?&]code=([^&#]+)/.exec(text)
  return m ? decodeURIComponent(m[1]) : text
}

async function scan (file) {
  const bitmap = await createImageBitmap(file)
  const canvas = document.createElement('canvas')
  canvas.width = bitmap.width
  canvas.height = bitmap.height
  const g = canvas.getContext('2d')
  g.drawImage(bitmap, 0, 0)
  const image = g.getImageData(0, 0, canvas.width, canvas.height)
  const found = typeof jsQR === 'function' ? jsQR(image.data, image.width, image.height) : null
  if (found === null) {
    showMessage(T.noQr)
    return
  }
  await lookUp(codeFromScan(found.data))
}

translatePage()
$('lookup').addEventListener('submit', (e) => {
  e.preventDefault()
  void lookUp($('code-input').value)
})
$('scan-input').addEventListener('change', (e) => {
  const file = e.target.files && e.target.files[0]
  if (file) void scan(file)
})
$('children').addEventListener('click', (e) => {
  const code = e.target.getAttribute && e.target.getAttribute('data-code')
  if (code) {
    e.preventDefault()
    void lookUp(code)
  }
})
window.addEventListener('popstate', () => {
  const code = new URLSearchParams(location.search).get('code')
  if (code) void lookUp(code, false)
})
const initial = new URLSearchParams(location.search).get('code')
if (initial) void lookUp(initial, false)
