/** The pure core: everything that defines what a code and a record are and when they are valid. */
export * from './errors.ts'
export * from './code/index.ts'
export * from './allocation/index.ts'
export * from './trust/index.ts'
export * from './record/index.ts'
export * from './crypto/signature.ts'
export * from './crypto/hash.ts'
export * from './codec/cbor.ts'
