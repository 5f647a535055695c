import assert from 'node:assert/strict'
import { setTimeout as timersSetTimeout } from 'node:timers'
import { setTimeout as sleepPromise } from 'node:timers/promises'
import { installVirtualClock, wallNow } from '../../../../src/interfaces/simulator/virtual-clock.ts'
import type { VirtualClock } from '../../../../src/interfaces/simulator/virtual-clock.ts'

// taken before any clock is installed, as a module that captured the real timer would
const capturedRealSetTimeout = globalThis.setTimeout
const realSetTimeout = globalThis.setTimeout
const START = Date.parse('2026-01-01T00:00:00.000Z')

describe('virtual clock', () => {
  let clock: VirtualClock | undefined
  const install = (init: Partial<Parameters<typeof installVirtualClock>[0]> = {}): VirtualClock => {
    clock = installVirtualClock({ startAt: START, maxSimulatedMs: 3_600_000, ...init })
    return clock
  }
  afterEach(() => { clock?.uninstall(); clock = undefined })

  it('fires timers in due order, nested ones included, at their simulated times', async () => {
    const c = install()
    const log: string[] = []
    await c.drive(async () => {
      const at = (label: string): void => { log.push(`${label}@${Math.round(c.elapsed())}`) }
      setTimeout(() => { at('30') }, 30)
      setTimeout(() => {
        at('10')
        setTimeout(() => { at('10+15') }, 15)
        setImmediate(() => { at('10+immediate') })
      }, 10)
      const iv = setInterval(() => { at('every 12'); if (c.elapsed() > 30) clearInterval(iv) }, 12)
      const cancelled = setTimeout(() => { at('cancelled') }, 5)
      clearTimeout(cancelled)
      await new Promise(resolve => setTimeout(resolve, 40))
      at('end')
    })
    // a timer or immediate of 0 ms set inside a timer's callback fires 1 ms later (fake-timers, as
    // node's own setTimeout(0)); docs/SIMULATION.md says so
    assert.deepEqual(log, ['10@10', '10+immediate@11', 'every 12@12', 'every 12@24', '10+15@25', '30@30', 'every 12@36', 'end@40'])
  })

  it('starts Date at the scenario instant and moves Date, performance.now and hrtime with the clock only', async () => {
    const c = install()
    assert.equal(Date.now(), START)
    assert.equal(new Date().toISOString(), '2026-01-01T00:00:00.000Z')
    const hr0 = process.hrtime.bigint()
    const p0 = performance.now()
    const wall0 = wallNow()
    await c.drive(async () => { await new Promise(resolve => setTimeout(resolve, 3_600_000 - 1)) })
    assert.equal(Date.now(), START + 3_600_000 - 1)
    assert.equal(performance.now() - p0, 3_600_000 - 1)
    assert.equal(process.hrtime.bigint() - hr0, BigInt(3_600_000 - 1) * 1_000_000n)
    assert.ok(wallNow() - wall0 < 5_000, 'an hour of simulated waiting takes no real hour')
  })

  it('CPU work costs no simulated time', async () => {
    const c = install()
    const times: number[] = []
    await c.drive(async () => {
      await new Promise(resolve => setTimeout(resolve, 10))
      times.push(c.elapsed())
      const until = wallNow() + 60
      while (wallNow() < until) { /* 60 ms of real CPU */ }
      await new Promise(resolve => setTimeout(resolve, 10))
      times.push(c.elapsed())
    })
    assert.deepEqual(times, [10, 20])
  })

  it('puts AbortSignal.timeout, node:timers and node:timers/promises on the clock', async () => {
    const c = install()
    const aborted = await c.drive(async () => {
      const signal = AbortSignal.timeout(250)
      await new Promise<void>(resolve => { signal.addEventListener('abort', () => { resolve() }) })
      return { at: c.elapsed(), reason: (signal.reason as DOMException).name }
    })
    assert.deepEqual(aborted, { at: 250, reason: 'TimeoutError' })
    const viaModules = await c.drive(async () => {
      const t0 = c.elapsed()
      await new Promise(resolve => timersSetTimeout(resolve, 1_000))
      await sleepPromise(500)
      return c.elapsed() - t0
    })
    assert.equal(viaModules, 1_500)
  })

  it('a real timer captured before the clock fails the run loudly, naming where it was created', async () => {
    const c = install({ traceRealTimers: true })
    await assert.rejects(c.drive(async () => {
      await new Promise(resolve => capturedRealSetTimeout(resolve, 200))
    }), (err: Error & { code?: string }) => {
      assert.equal(err.name, 'VirtualClockEscapeError')
      assert.equal(err.code, 'ERR_VIRTUAL_CLOCK_ESCAPE')
      assert.match(err.message, /1 real timer\(s\) pending/)
      assert.match(err.message, /virtual-clock\.test\.ts/, 'names the file that created it')
      return true
    })
  })

  it('a wait nothing can end is a stall, not a hang', async () => {
    const c = install()
    await assert.rejects(c.drive(async () => { await new Promise(() => {}) }), { name: 'VirtualClockStallError', message: /nothing is running and no timer is due/ })
  })

  it('a run past its simulated bound stops with a stall', async () => {
    const c = install({ maxSimulatedMs: 10_000 })
    await assert.rejects(c.drive(async () => {
      setInterval(() => {}, 1_000)
      await new Promise(() => {})
    }), { name: 'VirtualClockStallError', message: /has not ended after 10 simulated seconds/ })
  })

  it('one clock per process; uninstall gives the real clock back', () => {
    const c = install()
    assert.throws(() => installVirtualClock({ startAt: START, maxSimulatedMs: 1 }), { name: 'VirtualClockInstalledError' })
    c.uninstall()
    clock = undefined
    assert.equal(globalThis.setTimeout, realSetTimeout)
    assert.ok(Math.abs(Date.now() - START) > 1_000, 'Date is real again')
  })
})
