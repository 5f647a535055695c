import { createHook } from 'node:async_hooks'
import { syncBuiltinESMExports } from 'node:module'
import FakeTimers from '@sinonjs/fake-timers'
import type { Clock } from '@sinonjs/fake-timers'

import { CitycodeError } from '../../core/errors.ts'

/**
 * The simulator's virtual clock (docs/SIMULATION.md, "Clocks"): every timer, `Date`,
 * `performance.now`, `process.hrtime` and `AbortSignal.timeout` of the process run on one simulated
 * clock, and a driver moves that clock to the next due timer only when the process has nothing else
 * to run. CPU work therefore costs no simulated time, and a run's figures are the protocol's, not
 * the machine's. Installed by the simulator's runner only, never by `citycode node start`.
 */

/** A real (not virtual) timer decided when simulated time would move: the run cannot be trusted. */
export class VirtualClockEscapeError extends CitycodeError {
  static override readonly code = 'ERR_VIRTUAL_CLOCK_ESCAPE'
}

/** Nothing left to run and no timer due, or simulated time ran past the run's bound: the run cannot end. */
export class VirtualClockStallError extends CitycodeError {
  static override readonly code = 'ERR_VIRTUAL_CLOCK_STALL'
}

/** The clock is already installed in this process (one simulation per process on a virtual clock). */
export class VirtualClockInstalledError extends CitycodeError {
  static override readonly code = 'ERR_VIRTUAL_CLOCK_INSTALLED'
}

// Taken when this module loads, before any fake is installed: the driver itself and the
// simulator's progress and cost figures keep the real clock.
const realSetImmediate = globalThis.setImmediate
const realNow = performance.now.bind(performance)
const realDateNow = Date.now
const realAbortSignalTimeout = AbortSignal.timeout.bind(AbortSignal)

/** Wall-clock milliseconds (monotonic), unaffected by the virtual clock. */
export const wallNow = (): number => realNow()
/** Wall-clock Unix milliseconds, unaffected by the virtual clock. */
export const wallDateNow = (): number => realDateNow()

/** Real resources that may be active while the simulation is idle without deciding simulated time. */
const IGNORED_RESOURCES = new Set(['TTYWrap', 'PipeWrap', 'Immediate', 'FSEventWrap', 'SignalWrap', 'StatWatcher', 'TCPServerWrap', 'TCPSocketWrap', 'ProcessWrap'])

export interface VirtualClockInit {
  /** Unix ms the simulated clock starts at (so dates inside records are the same run to run). */
  startAt: number
  /**
   * Simulated ms after which a run that has not ended is stuck (a wait that never resolves while
   * periodic timers keep firing).
   */
  maxSimulatedMs: number
  /**
   * Record where every real timer is created (an async hook: slow), so an escape names its source.
   * @default process.env.CITYCODE_TRACE_REAL_TIMERS === '1'
   */
  traceRealTimers?: boolean
  /** Real ms a real asynchronous operation (a thread-pool job) may stay pending before it is an error. @default 10000 */
  realWaitLimitMs?: number
}

export interface VirtualClock {
  /** Simulated ms since the clock was installed. */
  elapsed(): number
  /** How many timers the driver fired. */
  readonly fired: number
  /** Runs `work` with the driver moving the clock; resolves or rejects as `work` does. */
  drive<T>(work: () => Promise<T>): Promise<T>
  uninstall(): void
}

let installed: Clock | undefined

const realTick = async (): Promise<void> => { await new Promise<void>(resolve => { realSetImmediate(resolve) }) }

/**
 * Real asynchronous work the process is waiting for: thread-pool jobs, real timers, less
 * `hostTimers` real timers that are the host's.
 */
function pendingReal (hostTimers: number): string[] {
  let skip = hostTimers
  return process.getActiveResourcesInfo().filter(r => {
    if (IGNORED_RESOURCES.has(r)) return false
    if (r === 'Timeout' && skip > 0) { skip--; return false }
    return true
  })
}

/**
 * Installs the virtual clock for the whole process. Every module sees it from now on, including
 * `node:timers`, `node:timers/promises` and `node:perf_hooks` imports made before.
 */
