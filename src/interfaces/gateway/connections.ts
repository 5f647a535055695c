import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import type { GatewayConnectionLimits } from './constants.ts'
import type { GatewayMetrics } from './metrics.ts'
import { clientKey } from './rate-limit.ts'

/**
 * Caps the connections the HTTP server holds: in total (`server.maxConnections`: libuv closes the
 * rest as they are accepted) and per client address (a counter on 'connection', over the cap the
 * socket is destroyed at once), so a flood of connections that never read cannot take every file
 * descriptor of the process (libp2p's dials and the admin socket share them). Returns the open count
 * by address, for tests and status.
 */
export function guardConnections (server: Server, limits: Pick<GatewayConnectionLimits, 'maxConnections' | 'maxConnectionsPerAddress'>, metrics: GatewayMetrics): ReadonlyMap<string, number> {
  server.maxConnections = limits.maxConnections
  server.on('drop', () => { metrics.connectionRefused('total') })
  const open = new Map<string, number>()
  server.on('connection', (socket: Socket) => {
    const key = clientKey(socket.remoteAddress)
    const held = open.get(key) ?? 0
    if (held >= limits.maxConnectionsPerAddress) {
      metrics.connectionRefused('address')
      socket.destroy()
      return
    }
    open.set(key, held + 1)
    metrics.connection(1)
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1
      if (left <= 0) open.delete(key)
      else open.set(key, left)
      metrics.connection(-1)
    })
  })
  return open
}
