#!/usr/bin/env node
// Node >= 22.18 runs the TypeScript sources directly (type stripping); see docs/ARCHITECTURE.md.
await import('../src/interfaces/cli/main.ts')
