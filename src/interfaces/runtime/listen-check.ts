import { createServer } from 'node:net'
import { ListenAddressError, ListenAddressInUseError } from './errors.ts'

/** `/ip4/HOST/tcp/PORT` or `/ip6/HOST/tcp/PORT` with a fixed port: the only listen addresses another process can hold. */
const FIXED_TCP = /^\/(ip4|ip6)\/([^/]+)\/tcp\/(\d+)(?:\/|$)/

async function holdable (host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return await new Promise(resolve => {
    const server = createServer()
    server.once('error', (err: NodeJS.ErrnoException) => { resolve(err) })
    server.listen({ host, port, exclusive: true }, () => { server.close(() => { resolve(undefined) }) })
  })
}

/**
 * Refuses, before the node makes or unlocks any key, a fixed TCP port in `listen` that another
 * process holds: otherwise libp2p fails after the keychain was written, with a multi-line message
 * and a stack trace, and a first start leaves a new identity behind. Only EADDRINUSE is checked
 * here; anything else (a host that is not this machine's) is left for libp2p to report.
 */
export async function assertListenAddressesFree (listen: readonly string[]): Promise<void> {
  for (const [i, addr] of listen.entries()) {
    const m = FIXED_TCP.exec(addr)
    if (m === null) continue
    const port = Number(m[3])
    if (port === 0) continue
    const err = await holdable(m[2] as string, port)
    if (err?.code === 'EADDRINUSE') throw listenInUse(addr, i)
  }
}

/** The gateway's `http` address (HOST:PORT), checked the same way before the node's keys are touched. */
export async function assertHttpAddressFree (http: string | undefined): Promise<void> {
  if (http === undefined) return
  const at = http.lastIndexOf(':')
  const port = Number(http.slice(at + 1))
  if (at <= 0 || !Number.isInteger(port) || port === 0) return
  const err = await holdable(http.slice(0, at), port)
  if (err?.code === 'EADDRINUSE') throw new ListenAddressInUseError(`${http} (http in the config, or --http) is already in use by another process: stop it or choose another port`, { address: http, field: 'http' })
}

export function listenInUse (addr: string, index: number): ListenAddressInUseError {
  return new ListenAddressInUseError(`${addr} (listen.${index} in the config) is already in use by another process: stop it or choose another port`, { address: addr, field: `listen.${index}` })
}

/**
 * libp2p's own refusal of its listen addresses (another process took the port after the check
 * above, or an address that is not this machine's), as one typed line naming the address and its
 * field: libp2p's message spans lines and carries the inner error's stack. Undefined for any other error.
 */
export function fromLibp2pListenError (err: unknown, listen: readonly string[]): ListenAddressError | ListenAddressInUseError | undefined {
  if (!(err instanceof Error) || err.name !== 'UnsupportedListenAddressesError') return undefined
  const lines = err.message.split('\n').map(l => l.trim())
  for (const [index, addr] of listen.entries()) {
    const line = lines.find(l => l.startsWith(`${addr}:`))
    if (line === undefined) continue
    if (line.includes('EADDRINUSE')) return listenInUse(addr, index)
    const reason = line.slice(addr.length + 1).trim().replace(/^Error: /, '')
    return new ListenAddressError(`cannot listen on ${addr} (listen.${index} in the config): ${reason}`, { address: addr, field: `listen.${index}`, reason })
  }
  return new ListenAddressError(`cannot listen on the config's listen addresses: ${lines[0] ?? err.name}`, { field: 'listen' })
}
