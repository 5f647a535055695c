import { adminOperations } from '../../services/admin/index.ts'
import type { AdminOperations } from '../../services/admin/index.ts'
import { DataDirLockedError } from '../../storage/errors.ts'
import type { NodeConfig } from '../config/schema.ts'
import { closeNode, nodeFromConfig } from '../runtime/node-from-config.ts'
import { AdminClient } from './client.ts'
import { AdminUnavailableError } from './errors.ts'
import { defaultSocketPath } from './protocol.ts'

/** How long the running node gets to answer the first question before the data directory is tried instead. */
export const ADMIN_PROBE_TIMEOUT_MS = 5_000

/** Where an operator command's operations run: the running node, over its socket, or a node of the command's own on a stopped node's data directory. */
export interface AdminSession {
  readonly via: 'admin-socket' | 'data-dir'
  /** The socket path or the data directory. */
  readonly where: string
  readonly operations: AdminOperations
  close(): Promise<void>
}

/** The admin socket this config's node serves (`adminSocket`, else `<dataDir>/admin.sock`); undefined for a node that keeps nothing on disk. */
export function adminSocketOf (config: NodeConfig): string | undefined {
  return config.adminSocket ?? (config.dataDir !== undefined ? defaultSocketPath(config.dataDir) : undefined)
}

export interface OpenAdminOptions {
  env?: NodeJS.ProcessEnv
  /** @default ADMIN_PROBE_TIMEOUT_MS */
  probeTimeoutMs?: number
}

/**
 * Reaches the operations of the node in `config`: through its admin socket when it answers (the
 * node runs: its own authority decides, between live applications), else on a node built here over
 * its data directory (the node is stopped). A data directory still locked after the socket failed
 * to answer means the node runs but cannot be reached: AdminUnavailableError naming the socket.
 */
export async function openAdmin (config: NodeConfig, options: OpenAdminOptions = {}): Promise<AdminSession> {
  const socket = adminSocketOf(config)
  let silence: AdminUnavailableError | undefined
  if (socket !== undefined) {
    const client = new AdminClient(socket)
    try {
      await client.status({ timeoutMs: options.probeTimeoutMs ?? ADMIN_PROBE_TIMEOUT_MS })
      return { via: 'admin-socket', where: socket, operations: client, close: async () => {} }
    } catch (err) {
      if (!(err instanceof AdminUnavailableError)) throw err
      silence = err
    }
  }
  let node
  try {
    // no listening address: this node only reads and signs, the network knows the running one
    node = await nodeFromConfig(config, { listen: [], env: options.env })
  } catch (err) {
    if (err instanceof DataDirLockedError && socket !== undefined) {
      throw new AdminUnavailableError(`the node is running (its data directory ${config.dataDir ?? ''} is locked) but its admin socket ${socket} does not answer (${String(silence?.details.reason ?? 'no answer')})`, { path: socket, dataDir: config.dataDir, reason: silence?.details.reason })
    }
    throw err
  }
  const opened = node
  return {
    via: 'data-dir',
    where: config.dataDir ?? '(memory)',
    operations: adminOperations({ approval: config.authority.approval })({ node: opened }),
    close: async () => { await closeNode(opened) }
  }
}
