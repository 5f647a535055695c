export * from './errors.ts'
export * from './content-id.ts'
export * from './catalogue.ts'
export * from './exchange.ts'
