/** The name of the error `fn` throws, or undefined when it returns: for tables of expected failures. */
export function errorName (fn: () => unknown): string | undefined {
  try {
    fn()
    return undefined
  } catch (err) {
    return (err as Error).name
  }
}
