/**
 * Label-transfer quality and wall time per shared pair, for the `original` preset (the baseline,
 * measured in the same run), the project `default`, and the linear baseline (core/src/linear:
 * class-balanced softmax regression on log1p(CP10k), CellTypist's recipe, and the same without
 * the per-gene standardisation) trained on the default's training split of the same genes:
 * target accuracy, balanced accuracy, ECE (10 bins, at the temperature fitted in training, as the
 * CLI predicts) and seconds, per seed and as mean ± spread,
 * then scNym against the linear models per pair. The target's labels are only used to score.
 */
import {
  initBackend,
  predictAnnData,
  predictLinear,
  prepareTraining,
  readLabels,
  resolveOptions,
  samplingOf,
  trainLinear,
  trainOnAnnData,
  type LinearOptions,
  type PresetName,
  type TrainOptions,
} from '@scnym/core';
import { openAnnDataFile } from '@scnym/core/node';
import { accuracy, balancedAccuracy, expectedCalibrationError } from '@scnym/core/scores';
import { pairFiles } from './pairs.js';

interface Score {
  accuracy: number;
  balanced: number;
  ece: number;
  seconds: number;
  /** Optimiser steps (scNym) or L-BFGS iterations (linear). */
  steps: number;
}

/** The original scNym measured on these pairs (docs/scnym-reference.md §13), for reference. */
const PUBLISHED: Record<string, string> = {
  kang_ifnb: 'original scNym (PyTorch): acc 0.721/0.717/0.721, balanced 0.710, ECE 0.21–0.24',
  tiny: 'original scNym (PyTorch, batch 64): acc 0.780, balanced 0.772, ECE 0.16',
};

/**
 * The scNym runs `--variants` may name (issue 17: do the consistency loss and the adversary earn
 * their place?): a preset, changes on top of it, and `members` seeds whose probabilities are
 * averaged (seed, seed + 1000, …). `+mixmatch` turns on the original's consistency weight (1.0)
 * ramped over the default's 30 epochs (`-ramp100`: the original's 100-epoch ramp, so it reaches
 * only ~0.3); `+dan` the original's adversary weight 0.1; `-confident` keeps only unlabelled cells
 * of teacher confidence ≥ 0.9 in the consistency loss and MixUp; `+pseudoN` N class-balanced
 * pseudolabel rounds (train/pseudolabel.ts: threshold 0.9, top half of each predicted class);
 * `+hvgN` the reference's N most variable shared genes (train/gene-selection.ts); `+dan-cw` the
 * adversary with its reference cells weighted to the query's predicted class mix; `-nolinear` the
 * network alone, without the default's linear head (linear/head.ts), `+linear30` that head at a
 * 0.3 share instead of 0.5.
 */
interface Variant {
  preset: PresetName;
  overrides: Partial<TrainOptions>;
  members?: number;
}
const MIXMATCH: Partial<TrainOptions> = { unsupMaxWeight: 1, rampEpochs: 30 };
export const VARIANTS: Record<string, Variant> = {
  original: { preset: 'original', overrides: {} },
  default: { preset: 'default', overrides: {} },
  'default+mixmatch': { preset: 'default', overrides: MIXMATCH },
  'default+mixmatch-ramp100': { preset: 'default', overrides: { unsupMaxWeight: 1 } },
  'default+dan': { preset: 'default', overrides: { danMaxWeight: 0.1 } },
  'default+mixmatch+dan': { preset: 'default', overrides: { ...MIXMATCH, danMaxWeight: 0.1 } },
  'default+mixmatch-confident': {
    preset: 'default',
    overrides: { ...MIXMATCH, pseudolabelMinConfidence: 0.9 },
  },
  'default-ensemble3': { preset: 'default', overrides: {}, members: 3 },
  'default-nolinear': { preset: 'default', overrides: { linearBlend: 0 } },
  'default+linear30': { preset: 'default', overrides: { linearBlend: 0.3 } },
  'default-nolinear-ensemble3': { preset: 'default', overrides: { linearBlend: 0 }, members: 3 },
  'default+dan-cw': { preset: 'default', overrides: { danMaxWeight: 0.1, danClassWeighted: true } },
  'default+pseudo1': { preset: 'default', overrides: { pseudolabelRounds: 1 } },
  'default+pseudo2': { preset: 'default', overrides: { pseudolabelRounds: 2 } },
  'default+hvg500': { preset: 'default', overrides: { topGenes: 500 } },
  'default+hvg1000': { preset: 'default', overrides: { topGenes: 1000 } },
  'default+hvg2000': { preset: 'default', overrides: { topGenes: 2000 } },
  'default+hvg2000+pseudo1': {
    preset: 'default',
    overrides: { topGenes: 2000, pseudolabelRounds: 1 },
  },
};

