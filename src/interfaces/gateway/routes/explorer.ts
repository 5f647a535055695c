import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { FastifyInstance } from 'fastify'
import type { RouteModule } from '../context.ts'

const here = new URL('../explorer/', import.meta.url)
/** The page runs only its own files and talks only to this gateway; the proof QR may be a data: image. */
const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data: blob:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
const require = createRequire(import.meta.url)

/** Static files of the page, read once: the page has no build step and loads nothing from elsewhere. */
function assets (): Record<string, { type: string, body: Buffer }> {
  return {
    '/': { type: 'text/html; charset=utf-8', body: readFileSync(new URL('index.html', here)) },
    '/explorer/explorer.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(new URL('explorer.js', here)) },
    '/explorer/explorer.css': { type: 'text/css; charset=utf-8', body: readFileSync(new URL('explorer.css', here)) },
    // QR decoding of a photo or camera frame, served from the package so the page works offline
    '/explorer/jsqr.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(require.resolve('jsqr/dist/jsQR.js')) }
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
  }
}
