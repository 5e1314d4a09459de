#!/usr/bin/env node
// Installed as `scnym`; the CLI itself is compiled TypeScript in ../dist (npm run build).
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('scnym: the CLI is not built yet; run `npm run build` first');
  process.exit(1);
}
await import(main.href);