/** The linear models trained beside scNym, each on the default preset's training split. */
const LINEAR: { name: string; options: Partial<LinearOptions> }[] = [
  { name: 'linear (CellTypist)', options: {} },
  { name: 'linear, unscaled', options: { standardize: false } },
];

async function runOnce(
  pair: string,
  variant: string,
  seed: number,
): Promise<{ score: Score; trainRows: Int32Array }> {
  const files = pairFiles(pair);
  const reference = await openAnnDataFile(files.reference);
  const target = await openAnnDataFile(files.target);
  try {
    const { preset, members = 1 } = VARIANTS[variant];
    const started = performance.now();
    let sum: Float32Array | undefined;
    let steps = 0;
    let first: { classNames: string[]; trainRows: Int32Array } | undefined;
    for (let m = 0; m < members; m++) {
      const overrides: Partial<TrainOptions> = {
        ...VARIANTS[variant].overrides,
        seed: seed + 1000 * m,
      };
      // The original's tiny figure was measured with batch 64 (256 > the whole training split).
      if (pair === 'tiny' && preset === 'original') overrides.batchSize = 64;
      const { model, card } = await trainOnAnnData(reference, target, {
        labelKey: 'cell_type',
        preset,
        overrides,
      });
      // With the card: the softmax temperature fitted at training, as `scnym annotate` predicts.
      const prediction = await predictAnnData({ ...model, card }, target, { embedding: false });
      model.network.dispose();
      first ??= { classNames: model.classNames, trainRows: model.split.train };
      if (model.classNames.join('\t') !== first.classNames.join('\t'))
        throw new Error(`${pair}: ensemble members disagree on the classes`);
      steps += model.summary.steps;
      if (!sum) sum = Float32Array.from(prediction.probabilities);
      else for (let i = 0; i < sum.length; i++) sum[i] += prediction.probabilities[i];
    }
    const nClasses = first!.classNames.length;
    const nCells = sum!.length / nClasses;
    const codes = new Int32Array(nCells);
    const confidence = new Float32Array(nCells);
    for (let c = 0; c < nCells; c++) {
      let best = 0;
      for (let k = 1; k < nClasses; k++)
        if (sum![c * nClasses + k] > sum![c * nClasses + best]) best = k;
      codes[c] = best;
      confidence[c] = sum![c * nClasses + best] / members;
    }
    const seconds = (performance.now() - started) / 1000;
    const truth = await readLabels(target, 'cell_type');
    const classIndex = new Map(first!.classNames.map((c, i) => [c, i]));
    const truthCodes = Int32Array.from(truth.codes, (c) => classIndex.get(truth.names[c]) ?? -1);
    const score = scored(truthCodes, { codes, confidence }, seconds, steps);
    return { score, trainRows: first!.trainRows };
  } finally {
    await reference.close();
    await target.close();
  }
}

function scored(
  truth: Int32Array,
  prediction: { codes: Int32Array; confidence: Float32Array },
  seconds: number,
  steps: number,
): Score {
  return {
    accuracy: accuracy(truth, prediction.codes),
    balanced: balancedAccuracy(truth, prediction.codes),
    ece: expectedCalibrationError(truth, prediction.codes, prediction.confidence, 10),
    seconds,
    steps,
  };
}

/**
 * The linear models on the genes and training rows scNym's `default` run of this seed used (the
 * same files, sampling and split); seconds = reading + training + predicting, as for scNym.
 */
async function runLinear(pair: string, seed: number, trainRows: Int32Array): Promise<Score[]> {
  const files = pairFiles(pair);
  const reference = await openAnnDataFile(files.reference);
  const target = await openAnnDataFile(files.target);
  try {
    const scores: Score[] = [];
    for (const variant of LINEAR) {
      const started = performance.now();
      const options = resolveOptions('default', undefined, { seed });
      const prepared = await prepareTraining(reference, target, {
        labelKey: 'cell_type',
        sampling: samplingOf(options),
      });
      const query = prepared.data.unlabeled;
      if (!query || prepared.sampled.query) throw new Error(`${pair}: query sampled or missing`);
      const model = await trainLinear(prepared.data, trainRows, variant.options);
      const prediction = predictLinear(model, query);
      const seconds = (performance.now() - started) / 1000;
      const truth = await readLabels(target, 'cell_type');
      const classIndex = new Map(model.classNames.map((c, i) => [c, i]));
      const truthCodes = Int32Array.from(truth.codes, (c) => classIndex.get(truth.names[c]) ?? -1);
      scores.push(scored(truthCodes, prediction, seconds, model.summary.iterations));
    }
    return scores;
  } finally {
    await reference.close();
    await target.close();
  }
}

