/**
 * Graceful shutdown: the first SIGINT/SIGTERM aborts the returned signal so the command stops its
 * nodes cleanly; a second one forces exit.
 */
export function untilSignal (): { signal: AbortSignal, dispose: () => void } {
  const controller = new AbortController()
  let count = 0
  const onSignal = (name: NodeJS.Signals): void => {
    count++
    if (count === 1) {
      process.stderr.write(`\n${name}: stopping (again to force)\n`)
      controller.abort()
    } else {
      process.exit(130)
    }
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }
}
