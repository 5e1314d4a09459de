#!/usr/bin/env -S node --single-threaded-gc
// Installed as `scnym`; the CLI itself is compiled TypeScript in ../dist (npm run build).
// --single-threaded-gc: V8's concurrent collector spent 10–15% of a core beside each
// prediction or training thread and gave no speed back; with every core predicting
// (--threads, shards) it took CPU from them (test/bench/predict-scale.ts measures both).
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('scnym: the CLI is not built yet; run `npm run build` first');
  process.exit(1);
}
await import(main.href);
