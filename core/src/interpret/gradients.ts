/**
 * Input attributions of the classifier in eval mode (scnym-reference.md §8), on dense rows of
 * log1p(CPM) in the model's gene order:
 *
 * - vanilla gradient: ∇ₓ f(x), f = the target class logit (the original's Salience);
 * - integrated gradients: (x − b) ⊙ (1/M) Σₘ ∇f(b + (m/M)(x − b)), zero baseline b, f = the
 *   target's softmax probability (the original's IntegratedGradient); Σ attributions ≈ f(x) − f(b);
 * - expected gradients: mean over K draws of |x − x'| ⊙ ∇f(x' + α(x − x')), x' a random
 *   reference cell, α ~ U(0, 1), f = the target logit (the original's ExpectedGradient, which
 *   scales by |x − x'|; `signedDelta` uses x − x' as in Erion et al.).
 *
 * A contrast class B replaces f by f_A − f_B ("why A rather than B"). Eval mode makes rows
 * independent, so the gradient of the sum over a batch is every row's own gradient; paths and
 * draws are stacked into batches of at most `maxRows` rows, which bounds memory.
 *
 * Each method is a generator of passes (one forward/backward batch per step, see Passes): the
 * plain functions run it through at once; runPasses pauses between passes so that a long run
 * shows progress and stops promptly when cancelled.
 */
import * as tf from '@tensorflow/tfjs';
import { throwIfAborted } from '../errors.js';
import { gatherDense, type Csr } from '../csr.js';
import { BN_EPSILON } from '../model/config.js';
import type { BatchNormParams, ScnymNetwork } from '../model/network.js';
import { linear } from '../model/ops.js';
import type { Rng } from '../random.js';
import { throttledYield } from '../event-loop.js';

export type SaliencyMethod = 'gradient' | 'integrated' | 'expected';
export const SALIENCY_METHODS: readonly SaliencyMethod[] = ['gradient', 'integrated', 'expected'];

export interface Objective {
  /** Class index whose score is explained. */
  target: number;
  /** Explain target − contrast instead ("why target rather than contrast"). */
  contrast?: number;
  /** Score = class logit or softmax probability (method defaults as in the original). */
  output?: 'logit' | 'probability';
}

/** Dense rows: row-major `nRows × nGenes`. */
export interface DenseRows {
  values: Float32Array;
  nRows: number;
  nGenes: number;
}

/** Rows per forward/backward pass (cells × path steps or draws). */
export const DEFAULT_MAX_ROWS = 512;
/** Expected-gradients draws per cell at most: 100× the default, ~10× less sampling noise. */
export const MAX_SAMPLES = 10_000;
/** Integrated-gradients path steps at most: the sum converges long before (the original: 300). */
export const MAX_STEPS = 10_000;

/**
 * A method's work, one forward/backward pass (≤ maxRows rows) per step: each step yields how many
 * of the rows (cells) are finished, and the generator returns the result. Stopping it early
 * (return()) frees its tensors.
 */
export type Passes<T> = Generator<number, T, void>;

/** Runs every pass at once (small inputs; nothing else runs meanwhile). */
export function drain<T>(passes: Passes<T>): T {
  for (;;) {
    const step = passes.next();
    if (step.done) return step.value;
  }
}

/**
 * Runs the passes, pausing between them (`pause`, by default a yield every 50 ms) so that the
 * signal is checked and progress shown (`onCells`: rows finished so far) while they run.
 */
export async function runPasses<T>(
  passes: Passes<T>,
  options: {
    signal?: AbortSignal;
    onCells?: (done: number) => void;
    pause?: () => Promise<void>;
  } = {},
): Promise<T> {
  const pause = options.pause ?? throttledYield();
  try {
    for (;;) {
      throwIfAborted(options.signal);
      const step = passes.next();
      if (step.done) return step.value;
      options.onCells?.(step.value);
      await pause();
    }
  } finally {
    passes.return(undefined as T);
  }
}

