export * from './errors.ts'
export * from './text.ts'
export * from './bundle.ts'
export * from './absence.ts'
