import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { SHARD_ENV, parseHostPort } from '../../../src/interfaces/simulator/shard-protocol.ts'
import { loadScenario } from '../../../src/interfaces/simulator/scenario.ts'

const root = fileURLToPath(new URL('../../../', import.meta.url))

interface Container { name: string, image: string, command?: string[], env?: Array<{ name: string, value?: string, valueFrom?: { fieldRef?: { fieldPath: string } } }>, ports?: Array<{ name: string, containerPort: number }> }
interface PodSpec { containers: Container[], restartPolicy: string }
interface K8sObject {
  apiVersion: string
  kind: string
  metadata: { name: string }
  spec: {
    clusterIP?: string
    selector?: Record<string, string>
    ports?: Array<{ name: string, port: number, targetPort: string | number }>
    completionMode?: string
    completions?: number
    parallelism?: number
    template?: { metadata: { labels: Record<string, string> }, spec: PodSpec }
  }
}

function manifest (): K8sObject[] {
  const docs = parseAllDocuments(readFileSync(join(root, 'deploy/k8s/sim-shards.yaml'), 'utf8'))
  for (const d of docs) assert.deepEqual(d.errors, [], 'the manifest is valid YAML')
  return docs.map(d => d.toJS() as K8sObject)
}

const flag = (command: string[], name: string): string | undefined => {
  const i = command.indexOf(name)
  return i < 0 ? undefined : command[i + 1]
}

describe('simulator: container image and Kubernetes manifest', () => {
  const objects = manifest()
  const byKind = (kind: string): K8sObject[] => objects.filter(o => o.kind === kind)
  const jobs = byKind('Job')
  const shardsJob = jobs.find(j => j.spec.completionMode === 'Indexed')
  const coordinatorJob = jobs.find(j => j !== shardsJob)
  const service = byKind('Service')[0]

  it('runs the shards as an indexed Job and the coordinator behind a headless Service', () => {
    assert.ok(shardsJob !== undefined && coordinatorJob !== undefined && service !== undefined)
    assert.equal(service.spec.clusterIP, 'None', 'headless: its DNS name resolves to the coordinator pod')
    const labels = coordinatorJob.spec.template?.metadata.labels ?? {}
    for (const [k, v] of Object.entries(service.spec.selector ?? {})) assert.equal(labels[k], v, `the Service selects the coordinator pod (${k})`)
    assert.notEqual(shardsJob.spec.template?.metadata.labels['app.kubernetes.io/component'], labels['app.kubernetes.io/component'], 'and not the shards')
    for (const job of jobs) assert.equal(job.spec.template?.spec.restartPolicy, 'Never')
  })

  it('agrees with the shard entry point and the coordinator command: file, env names, ports, shard count', () => {
    const shard = shardsJob?.spec.template?.spec.containers[0] as Container
    const coordinator = coordinatorJob?.spec.template?.spec.containers[0] as Container
    assert.equal(shard.image, coordinator.image, 'one image for both')
    const entry = shard.command?.find(a => a.endsWith('.ts')) ?? ''
    assert.equal(entry, 'src/interfaces/simulator/shard-main.ts')
    assert.ok(existsSync(join(root, entry)), `${entry} exists`)
    for (const e of shard.env ?? []) assert.ok((SHARD_ENV as readonly string[]).includes(e.name), `${e.name} is read by the shard entry point`)
    const names = (shard.env ?? []).map(e => e.name)
    assert.ok(names.includes('CITYCODE_SIM_COORDINATOR') && names.includes('CITYCODE_SIM_HOST'))
    assert.equal(shard.env?.find(e => e.name === 'CITYCODE_SIM_HOST')?.valueFrom?.fieldRef?.fieldPath, 'status.podIP', 'nodes listen on the pod IP')

    // the shards reach the coordinator at the Service's name and port, which is where it listens
    const target = parseHostPort(shard.env?.find(e => e.name === 'CITYCODE_SIM_COORDINATOR')?.value ?? '', 'CITYCODE_SIM_COORDINATOR')
    assert.equal(target.host, service?.metadata.name)
    const servicePort = service?.spec.ports?.[0]
    assert.equal(target.port, servicePort?.port)
    const command = coordinator.command ?? []
    assert.ok(existsSync(join(root, command.find(a => a.endsWith('main.ts')) ?? 'missing')), 'the coordinator runs the CLI')
    assert.deepEqual(command.slice(command.indexOf('sim'), command.indexOf('sim') + 2), ['sim', 'run'])
    assert.ok(command.includes('--external-shards'), 'the coordinator waits for the Job\'s shards instead of starting its own')
    const control = parseHostPort(flag(command, '--control') ?? '', '--control')
    const containerPort = coordinator.ports?.find(p => p.name === servicePort?.targetPort)
    assert.equal(control.port, containerPort?.containerPort, 'the Service targets the port the coordinator listens on')
    assert.equal(control.host, '0.0.0.0', 'listening on the pod network, not only loopback')

    const shards = Number(flag(command, '--shards'))
    assert.equal(shardsJob?.spec.completions, shards, '--shards equals the Job\'s completions')
    assert.equal(shardsJob?.spec.parallelism, shards, 'and every shard runs at once')
    const scenarioFile = command[command.indexOf('run') + 1] ?? ''
    assert.ok(loadScenario(join(root, scenarioFile)).cities.count >= shards, `${scenarioFile} is a valid scenario with enough cities`)
  })

  it('the Dockerfile copies files that exist and starts the shard entry point', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8')
    const copies = [...dockerfile.matchAll(/^COPY\s+(.+)$/gm)].map(m => (m[1] as string).trim().split(/\s+/).slice(0, -1)).flat()
    assert.ok(copies.length >= 5)
    for (const source of copies) assert.ok(existsSync(join(root, source)), `COPY ${source}: exists`)
    for (const needed of ['src', 'configs', 'package-lock.json']) assert.ok(copies.includes(needed), `the image holds ${needed}`)
    const entry = /^ENTRYPOINT\s+(\[.*\])$/m.exec(dockerfile)
    assert.ok(entry !== null)
    const argv = JSON.parse(entry[1] as string) as string[]
    assert.deepEqual(argv, (shardsJob?.spec.template?.spec.containers[0] as Container).command, 'the Job spells out the image\'s entry point')
    assert.match(dockerfile, /^EXPOSE 7070$/m)
    const from = /^FROM node:(\d+)/m.exec(dockerfile)
    assert.ok(Number(from?.[1]) >= 22, 'Node 22 or later runs the TypeScript sources directly')
  })
})
