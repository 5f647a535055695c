import assert from 'node:assert/strict'
import sparticuz from '@sparticuz/chromium'
import { chromium } from 'playwright-core'
import QRCode from 'qrcode'
import { checkCharacter } from '../../../src/core/code/check-character.ts'
import type { Browser, Page } from 'playwright-core'
import { SJZ, SJZ_SUB, startGatewayNetwork } from '../../utils/gateway-network.ts'
import { gateway } from '../../../src/interfaces/gateway/index.ts'
import type { Gateway } from '../../../src/interfaces/gateway/index.ts'
import type { CitycodeNode } from '../../../src/services/node/index.ts'
import type { GatewayNetwork } from '../../utils/gateway-network.ts'

/**
 * The Chromium that ships inside the `@sparticuz/chromium` npm package (no system package, no
 * download): `npm install && npm test` needs nothing else. It has no fonts of its own to speak of,
 * so the text the test reads is drawn in the fonts the explorer serves. CHROMIUM_PATH overrides it.
 */
// its --single-process (for serverless hosts) ends the whole browser when a second page is closed
const CHROMIUM_ARGS = [...sparticuz.args.filter(a => a !== '--single-process'), '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

describe('web explorer in a real headless browser', function () {
  this.timeout(180_000)
  let g: GatewayNetwork
  let browser: Browser
  let page: Page
  const pageErrors: string[] = []

  before(async () => {
    g = await startGatewayNetwork(2)
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? await sparticuz.executablePath(), args: CHROMIUM_ARGS })
    page = await browser.newPage({ viewport: { width: 1100, height: 1400 } })
    // script errors and content-security-policy violations show up here
    page.on('pageerror', (err) => { pageErrors.push(err.message) })
    page.on('console', (msg) => { if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of (400|403|404)/.test(msg.text())) pageErrors.push(msg.text()) })
    // the page must not reach for anything but the gateway
    await page.route('**/*', async (route) => {
      if (route.request().url().startsWith(g.gateway.url)) await route.continue()
      else await route.abort()
    })
  })
  after(async () => {
    await browser?.close()
    await g?.stop()
  })

  async function serveGateway (node: CitycodeNode): Promise<Gateway> {
    const served = gateway({ listen: '127.0.0.1:0', log: 'off' })({ node })
    await served.start()
    return served
  }

  async function lookUp (code: string): Promise<void> {
    await page.fill('#code-input', code)
    await page.press('#code-input', 'Enter')
  }

  it('shows the record, its chain from the root, its place, children and history', async () => {
    await page.goto(`${g.gateway.url}/`)
    await lookUp(SJZ.code)
    await page.waitForSelector(`body[data-loaded="${SJZ.code}"]`, { timeout: 30_000 })
    // the page's own fonts, served by the gateway, draw its text (Latin and Chinese) on a machine without any
    const fonts = await page.evaluate(async () => {
      // the Chinese font comes in subsets, fetched for the characters asked for
      await document.fonts.load('16px "Noto Sans SC"', '石家庄市')
      await document.fonts.ready
      return { latin: document.fonts.check('16px "Noto Sans"', 'Shijiazhuang'), chinese: document.fonts.check('16px "Noto Sans SC"', '石家庄市') }
    })
    assert.deepEqual(fonts, { latin: true, chinese: true })
    assert.equal(await page.textContent('#record-name'), SJZ.name)
    assert.equal(await page.textContent('#record-seq'), '2')
    const chain = await page.$$eval('#chain li strong', els => els.map(e => e.textContent))
    assert.deepEqual(chain, ['test-root', 'MA.156', SJZ.code])
    // the pin sits at the city's longitude and (flipped) latitude on the world grid
    const pin = await page.$eval('#pin', el => [Number(el.getAttribute('cx')), Number(el.getAttribute('cy'))])
    assert.ok(Math.abs((pin[0] as number) - SJZ.lon) < 1e-3 && Math.abs((pin[1] as number) + SJZ.lat) < 1e-3, `pin at ${pin.join(',')}`)
    // over land outlines (Natural Earth 1:110m, served by the gateway): hundreds of rings, the city's among them
    const land = await page.$eval('#land', el => el.getAttribute('d') ?? '')
    assert.ok(land.startsWith('M') && land.split('M').length > 100, `${land.length} characters of land outline`)
    const onLand = await page.$eval('#land', (el, p) => {
      const path = el as SVGGeometryElement
      const point = (path.ownerSVGElement as SVGSVGElement).createSVGPoint()
      point.x = p[0] as number
      point.y = p[1] as number
      return path.isPointInFill(point)
    }, pin)
    assert.equal(onLand, true, 'Shijiazhuang is on land')
    assert.equal(await page.isVisible('#place'), true)
    const children = await page.$$eval('#children a', els => els.map(e => e.textContent))
    assert.deepEqual(children, [SJZ_SUB])
    const history = await page.$$eval('#history tbody tr', rows => rows.map(r => r.children[1]?.textContent))
    assert.deepEqual(history, ['allocated', 'record', 'record (current)'])
    assert.ok(await page.isVisible('#proof-qr') || (await page.$('#proof-qr')) !== null, 'a place for the proof QR code')
    assert.equal(new URL(page.url()).searchParams.get('code'), SJZ.code)
    if (process.env.EXPLORER_SCREENSHOT !== undefined) await page.screenshot({ path: process.env.EXPLORER_SCREENSHOT, fullPage: true })
  })

  it('pages children with "more", each page from the paged listing', async () => {
    await page.goto(`${g.gateway.url}/?code=MA.156&limit=1`)
    await page.waitForSelector('body[data-loaded="MA.156"]', { timeout: 30_000 })
    assert.deepEqual(await page.$$eval('#children a', els => els.map(e => e.textContent)), ['MA.156.1301'])
    assert.match(await page.textContent('#children-note') ?? '', /^1 shown, more/)
    await page.click('#children-more')
    await page.waitForFunction(() => document.querySelectorAll('#children a').length === 2, undefined, { timeout: 30_000 })
    assert.deepEqual(await page.$$eval('#children a', els => els.map(e => e.textContent)), ['MA.156.1301', 'MA.156.1302'])
    assert.equal(await page.$('#children-more'), null, 'no more after the last page')
    await page.goto(`${g.gateway.url}/?code=${SJZ.code}`)
    await page.waitForSelector(`body[data-loaded="${SJZ.code}"]`, { timeout: 30_000 })
  })

  it('follows a child link', async () => {
    await page.click(`#children a[data-code="${SJZ_SUB}"]`)
    await page.waitForSelector(`body[data-loaded="${SJZ_SUB}"]`, { timeout: 30_000 })
    assert.equal(await page.textContent('#record-name'), 'Shijiazhuang urban management bureau')
    assert.deepEqual(await page.$$eval('#chain li strong', els => els.map(e => e.textContent)), ['test-root', 'MA.156', SJZ.code, SJZ_SUB])
  })

  it('links service URLs (web addresses only) and shows no map for a record without a place', async () => {
    const city = g.net.cities[0] as CitycodeNode
    const office = await city.authority?.allocateOwn('Open data office')
    assert.ok(office !== undefined)
    await city.publish(office, [{ type: 'name', lang: 'en', value: 'Shijiazhuang open data office' }, { type: 'service', name: 'open-data', url: 'https://data.sjz.example/' }, { type: 'service', name: 'trap', url: 'javascript:alert(1)' }])
    await lookUp(office)
    await page.waitForSelector(`body[data-loaded="${office}"]`, { timeout: 30_000 })
    assert.deepEqual(await page.$$eval('#values a.service', els => els.map(e => [e.getAttribute('href'), e.getAttribute('rel'), e.textContent])), [['https://data.sjz.example/', 'noopener noreferrer nofollow', 'https://data.sjz.example/']])
    assert.match(await page.textContent('#values') ?? '', /trap {2}javascript:alert\(1\)/, 'the other URL stays text')
    assert.equal(await page.isHidden('#place'), true, 'no empty map')
  })

  it('words the proof of a log\'s only entry as such', async () => {
    const history = /\/v1\/codes\/MA\/history(\?.*)?$/
    await page.route(history, async (route) => {
      await route.fulfill({ json: { code: 'MA', ledger: true, versions: [{ type: 'record', current: true, seq: 1, time: '2026-12-07T00:00:00.000Z', log: 'MA', index: 0, proof: [] }, { type: 'record', seq: 2, time: '2026-12-07T00:00:01.000Z', log: 'MA', index: 1, proof: ['ab'] }] } })
    })
    try {
      await lookUp('MA')
      await page.waitForSelector('body[data-loaded="MA"]', { timeout: 30_000 })
      assert.deepEqual(await page.$$eval('#history td.proof', els => els.map(e => e.textContent)), ['✓ the only entry: its hash is the signed root', '✓ proof of 1 hash'])
    } finally {
      await page.unroute(history)
    }
  })

  it('speaks Chinese to a browser that prefers it', async () => {
    const context = await browser.newContext({ locale: 'zh-CN' })
    try {
      const zh = await context.newPage()
      zh.on('pageerror', (err) => { pageErrors.push(err.message) })
      await zh.goto(`${g.gateway.url}/?code=${SJZ.code}`)
      await zh.waitForSelector(`body[data-loaded="${SJZ.code}"]`, { timeout: 30_000 })
      assert.equal(await zh.getAttribute('html', 'lang'), 'zh-CN')
      assert.deepEqual(await zh.$$eval('main h3', els => els.map(e => e.textContent)), ['信任链', '位置', '下级编码', '历史', '离线证明'])
      assert.equal(await zh.textContent('#lookup-button'), '查询')
      assert.deepEqual(await zh.$$eval('#history tbody tr', rows => rows.map(r => r.children[1]?.textContent)), ['已分配', '记录', '记录（当前）'])
      assert.match(await zh.textContent('#place-text') ?? '', /^Shijiazhuang：纬度 38\.0414，经度 114\.4786$/)
    } finally {
      await context.close()
    }
  })

  it('draws the root\'s own record as signed by the anchor itself', async () => {
    await lookUp('MA')
    await page.waitForSelector('body[data-loaded="MA"]', { timeout: 30_000 })
    assert.deepEqual(await page.$$eval('#chain li strong', els => els.map(e => e.textContent)), ['test-root', 'MA'])
    assert.match(await page.textContent('#chain li.holder') ?? '', /anchor's own key/)
  })

  it('says clearly when a code is malformed', async () => {
    await lookUp('MA.156.13x1')
    await page.waitForSelector('#message.error', { timeout: 30_000 })
    const text = await page.textContent('#message') ?? ''
    assert.match(text, /“MA\.156\.13x1” is not a valid code/)
    assert.equal(await page.isHidden('#result'), true)
    if (process.env.EXPLORER_SCREENSHOT !== undefined) await page.screenshot({ path: process.env.EXPLORER_SCREENSHOT.replace(/\.png$/, '-malformed.png') })
  })

  it('says clearly when a code is unknown', async () => {
    await lookUp('MA.156.1309')
    await page.waitForFunction(() => /No one holds/.test(document.getElementById('message')?.textContent ?? ''), undefined, { timeout: 60_000 })
    assert.match(await page.textContent('#message') ?? '', /No one holds the code MA\.156\.1309: it does not exist, and MA\.156 proved it/)
  })

  it('shows the offline proof QR when its node may sign one, and none on a resolver-only gateway', async () => {
    assert.equal(await page.isHidden('#proof'), true, 'a resolver cannot vouch for a code: no QR')
    const authority = await serveGateway(g.net.country)
    try {
      const other = await browser.newPage()
      other.on('pageerror', (err) => { pageErrors.push(err.message) })
      await other.goto(`${authority.url}/?code=${SJZ.code}`)
      await other.waitForSelector(`body[data-loaded="${SJZ.code}"]`, { timeout: 30_000 })
      assert.equal(await other.isVisible('#proof-img'), true)
      const src = await other.getAttribute('#proof-img', 'src')
      assert.match(src ?? '', /^blob:/)
      // large enough to scan from a screen: 4 CSS pixels per module at least, quiet zone included
      const size = await other.$eval('#proof-img', el => ({ modules: Number(el.getAttribute('data-modules')), width: (el as HTMLImageElement).getBoundingClientRect().width }))
      assert.ok(size.modules >= 21, `a QR code has at least 21 modules, got ${size.modules}`)
      assert.ok(size.width >= size.modules * 4, `${size.width} px for ${size.modules} modules`)
      await other.close()
    } finally {
      await authority.stop()
    }
  })

  it('opens a code from a link (?code=) in the printed form', async () => {
    await page.goto(`${g.gateway.url}/?code=${encodeURIComponent('MA.156.1301-*')}`)
    await page.waitForSelector(`body[data-loaded="${SJZ.code}"]`, { timeout: 30_000 })
    assert.equal(await page.textContent('#record-code'), SJZ.code)
  })

  it('reads a code from a picture of its QR code', async () => {
    const png = await QRCode.toBuffer(`${SJZ_SUB}-${checkCharacter(SJZ_SUB)}`, { width: 240 })
    await page.setInputFiles('#scan-input', { name: 'qr.png', mimeType: 'image/png', buffer: png })
    await page.waitForSelector(`body[data-loaded="${SJZ_SUB}"]`, { timeout: 30_000 })
    assert.equal(await page.textContent('#record-code'), SJZ_SUB)
  })

  it('ran without script errors or policy violations', () => {
    assert.deepEqual(pageErrors, [])
  })
})
