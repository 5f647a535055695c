export * from './rule.ts'
export * from './national-schemes.ts'
