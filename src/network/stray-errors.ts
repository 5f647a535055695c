/**
 * libp2p sometimes lets a failed dial's rejection go unhandled inside its dial queue (seen here:
 * `EncryptionFailedError` when a peer hangs up mid-handshake while hundreds of nodes share one
 * process). By default Node exits on an unhandled rejection, so one flaky peer would take a whole
 * node, or a whole simulation, down. Connection-level failures are routine in a p2p network: they
 * are counted and logged here; anything else is still fatal, so real bugs stay loud.
 */
const NETWORK_ERRORS = new Set([
  'EncryptionFailedError', 'ConnectionFailedError', 'StreamResetError', 'StreamStateError', 'StreamClosedError',
  'StreamAbortedError', 'UnexpectedEOFError', 'DialError', 'TimeoutError', 'AbortError', 'MuxerClosedError',
  'ConnectionClosedError', 'UnsupportedProtocolError', 'ProtocolError', 'InvalidMessageError'
])

export interface StrayErrorCounter { count: number }

let installed: StrayErrorCounter | undefined

export function tolerateStrayNetworkErrors (log: (message: string) => void = () => {}): StrayErrorCounter {
  if (installed !== undefined) return installed
  const counter: StrayErrorCounter = { count: 0 }
  const isNetworkFailure = (reason: unknown): boolean => {
    const name = (reason as Error | undefined)?.name ?? ''
    return NETWORK_ERRORS.has(name) || /ECONNRESET|EPIPE|stream that is closed/.test(String((reason as Error | undefined)?.message))
  }
  process.on('unhandledRejection', (reason) => {
    if (!isNetworkFailure(reason)) throw reason
    counter.count++
    log(`ignored a stray network failure: ${(reason as Error).name}: ${(reason as Error).message}`)
  })
  process.on('uncaughtException', (err, origin) => {
    if (isNetworkFailure(err)) {
      counter.count++
      log(`ignored a stray network failure (${origin}): ${err.name}: ${err.message}`)
      return
    }
    process.stderr.write(`fatal: ${err.stack ?? String(err)}\n`)
    process.exit(70)
  })
  installed = counter
  return counter
}
