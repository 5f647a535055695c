import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { FastifyInstance } from 'fastify'
import type { RouteModule } from '../context.ts'
import { landOutlinePath } from '../land-outline.ts'

const here = new URL('../explorer/', import.meta.url)
/** The page runs only its own files and talks only to this gateway; the proof QR may be a data: image. */
const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; connect-src 'self'; img-src 'self' data: blob:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
const require = createRequire(import.meta.url)

/**
 * The page's own web fonts (Latin and Chinese names alike), from their npm packages: a machine with
 * no system fonts, a kiosk or a headless browser, would otherwise draw no text at all. Each
 * stylesheet's `./files/` references are served under FONT_FILES.
 */
const FONT_FILES = '/explorer/fonts/files/'
const FONT_STYLESHEETS = ['@fontsource/noto-sans/400.css', '@fontsource/noto-sans/700.css', '@fontsource/noto-sans-sc/400.css']
/** A font file name as the packages name them (no path, no traversal). */
const FONT_FILE_NAME = /^noto-sans(-sc)?-[a-z0-9-]+\.woff2?$/

function fontStylesheet (): Buffer {
  return Buffer.from(FONT_STYLESHEETS.map(sheet => readFileSync(require.resolve(sheet), 'utf8').replaceAll('url(./files/', `url(${FONT_FILES}`)).join('\n'))
}

function fontFile (name: string): Buffer | undefined {
  if (!FONT_FILE_NAME.test(name)) return undefined
  const pkg = name.startsWith('noto-sans-sc-') ? '@fontsource/noto-sans-sc' : '@fontsource/noto-sans'
  try {
    return readFileSync(new URL(`files/${name}`, `file://${require.resolve(`${pkg}/package.json`)}`))
  } catch {
    return undefined
  }
}

/** Static files of the page, read once: the page has no build step and loads nothing from elsewhere. */
function assets (): Record<string, { type: string, body: Buffer }> {
  return {
    '/explorer/fonts.css': { type: 'text/css; charset=utf-8', body: fontStylesheet() },
    '/': { type: 'text/html; charset=utf-8', body: readFileSync(new URL('index.html', here)) },
    '/explorer/explorer.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(new URL('explorer.js', here)) },
    '/explorer/explorer.css': { type: 'text/css; charset=utf-8', body: readFileSync(new URL('explorer.css', here)) },
    // QR decoding of a photo or camera frame, served from the package so the page works offline
    '/explorer/jsqr.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(require.resolve('jsqr/dist/jsQR.js')) },
    // the map's land outlines (land-outline.ts)
    '/explorer/land.json': { type: 'application/json; charset=utf-8', body: Buffer.from(JSON.stringify({ viewBox: '-180 -90 360 180', d: landOutlinePath() })) }
  }
}

export const explorerRoutes: RouteModule = {
  paths: {
    '/': { get: { summary: 'The web explorer: type or scan a code, see its record, chain of trust, children, history and place', responses: { 200: { description: 'HTML page', content: { 'text/html': {} } } } } }
  },

  register (app: FastifyInstance): void {
    for (const [url, asset] of Object.entries(assets())) {
      app.get(url, async (_request, reply) => await reply.type(asset.type).header('cache-control', 'no-cache')
        .header('content-security-policy', CONTENT_SECURITY_POLICY).send(asset.body))
    }
    // a browser fetches only the subsets of the Chinese font its text needs: read on demand, cached for long
    app.get(`${FONT_FILES}:name`, async (request, reply) => {
      const body = fontFile((request.params as { name: string }).name)
      if (body === undefined) return await reply.code(404).type('text/plain').send('no such font file')
      return await reply.type(request.url.endsWith('.woff') ? 'font/woff' : 'font/woff2').header('cache-control', 'public, max-age=31536000, immutable').send(body)
    })
  }
}