/**
 * Eval-mode logits, differentiable with respect to the input: model/forward.ts's eval path
 * (same operations, same values) except that the first layer also back-propagates to x, which
 * training never needs and forward() skips.
 */
export function evalLogits(net: ScnymNetwork, x: tf.Tensor2D): tf.Tensor2D {
  const norm = (h: tf.Tensor2D, p: BatchNormParams) =>
    tf.batchNorm(h, p.movingMean, p.movingVariance, p.beta, p.gamma, BN_EPSILON) as tf.Tensor2D;
  let h = x;
  for (const block of net.params.blocks) {
    if (block.kind === 'plain') {
      h = linear(h, block.linear.kernel as tf.Tensor2D, block.linear.bias as tf.Tensor1D);
    } else {
      let r = linear(h, block.linearA.kernel as tf.Tensor2D, block.linearA.bias as tf.Tensor1D);
      r = tf.relu(norm(r, block.normA));
      r = linear(r, block.linearB.kernel as tf.Tensor2D, block.linearB.bias as tf.Tensor1D);
      h = tf.relu(tf.add(norm(r, block.normB), h)) as tf.Tensor2D;
    }
    h = tf.relu(norm(h, block.norm));
  }
  const out = net.params.output;
  return linear(h, out.kernel as tf.Tensor2D, out.bias as tf.Tensor1D);
}

/** f per row (a 1-D tensor): the objective's score. */
export function objectiveScores(net: ScnymNetwork, x: tf.Tensor2D, objective: Objective) {
  return tf.tidy(() => {
    const logits = evalLogits(net, x);
    const out = objective.output === 'probability' ? tf.softmax(logits) : logits;
    const column = (k: number) => tf.squeeze(tf.slice(out, [0, k], [-1, 1]), [1]);
    const score = column(objective.target);
    return (
      objective.contrast === undefined ? score : tf.sub(score, column(objective.contrast))
    ) as tf.Tensor1D;
  });
}

/** Scores f(x) of dense rows, as numbers. */
export function scoreRows(net: ScnymNetwork, rows: DenseRows, objective: Objective): Float32Array {
  checkObjective(net, objective);
  return tf.tidy(() => {
    const x = tf.tensor2d(rows.values, [rows.nRows, rows.nGenes]);
    return Float32Array.from(objectiveScores(net, x, objective).dataSync());
  });
}

/** ∇ₓ f for every row of x (same shape as x). */
function gradientTensor(net: ScnymNetwork, x: tf.Tensor2D, objective: Objective): tf.Tensor2D {
  return tf.grad((input: tf.Tensor) =>
    tf.sum(objectiveScores(net, input as tf.Tensor2D, objective)),
  )(x) as tf.Tensor2D;
}

function checkObjective(net: ScnymNetwork, o: Objective): void {
  const k = net.config.nClasses;
  const ok = (c: number) => Number.isInteger(c) && c >= 0 && c < k;
  if (!ok(o.target)) throw new RangeError(`target class ${o.target} is not in 0…${k - 1}`);
  if (o.contrast !== undefined && (!ok(o.contrast) || o.contrast === o.target)) {
    throw new RangeError(`contrast class ${o.contrast} must differ from the target, in 0…${k - 1}`);
  }
}

/** Vanilla saliency: ∇ₓ f(x) per row (f = logit unless the objective says otherwise). */
export function vanillaGradient(
  net: ScnymNetwork,
  rows: DenseRows,
  objective: Objective,
  maxRows = DEFAULT_MAX_ROWS,
): Float32Array {
  return drain(vanillaPasses(net, rows, objective, maxRows));
}

export function* vanillaPasses(
  net: ScnymNetwork,
  rows: DenseRows,
  objective: Objective,
  maxRows = DEFAULT_MAX_ROWS,
): Passes<Float32Array> {
  checkObjective(net, objective);
  const o: Objective = { output: 'logit', ...objective };
  const out = new Float32Array(rows.values.length);
  for (let start = 0; start < rows.nRows; start += maxRows) {
    const end = Math.min(rows.nRows, start + maxRows);
    const part = rows.values.subarray(start * rows.nGenes, end * rows.nGenes);
    const grad = tf.tidy(() =>
      gradientTensor(net, tf.tensor2d(part, [end - start, rows.nGenes]), o).dataSync(),
    );
    out.set(grad, start * rows.nGenes);
    yield end;
  }
  return out;
}

