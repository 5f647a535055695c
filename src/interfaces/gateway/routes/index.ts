import type { RouteModule } from '../context.ts'
import { authorityRoutes } from './authorities.ts'
import { codeRoutes } from './codes.ts'
import { explorerRoutes } from './explorer.ts'
import { logRoutes } from './logs.ts'
import { operationsRoutes } from './operations.ts'
import { proofRoutes } from './proofs.ts'

/** Every resource the gateway serves, one module each; `/openapi.json` is built from this list. */
export const routeModules: readonly RouteModule[] = [codeRoutes, proofRoutes, authorityRoutes, logRoutes, operationsRoutes, explorerRoutes]
