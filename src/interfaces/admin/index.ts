/**
 * The local admin channel of a running node (docs/spec/admin.md): the socket server the node
 * serves (`serveAdmin`), the client the CLI asks it with (`AdminClient`), and `openAdmin`, which
 * picks the running node's socket or a stopped node's data directory.
 */
export { serveAdmin } from './server.ts'
export type { AdminServer, AdminServerInit } from './server.ts'
export { AdminClient, RemoteAdminError } from './client.ts'
export { ADMIN_PROBE_TIMEOUT_MS, adminSocketOf, openAdmin } from './session.ts'
export type { AdminSession } from './session.ts'
export { AdminInternalError, AdminProtocolError, AdminSocketError, AdminUnavailableError } from './errors.ts'
export { ADMIN_PATH, ADMIN_PROTOCOL_VERSION, ADMIN_REQUEST_MAX_BYTES, ADMIN_SOCKET_NAME, defaultSocketPath } from './protocol.ts'