export interface IntegratedOptions {
  /** Path points m/M, m = 1…M (the original's M, default 300 there; 50 here). */
  steps?: number;
  /** One row of nGenes; default zeros. */
  baseline?: Float32Array;
  maxRows?: number;
}

export interface IntegratedResult {
  attributions: Float32Array;
  /** f(x) and f(baseline) per row: Σ attributions ≈ f(x) − f(baseline) (completeness). */
  fx: Float32Array;
  fBaseline: Float32Array;
}

/** Integrated gradients along the straight path from the baseline (f = probability by default). */
export function integratedGradients(
  net: ScnymNetwork,
  rows: DenseRows,
  objective: Objective,
  options: IntegratedOptions = {},
): IntegratedResult {
  return drain(integratedPasses(net, rows, objective, options));
}

export function* integratedPasses(
  net: ScnymNetwork,
  rows: DenseRows,
  objective: Objective,
  options: IntegratedOptions = {},
): Passes<IntegratedResult> {
  checkObjective(net, objective);
  const o: Objective = { output: 'probability', ...objective };
  const steps = positiveInteger(options.steps ?? 50, 'steps', MAX_STEPS);
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  const g = rows.nGenes;
  const baseline = options.baseline ?? new Float32Array(g);
  if (baseline.length !== g)
    throw new RangeError(`baseline has ${baseline.length} genes, not ${g}`);
  const cellsPerPass = Math.max(1, Math.floor(maxRows / steps));
  const stepsPerPass = Math.min(steps, maxRows);
  const attributions = new Float32Array(rows.values.length);

  const base = tf.tensor2d(baseline, [1, g]);
  try {
    for (let start = 0; start < rows.nRows; start += cellsPerPass) {
      const end = Math.min(rows.nRows, start + cellsPerPass);
      const c = end - start;
      const delta = tf.tidy(() =>
        tf.sub(tf.tensor2d(rows.values.subarray(start * g, end * g), [c, g]), base),
      );
      let total = tf.zeros([c, g]) as tf.Tensor2D;
      try {
        for (let m0 = 1; m0 <= steps; m0 += stepsPerPass) {
          const s = Math.min(stepsPerPass, steps - m0 + 1);
          const alphas = Float32Array.from({ length: s }, (_, i) => (m0 + i) / steps);
          const next = tf.tidy(() => {
            // [c, s, g] path points b + α(x − b), flattened to c·s rows.
            const points = tf.add(
              tf.reshape(base, [1, 1, g]),
              tf.mul(tf.reshape(delta, [c, 1, g]), tf.reshape(alphas, [1, s, 1])),
            );
            const grad = gradientTensor(net, tf.reshape(points, [c * s, g]) as tf.Tensor2D, o);
            return tf.add(total, tf.sum(tf.reshape(grad, [c, s, g]), 1)) as tf.Tensor2D;
          });
          total.dispose();
          total = next;
          if (m0 + s <= steps) yield start;
        }
        const sum = tf.tidy(() => tf.mul(delta, tf.div(total, steps)).dataSync() as Float32Array);
        attributions.set(sum, start * g);
      } finally {
        tf.dispose([delta, total]);
      }
      yield end;
    }
  } finally {
    base.dispose();
  }
  const fx = scoreRows(net, rows, o);
  const fBase = scoreRows(net, { values: baseline, nRows: 1, nGenes: g }, o)[0];
  return { attributions, fx, fBaseline: new Float32Array(rows.nRows).fill(fBase) };
}

export interface ExpectedOptions {
  /** Reference draws per cell (the original's n_batches; default 100). */
  samples?: number;
  /** Scale by x − x' (Erion et al.) instead of |x − x'| (the original). */
  signedDelta?: boolean;
  maxRows?: number;
}