export function installVirtualClock (init: VirtualClockInit): VirtualClock {
  if (installed !== undefined) throw new VirtualClockInstalledError('a virtual clock is already installed in this process')
  const clock = FakeTimers.withGlobal(globalThis).install({
    now: init.startAt,
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date', 'performance', 'hrtime'],
    shouldAdvanceTime: false,
    // periodic timers fire for ever: the driver has its own bound (maxSimulatedMs)
    loopLimit: Number.MAX_SAFE_INTEGER
  })
  installed = clock
  // ESM named imports of node:timers / node:perf_hooks are live bindings of the CommonJS exports
  // the fake replaced: sync them, or `import { setTimeout } from 'node:timers'` would stay real
  syncBuiltinESMExports()
  // AbortSignal.timeout uses an internal timer the fake does not reach: put it on the fake setTimeout
  Object.defineProperty(AbortSignal, 'timeout', {
    configurable: true,
    writable: true,
    value: (ms: number): AbortSignal => {
      const controller = new AbortController()
      setTimeout(() => { controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')) }, ms)
      return controller.signal
    }
  })
  const origin = performance.now()
  const trace = init.traceRealTimers ?? process.env.CITYCODE_TRACE_REAL_TIMERS === '1'
  const timerStacks = new Map<number, string>()
  const hook = trace
    ? createHook({
      init (asyncId, type) {
        if (type === 'Timeout') timerStacks.set(asyncId, new Error('real timer created').stack ?? '')
      },
      destroy (asyncId) { timerStacks.delete(asyncId) }
    }).enable()
    : undefined
  let fired = 0

  const escape = (pending: string[]): VirtualClockEscapeError => {
    const timers = pending.filter(p => p === 'Timeout').length
    // the first frame that is neither node's nor this hook's is the code that set the timer
    const sources = [...timerStacks.values()].map(s => s.split('\n').slice(1).find(l => !l.includes('node:') && !l.includes('virtual-clock.ts')) ?? '(unknown)')
    return new VirtualClockEscapeError(
      `${timers} real timer(s) pending while the simulation is idle: a timer outside the virtual clock would decide simulated time` +
      (sources.length > 0 ? `; created at ${[...new Set(sources)].map(s => s.trim()).join('; ')}` : '; set CITYCODE_TRACE_REAL_TIMERS=1 to name where they are created'),
      { pending: pending.join(', '), sources: sources.join('; ') }
    )
  }

  const vc: VirtualClock = {
    elapsed: () => performance.now() - origin,
    get fired () { return fired },
    async drive<T>(work: () => Promise<T>): Promise<T> {
      // real timers already set when the driver starts are the host's (a test runner's deadline, set
      // as its test awaits this call): outside the simulation, not an escape
      await realTick()
      const hostTimers = process.getActiveResourcesInfo().filter(r => r === 'Timeout').length
      let settled = false
      const outcome = work().finally(() => { settled = true })
      // a rejection is handled by the caller through `outcome`; keep it from counting as unhandled meanwhile
      outcome.catch(() => {})
      const realWaitLimit = init.realWaitLimitMs ?? 10_000
      while (!settled) {
        // the process is idle once a real macrotask turn finds no microtask and no real work left
        await realTick()
        if (settled) break
        const pending = pendingReal(hostTimers)
        if (pending.length > 0) {
          if (pending.includes('Timeout')) throw escape(pending)
          // a thread-pool job (file, crypto, DNS) is real work still running: wait for it, not the clock
          const since = realNow()
          while (pendingReal(hostTimers).length > 0 && realNow() - since < realWaitLimit) await realTick()
          const still = pendingReal(hostTimers)
          if (still.includes('Timeout')) throw escape(still)
          if (still.length > 0) throw new VirtualClockStallError(`real work pending for over ${realWaitLimit} ms: ${still.join(', ')}`, { pending: still.join(', ') })
          continue
        }
        if (clock.countTimers() === 0) throw new VirtualClockStallError('the simulation waits for something, but nothing is running and no timer is due', { simulatedMs: vc.elapsed() })
        if (vc.elapsed() > init.maxSimulatedMs) throw new VirtualClockStallError(`the run has not ended after ${Math.round(init.maxSimulatedMs / 1000)} simulated seconds`, { simulatedMs: vc.elapsed() })
        clock.next()
        fired++
      }
      return await outcome
    },
    uninstall () {
      hook?.disable()
      Object.defineProperty(AbortSignal, 'timeout', { configurable: true, writable: true, value: realAbortSignalTimeout })
      clock.uninstall()
      syncBuiltinESMExports()
      installed = undefined
    }
  }
  return vc
}
