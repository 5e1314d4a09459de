/**
 * Label-transfer quality and wall time per shared pair, for the `original` preset (the baseline,
 * measured in the same run) and the project `default`: target accuracy, balanced accuracy,
 * ECE (10 bins) and seconds, per seed and as mean ± spread. The target's labels are only used
 * to score.
 */
import { predictAnnData, trainOnAnnData } from '../../core/src/annotate.js';
import { initBackend } from '../../core/src/backend.js';
import { openAnnDataFile } from '../../core/src/node/open.js';
import { readLabels } from '../../core/src/prepare.js';
import {
  accuracy,
  balancedAccuracy,
  expectedCalibrationError,
} from '../../core/src/train/metrics.js';
import type { PresetName, TrainOptions } from '../../core/src/train/options.js';
import { pairFiles } from './pairs.js';

interface Score {
  accuracy: number;
  balanced: number;
  ece: number;
  seconds: number;
  steps: number;
}

/** The original scNym measured on these pairs (docs/scnym-reference.md §13), for reference. */
const PUBLISHED: Record<string, string> = {
  kang_ifnb:
    'original scNym (PyTorch): acc 0.721/0.717/0.721, balanced 0.710, ECE 0.21–0.24; logistic regression 0.805',
  tiny: 'original scNym (PyTorch, batch 64): acc 0.780, balanced 0.772, ECE 0.16; logistic regression 0.815',
};

async function runOnce(pair: string, preset: PresetName, seed: number): Promise<Score> {
  const files = pairFiles(pair);
  const reference = await openAnnDataFile(files.reference);
  const target = await openAnnDataFile(files.target);
  try {
    const overrides: Partial<TrainOptions> = { seed };
    // The original's tiny figure was measured with batch 64 (256 > the whole training split).
    if (pair === 'tiny' && preset === 'original') overrides.batchSize = 64;
    const started = performance.now();
    const { model } = await trainOnAnnData(reference, target, {
      labelKey: 'cell_type',
      preset,
      overrides,
    });
    const prediction = await predictAnnData(model, target, { embedding: false });
    const seconds = (performance.now() - started) / 1000;
    const truth = await readLabels(target, 'cell_type');
    const classIndex = new Map(model.classNames.map((c, i) => [c, i]));
    const truthCodes = Int32Array.from(truth.codes, (c) => classIndex.get(truth.names[c]) ?? -1);
    model.network.dispose();
    return {
      accuracy: accuracy(truthCodes, prediction.codes),
      balanced: balancedAccuracy(truthCodes, prediction.codes),
      ece: expectedCalibrationError(truthCodes, prediction.codes, prediction.confidence, 10),
      seconds,
      steps: model.summary.steps,
    };
  } finally {
    await reference.close();
    await target.close();
  }
}

function meanSpread(values: number[]): string {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(
    values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length - 1),
  );
  return values.length > 1 ? `${mean.toFixed(3)} ± ${sd.toFixed(3)}` : mean.toFixed(3);
}

export async function benchAccuracy(pairs: string[], seeds: number[]): Promise<void> {
  const backend = await initBackend('auto');
  console.log(`## Label transfer (backend ${backend}; seeds ${seeds.join(', ')})\n`);
  for (const pair of pairs) {
    console.log(`### ${pair}  (${PUBLISHED[pair] ?? ''})`);
    console.log('| preset | seed | accuracy | balanced acc | ECE | steps | seconds |');
    console.log('|---|---|---|---|---|---|---|');
    const byPreset = new Map<PresetName, Score[]>();
    for (const preset of ['original', 'default'] as PresetName[]) {
      const scores: Score[] = [];
      for (const seed of seeds) {
        const s = await runOnce(pair, preset, seed);
        scores.push(s);
        console.log(
          `| ${preset} | ${seed} | ${s.accuracy.toFixed(3)} | ${s.balanced.toFixed(3)} | ${s.ece.toFixed(3)} | ${s.steps} | ${s.seconds.toFixed(1)} |`,
        );
      }
      byPreset.set(preset, scores);
      const col = (k: keyof Score) => meanSpread(scores.map((s) => s[k]));
      console.log(
        `| **${preset}** | mean | ${col('accuracy')} | ${col('balanced')} | ${col('ece')} | ${col('steps')} | ${col('seconds')} |`,
      );
    }
    const base = byPreset.get('original')!;
    const ours = byPreset.get('default')!;
    const mean = (xs: Score[], k: keyof Score) => xs.reduce((a, s) => a + s[k], 0) / xs.length;
    const accGain = mean(ours, 'accuracy') - mean(base, 'accuracy');
    const eceRatio = mean(ours, 'ece') / mean(base, 'ece');
    const timeRatio = mean(ours, 'seconds') / mean(base, 'seconds');
    console.log(
      `\ndefault vs original (same run): accuracy ${signed(accGain)}, ECE ×${eceRatio.toFixed(2)}, time ×${timeRatio.toFixed(2)}\n`,
    );
  }
}

function signed(v: number): string {
  return `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)} points`;
}