/** Expected gradients against random reference cells (rows of `references`, model genes). */
export function expectedGradients(
  net: ScnymNetwork,
  rows: DenseRows,
  references: Csr,
  objective: Objective,
  rng: Rng,
  options: ExpectedOptions = {},
): Float32Array {
  return drain(expectedPasses(net, rows, references, objective, rng, options));
}

export function* expectedPasses(
  net: ScnymNetwork,
  rows: DenseRows,
  references: Csr,
  objective: Objective,
  rng: Rng,
  options: ExpectedOptions = {},
): Passes<Float32Array> {
  checkObjective(net, objective);
  if (references.nRows === 0) throw new RangeError('expected gradients need reference cells');
  if (references.nCols !== rows.nGenes) {
    throw new RangeError(`reference cells have ${references.nCols} genes, not ${rows.nGenes}`);
  }
  const o: Objective = { output: 'logit', ...objective };
  const samples = positiveInteger(options.samples ?? 100, 'samples', MAX_SAMPLES);
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  const g = rows.nGenes;
  const cellsPerPass = Math.max(1, Math.floor(maxRows / samples));
  const drawsPerPass = Math.min(samples, maxRows);
  const attributions = new Float32Array(rows.values.length);

  for (let start = 0; start < rows.nRows; start += cellsPerPass) {
    const end = Math.min(rows.nRows, start + cellsPerPass);
    const c = end - start;
    // Each cell's draws (references, then α) in cell order, so batching never changes them;
    // c · samples ≤ max(maxRows, MAX_SAMPLES) values.
    const allRefs = new Int32Array(c * samples);
    const allAlphas = new Float32Array(c * samples);
    for (let i = 0; i < c; i++) {
      for (let j = 0; j < samples; j++) allRefs[i * samples + j] = rng.int(references.nRows);
      for (let j = 0; j < samples; j++) allAlphas[i * samples + j] = rng.uniform();
    }
    const x = tf.tensor2d(rows.values.subarray(start * g, end * g), [c, g]);
    let total = tf.zeros([c, g]) as tf.Tensor2D;
    try {
      for (let k0 = 0; k0 < samples; k0 += drawsPerPass) {
        const s = Math.min(drawsPerPass, samples - k0);
        // Cell-major: row i·s + j is draw k0 + j of cell i.
        const refRows = new Int32Array(c * s);
        const alphas = new Float32Array(c * s);
        for (let i = 0; i < c; i++) {
          refRows.set(allRefs.subarray(i * samples + k0, i * samples + k0 + s), i * s);
          alphas.set(allAlphas.subarray(i * samples + k0, i * samples + k0 + s), i * s);
        }
        const next = tf.tidy(() => {
          const ref = tf.reshape(tf.tensor2d(gatherDense(references, refRows), [c * s, g]), [
            c,
            s,
            g,
          ]);
          const delta = tf.sub(tf.reshape(x, [c, 1, g]), ref);
          const points = tf.add(ref, tf.mul(tf.reshape(alphas, [c, s, 1]), delta));
          const grad = tf.reshape(
            gradientTensor(net, tf.reshape(points, [c * s, g]) as tf.Tensor2D, o),
            [c, s, g],
          );
          const scale = options.signedDelta ? delta : tf.abs(delta);
          return tf.add(total, tf.sum(tf.mul(scale, grad), 1)) as tf.Tensor2D;
        });
        total.dispose();
        total = next;
        if (k0 + s < samples) yield start;
      }
      const mean = tf.tidy(() => tf.div(total, samples).dataSync() as Float32Array);
      attributions.set(mean, start * g);
    } finally {
      total.dispose();
      x.dispose();
    }
    yield end;
  }
  return attributions;
}

function positiveInteger(n: number, name: string, max: number): number {
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new RangeError(`${name} must be an integer in 1…${max} (got ${n})`);
  }
  return n;
}
