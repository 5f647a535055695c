import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'

/** Something the runner starts when the workload begins and stops when it ends. */
export interface WorkloadProbe {
  start: () => Promise<void>
  stop: () => Promise<void>
}

/**
 * A probe over an inspector session of this process: `begin` starts the profiler, `end` stops it and
 * returns the profile, which is written to `file` as JSON.
 */
function inspectorProbe (file: string, begin: (session: Session) => Promise<void>, end: (session: Session) => Promise<unknown>): WorkloadProbe {
  const session = new Session()
  return {
    start: async () => {
      session.connect()
      await begin(session)
    },
    stop: async () => {
      const profile = await end(session)
      session.disconnect()
      await writeFile(file, JSON.stringify(profile))
    }
  }
}

/**
 * A CPU profile of the workload phase only, written as a `.cpuprofile` (Chrome DevTools, VS Code).
 * `node --cpu-prof` covers the whole process, so at 1000 nodes the build drowns the workload, and it
 * writes nothing when the run is interrupted; this profile is taken in-process over the window that
 * the figures come from.
 */
export function workloadCpuProfile (file: string, sampleIntervalUs = 1_000): WorkloadProbe {
  return inspectorProbe(file, async (session) => {
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: sampleIntervalUs })
    await session.post('Profiler.start')
  }, async (session) => (await session.post('Profiler.stop')).profile)
}

/**
 * Where the workload allocates, written as a `.heapprofile`: a sampling heap profile that keeps the
 * objects garbage collection already took (at 1000 nodes, collection was half of the CPU, so what
 * matters is what is allocated, not what stays). One sample per `sampleIntervalBytes` on average.
 */
export function workloadHeapProfile (file: string, sampleIntervalBytes = 256 * 1024): WorkloadProbe {
  return inspectorProbe(file, async (session) => {
    await session.post('HeapProfiler.enable')
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: sampleIntervalBytes,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true
    })
  }, async (session) => (await session.post('HeapProfiler.stopSampling')).profile)
}

/** Several probes as one: started in order, stopped in reverse. */
export function probes (list: readonly WorkloadProbe[]): WorkloadProbe {
  return {
    start: async () => { for (const p of list) await p.start() },
    stop: async () => { for (const p of [...list].reverse()) await p.stop() }
  }
}