/** Mean ± sample sd (the mean alone for one value); `sign`: a leading + on gains. */
function meanSpread(values: number[], sign = false): string {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(
    values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length - 1),
  );
  const m = `${sign && mean >= 0 ? '+' : ''}${mean.toFixed(3)}`;
  return values.length > 1 ? `${m} ± ${sd.toFixed(3)}` : m;
}

/** `variants`: the scNym runs to score (keys of VARIANTS); `default` always runs (the linear
 * models train on its split). */
export async function benchAccuracy(
  pairs: string[],
  seeds: number[],
  variants: string[] = ['original', 'default'],
): Promise<void> {
  const unknown = variants.filter((v) => !(v in VARIANTS));
  if (unknown.length)
    throw new Error(
      `unknown variants ${unknown.join(', ')}; known: ${Object.keys(VARIANTS).join(', ')}`,
    );
  if (!variants.includes('default')) variants = ['default', ...variants];
  const backend = await initBackend('auto');
  const sectionStarted = performance.now();
  console.log(`## Label transfer (backend ${backend}; seeds ${seeds.join(', ')})\n`);
  const summary: { pair: string; runs: Map<string, Score[]> }[] = [];
  for (const pair of pairs) {
    console.log(`### ${pair}  (${PUBLISHED[pair] ?? ''})`);
    console.log('| model | seed | accuracy | balanced acc | ECE | steps | seconds |');
    console.log('|---|---|---|---|---|---|---|');
    const runs = new Map<string, Score[]>();
    const row = (name: string, seed: number | string, s: Score) =>
      console.log(
        `| ${name} | ${seed} | ${s.accuracy.toFixed(3)} | ${s.balanced.toFixed(3)} | ${s.ece.toFixed(3)} | ${s.steps} | ${s.seconds.toFixed(1)} |`,
      );
    const meanRow = (name: string) => {
      const scores = runs.get(name)!;
      const col = (k: keyof Score) => meanSpread(scores.map((s) => s[k]));
      console.log(
        `| **${name}** | mean | ${col('accuracy')} | ${col('balanced')} | ${col('ece')} | ${col('steps')} | ${col('seconds')} |`,
      );
    };
    for (const preset of variants) {
      runs.set(preset, []);
      for (const seed of seeds) {
        const { score, trainRows } = await runOnce(pair, preset, seed);
        runs.get(preset)!.push(score);
        row(preset, seed, score);
        if (preset !== 'default') continue;
        const linear = await runLinear(pair, seed, trainRows);
        LINEAR.forEach((v, i) => runs.set(v.name, [...(runs.get(v.name) ?? []), linear[i]]));
      }
      meanRow(preset);
    }
    for (const v of LINEAR) {
      runs.get(v.name)!.forEach((s, i) => row(v.name, seeds[i], s));
      meanRow(v.name);
    }
    const base = runs.get('original');
    const ours = runs.get('default')!;
    const mean = (xs: Score[], k: keyof Score) => xs.reduce((a, s) => a + s[k], 0) / xs.length;
    if (base) {
      const accGain = mean(ours, 'accuracy') - mean(base, 'accuracy');
      const eceRatio = mean(ours, 'ece') / mean(base, 'ece');
      const timeRatio = mean(ours, 'seconds') / mean(base, 'seconds');
      console.log(
        `\ndefault vs original (same run): accuracy ${signed(accGain)}, ECE ×${eceRatio.toFixed(2)}, time ×${timeRatio.toFixed(2)}\n`,
      );
    } else console.log('');
    summary.push({ pair, runs });
  }

  // scNym against the linear baseline, per pair: accuracy differences paired by seed.
  const names = [...variants, ...LINEAR.map((v) => v.name)];
  const pairsOfDiff = variants.flatMap((p) => LINEAR.map((v) => [p, v.name]));
  console.log(
    `### scNym against the linear baseline (target accuracy; seeds ${seeds.join(', ')})\n`,
  );
  console.log(
    `| pair | ${names.join(' | ')} | ${pairsOfDiff.map(([a, b]) => `${a} − ${b}`).join(' | ')} |`,
  );
  console.log(`|${'---|'.repeat(1 + names.length + pairsOfDiff.length)}`);
  for (const { pair, runs } of summary) {
    const acc = (name: string) => runs.get(name)!.map((s) => s.accuracy);
    const diff = ([a, b]: string[]) => {
      const [x, y] = [acc(a), acc(b)];
      return meanSpread(
        x.map((v, i) => v - y[i]),
        true,
      );
    };
    console.log(
      `| ${pair} | ${names.map((n) => meanSpread(acc(n))).join(' | ')} | ` +
        `${pairsOfDiff.map(diff).join(' | ')} |`,
    );
  }
  const wall = (performance.now() - sectionStarted) / 1000;
  console.log(`\nAccuracy section: ${wall.toFixed(0)} s wall.\n`);
}

function signed(v: number): string {
  return `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)} points`;
}
