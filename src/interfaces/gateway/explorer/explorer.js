// The explorer page: plain browser JavaScript, no build step, nothing loaded from elsewhere.
// Every text from the network goes through textContent, never innerHTML.
'use strict'

const $ = (id) => document.getElementById(id)
const SVG = 'http://www.w3.org/2000/svg'
const CHILD_NAMES_LOOKED_UP = 24
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
  if (status === 400) return `“${code}” is not a valid code: ${detail}`
  const proven = status === 404 && problem && problem.details && problem.details.proven === true
  if (proven) return `No one holds the code ${code}: it does not exist, and ${problem.details.authority} proved it with its signed list of allocated codes (${detail}).`
  if (status === 404) return `No one holds the code ${code}: it is unknown to the network (${detail}).`
  if (status === 504) return `The network did not answer in time for ${code}. Try again.`
  if (status === 429) return 'Too many requests from this address: wait a moment and try again.'
  return `Could not look up ${code}: ${detail || 'error ' + status}`
}

function drawRecord (r) {
  $('record-name').textContent = r.name || r.code
  $('record-code').textContent = r.code
  $('record-printed').textContent = `printed ${r.printed}`
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
    tr.append(el('th', {}, type), el('td', { class: 'mono' }, Object.values(rest).join('  ')))
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
  item('anchor', r.verification.anchor, 'trust anchor (root)')
  for (const c of r.verification.chain) item('cert', c.namespace, `${c.kind} · serial ${c.serial}`)
  const chain = r.verification.chain
  if (chain.length > 0 && chain[chain.length - 1].namespace === r.code) list.lastElementChild.classList.add('holder')
  else item('holder', r.code, chain.length === 0 ? "signed by the anchor's own key" : 'signed by ' + r.verification.namespace)
}

/** An equirectangular grid (no tiles: the page works offline) with the place as a pin. */
function drawMap (r) {
  const map = $('map')
  map.replaceChildren()
  for (let lon = -180; lon <= 180; lon += 30) map.append(svgEl('line', { x1: lon, y1: -90, x2: lon, y2: 90, stroke: lon === 0 ? '#9fb3c8' : '#d5dde6', 'stroke-width': 0.4 }))
  for (let lat = -90; lat <= 90; lat += 30) map.append(svgEl('line', { x1: -180, y1: -lat, x2: 180, y2: -lat, stroke: lat === 0 ? '#9fb3c8' : '#d5dde6', 'stroke-width': 0.4 }))
  for (let lon = -150; lon <= 150; lon += 60) {
    const t = svgEl('text', { x: lon + 1, y: 88, 'font-size': 5, fill: '#7d8b99' })
    t.textContent = `${Math.abs(lon)}°${lon < 0 ? 'W' : lon > 0 ? 'E' : ''}`
    map.append(t)
  }
  const geo = r.values.find(v => v.type === 'geo')
  if (geo === undefined) {
    $('place-text').textContent = 'This record gives no location.'
    return
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
  $('place-text').textContent = `${r.name || r.code}: latitude ${geo.lat.toFixed(4)}, longitude ${geo.lon.toFixed(4)}`
}

/** A "more" button under a paged listing: it loads the next page with the cursor the last one gave, then goes away or waits for the next. */
function moreButton (id, next, load) {
  const old = $(id)
  if (old) old.remove()
  if (!next) return undefined
  const button = el('button', { id, type: 'button', class: 'more' }, 'more')
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
    $('children-note').textContent = 'loading…'
  }
  const { ok, status, body } = await getJson(`/v1/codes/${encodeURIComponent(code)}/children?limit=${PAGE_LIMIT}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
  if (!ok) {
    $('children-note').textContent = status === 404 ? 'No ledger lists children of this code.' : `Children unavailable: ${body.detail || status}`
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
  const where = body.source === 'authority' ? "from this node's allocation table" : `from the ledger of ${body.log}, checked against its signed head`
  $('children-note').textContent = shown === 0 ? 'No codes allocated under this one.' : `${shown}${body.next ? ' shown, more' : ''} allocated under this code (${where}).`
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
    $('history-note').textContent = 'loading…'
  }
  const { ok, body: h } = await getJson(`/v1/codes/${encodeURIComponent(code)}/history?limit=${PAGE_LIMIT}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
  if (!ok) {
    $('history-note').textContent = `History unavailable: ${h.detail || 'error'}`
    return
  }
  $('history-note').textContent = h.ledger ? 'Entries in the authorities\' ledgers, each with an inclusion proof against a signed tree head.' : 'This node keeps no ledger: only the current version is shown.'
  for (const v of h.versions) {
    const tr = el('tr')
    const what = v.type === 'allocation' ? 'allocated' : v.type === 'record' ? (v.current ? 'record (current)' : 'record') : v.type
    tr.append(el('td', {}, v.time), el('td', {}, what), el('td', {}, v.seq === undefined ? '' : String(v.seq)),
      el('td', { class: 'mono' }, v.log ? `${v.log} #${v.index}` : ''), el('td', {}, v.proof ? `✓ proof of ${v.proof.length} hashes` : ''))
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
  const blob = await res.blob()
  const img = el('img', { id: 'proof-img', alt: `Offline proof of ${code}: scan and check it with citycode verify`, src: URL.createObjectURL(blob), width: 220, height: 220 })
  const note = el('p', { class: 'hint' }, 'Scan this with any QR reader and check it offline: citycode verify "CC1:…" checks the record, its chain and, when present, its ledger proof against the trust anchors, with no network.')
  slot.append(img, note)
  section.hidden = false
}

async function lookUp (input, push = true) {
  const code = input.trim()
  if (code === '') return
  $('code-input').value = code
  if (push) history.pushState({ code }, '', `/?code=${encodeURIComponent(code)}`)
  clearMessage()
  showMessage(`Looking up ${code}…`, 'info')
  const { ok, status, body } = await getJson(`/v1/codes/${encodeURIComponent(code)}`)
  if (!ok) {
    $('result').hidden = true
    showMessage(explain(code, status, body))
    return
  }
  clearMessage()
  drawRecord(body)
  drawChain(body)
  drawMap(body)
  $('result').hidden = false
  await Promise.all([drawChildren(body.code), drawHistory(body.code), drawProof(body.code)])
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
    showMessage('No QR code found in that picture.')
    return
  }
  await lookUp(codeFromScan(found.data))
}

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
