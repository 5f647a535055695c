export * from './anchors.ts'
export * from './certificate.ts'
export * from './chain.ts'
export * from './revocation.ts'
