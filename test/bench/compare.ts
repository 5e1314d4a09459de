/**
 * `npm run bench -- --sections compare`: what one hand edit costs the page's main thread in the
 * viewer's Compare section at a million cells (SCNYM_BENCH_COMPARE_CELLS), on synthetic labels
 * (20 classes, known labels agreeing with 80% of them, 5% Unknown), median of 5:
 * - before: the page scored itself (a name per cell, then core's evaluatePredictions);
 * - now: the page posts the codes to the panel's worker (the structured clone postMessage makes
 *   on the sending thread, measured on a MessageChannel), and the worker scores them
 *   (compare-scores.ts: the same second, off the page).
 */
import { MessageChannel } from 'node:worker_threads';
import { evaluatePredictions } from '@scnym/core/scores';
import { scoreLabels } from '../../plugin/src/panels/transfer-labels/compare-scores.js';
import type { ScoreRequest } from '../../plugin/src/shared/worker-messages.js';

const CELLS = Number(process.env.SCNYM_BENCH_COMPARE_CELLS ?? 1_000_000);
const RUNS = 5;

export async function benchCompare(): Promise<void> {
  const names = Array.from({ length: 20 }, (_, k) => `type ${k}`);
  const truth = { codes: new Int32Array(CELLS), names };
  const labels = { codes: new Int32Array(CELLS), names };
  const confidence = new Float32Array(CELLS);
  let seed = 1;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < CELLS; i++) {
    truth.codes[i] = Math.floor(random() * 20);
    const r = random();
    labels.codes[i] = r < 0.05 ? -1 : r < 0.85 ? truth.codes[i] : Math.floor(random() * 20);
    confidence[i] = random();
  }
  // what the page held before: the known labels as names, read once when the column is chosen
  const truthNames = Array.from(truth.codes, (c) => names[c]);

  const before = median(() => {
    const predicted = new Array<string>(CELLS);
    for (let i = 0; i < CELLS; i++) predicted[i] = names[labels.codes[i]] ?? 'Unknown';
    evaluatePredictions({ truth: truthNames, predicted, confidence });
  });
  const { port1, port2 } = new MessageChannel();
  let received = 0;
  port2.on('message', () => received++);
  const post = median(() => {
    const request: ScoreRequest = { type: 'score', id: 1, truth, labels, confidence };
    port1.postMessage(request);
  });
  const worker = median(() => scoreLabels(truth, labels, confidence));
  await new Promise((ok) => setTimeout(ok, 100));
  port1.close();

  console.log(`## Compare: one hand edit at ${CELLS.toLocaleString('en-US')} cells\n`);
  console.log('| where the scoring runs | main thread (ms) | worker (ms) |');
  console.log('|---|---|---|');
  console.log(`| on the page (before) | ${before.toFixed(0)} | – |`);
  console.log(`| in the panel's worker (now) | ${post.toFixed(1)} | ${worker.toFixed(0)} |`);
  console.log(`\n(median of ${RUNS}; ${received} messages received)\n`);
}

function median(run: () => void): number {
  const times: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)];
}
