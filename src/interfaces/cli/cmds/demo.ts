import type { Command } from 'commander'
import { runDemo } from '../../demo/demo.ts'
import { runHandler } from '../output.ts'
import { untilSignal } from '../shutdown.ts'

export function registerDemo (program: Command): void {
  program.command('demo')
    .description('start a local network on loopback (root, 3 countries, 15 real cities) that applies, publishes and resolves')
    .option('--once', 'exit 0 when the demo is done instead of running until Ctrl-C')
    .option('--http <host:port>', 'serve the HTTP gateway and web explorer from the root node on this address (e.g. 127.0.0.1:8080)')
    .option('--resolver-config <file>', 'where to write a resolver config for this network (for citycode resolve -c)', 'out/demo-resolver.json')
    .action(async (opts: { once?: boolean, http?: string, resolverConfig: string }) => {
      await runHandler(async () => {
        const stop = untilSignal()
        try {
          return await runDemo({ once: opts.once === true, resolverConfig: opts.resolverConfig, ...(opts.http !== undefined ? { http: opts.http } : {}), print: (line) => { process.stdout.write(line + '\n') }, signal: stop.signal })
        } finally {
          stop.dispose()
        }
      })
    })
}
