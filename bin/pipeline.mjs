#!/usr/bin/env node
// `pipeline` once the package is linked: registers tsx so the TypeScript CLI runs as it is.
import 'tsx/esm';
await import('./pipeline.ts');
