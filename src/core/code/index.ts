export * from './grammar.ts'
export * from './check-character.ts'
