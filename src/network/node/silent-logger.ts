import type { ComponentLogger, Logger } from '@libp2p/interface'

const noop = (): void => {}

function silentLogger (): Logger {
  const log: Logger = Object.assign(noop.bind(undefined), {
    error: noop,
    trace: noop,
    enabled: false,
    newScope: (): Logger => log
  })
  return log
}

/**
 * A logger that writes nothing and costs nothing to create. libp2p makes a logger for every
 * connection and stream; the default one builds a `debug` instance each time, even when logging is
 * off (2-3% of an idle simulation's CPU with hundreds of nodes in one process). Simulations use this
 * unless DEBUG is set.
 */
export function silentComponentLogger (): ComponentLogger {
  const log = silentLogger()
  return { forComponent: () => log }
}
