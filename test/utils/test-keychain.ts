import type { KeyStoreInit } from '../../src/storage/keys.ts'

/**
 * Keychains made by tests derive with 1,000 iterations instead of 210,000 (~1 s per unlock on this
 * machine): in-process harnesses open many. Only through this explicit option; a node config cannot.
 */
export const TEST_KEYCHAIN: KeyStoreInit = { insecureTestIterations: 1_000 }
