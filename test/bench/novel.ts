/**
 * Novel cell types: one class is removed from a pair's reference, scNym (default preset) is
 * trained on the rest, and several "unknown" scores are compared by the AUROC with which they
 * separate the removed class's query cells from the others:
 * - msp: 1 − max softmax (today's score; temperature 1),
 * - entropy: −Σ p log p,
 * - energy: −logsumexp(logits) (logits = relu(X_scnym)·W + b of the output layer),
 * - centroid: Euclidean distance in X_scnym to the nearest reference-class centroid,
 * - centroid-cos: 1 − cosine similarity to the nearest reference-class centroid,
 * - knn: mean Euclidean distance in X_scnym to the 10 nearest of ≤ 5,000 reference cells,
 * - energy+knn: the mean of the two scores' ranks among the query cells,
 * - novelty: the model's own novelty score (obs scNym_novelty, core/src/novelty/), independent
 *   of the network: the distance to the nearest reference cells in the reference's principal
 *   components plus what they leave of the cell,
 * - energy+novelty: rank sums as above.
 *
 *   npm run bench -- --sections novel [--pairs tiny,kang_ifnb,pbmc_3p_to_5p] [--seeds 0]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auroc, initBackend, predictAnnData, readLabels, trainOnAnnData } from '@scnym/core';
import { openAnnDataFile } from '@scnym/core/node';
import { PYTHON } from '../helpers/paths.js';
import { pairFiles } from './pairs.js';

/** Classes removed per pair (2–3 each: an easy one, B, and a close one, NK or a monocyte). */
export const REMOVED: Record<string, string[]> = {
  tiny: ['B cells', 'CD14+ Monocytes', 'CD8 T cells'],
  kang_ifnb: ['B', 'NK', 'Dendritic'],
  pbmc_3p_to_5p: ['B', 'NK', 'Mono_CD14'],
  pbmc_5p_to_3p: ['B', 'NK', 'Mono_CD16'],
  pbmc_v2_to_v1: ['B', 'NK', 'Mono_CD14'],
};

export const SCORES = [
  'msp',
  'entropy',
  'energy',
  'centroid',
  'centroid-cos',
  'knn',
  'energy+knn',
  'novelty',
  'energy+novelty',
] as const;
type ScoreName = (typeof SCORES)[number];

const KNN = 10;
const KNN_REFERENCE_CAP = 5000;

export async function benchNovel(pairs: string[], seeds: number[]): Promise<void> {
  await initBackend();
  console.log(
    '\n### Novel cell types: AUROC of unknown scores (class removed from the reference)\n',
  );
  console.log(`| pair | removed | seed | n novel / known | ${SCORES.join(' | ')} |`);
  console.log(`|---|---|---|---|${SCORES.map(() => '---').join('|')}|`);
  const all: Record<ScoreName, number[]> = Object.fromEntries(SCORES.map((s) => [s, []])) as never;
  const perPair = new Map<string, Record<ScoreName, number[]>>();
  const dir = mkdtempSync(join(tmpdir(), 'scnym-bench-novel-'));
  try {
    for (const pair of pairs) {
      const removed = REMOVED[pair];
      if (!removed) throw new Error(`no classes to remove listed for pair '${pair}'`);
      const files = pairFiles(pair);
      for (const drop of removed) {
        const path = join(dir, `${pair}_no_${drop.replace(/\W/g, '_')}.h5ad`);
        writeWithout(files.reference, files.labelKey, drop, path);
        for (const seed of seeds) {
          const result = await runOnce(path, files.target, files.labelKey, drop, seed);
          const row = SCORES.map((s) => result.auroc[s].toFixed(3)).join(' | ');
          console.log(
            `| ${pair} | ${drop} | ${seed} | ${result.nNovel} / ${result.nKnown} | ${row} |`,
          );
          const p = perPair.get(pair) ?? (Object.fromEntries(SCORES.map((s) => [s, []])) as never);
          perPair.set(pair, p);
          for (const s of SCORES) {
            all[s].push(result.auroc[s]);
            p[s].push(result.auroc[s]);
          }
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  for (const [pair, p] of perPair)
    console.log(
      `| **${pair} mean** | | | | ${SCORES.map((s) => mean(p[s]).toFixed(3)).join(' | ')} |`,
    );
  console.log(`| **mean** | | | | ${SCORES.map((s) => mean(all[s]).toFixed(3)).join(' | ')} |`);
  console.log('');
}

function writeWithout(source: string, labelKey: string, drop: string, path: string): void {
  const py = spawnSync(
    PYTHON,
    [
      '-c',
      `import anndata
a = anndata.read_h5ad(${JSON.stringify(source)})
a = a[a.obs[${JSON.stringify(labelKey)}] != ${JSON.stringify(drop)}].copy()
a.obs[${JSON.stringify(labelKey)}] = a.obs[${JSON.stringify(labelKey)}].cat.remove_unused_categories()
a.write_h5ad(${JSON.stringify(path)})`,
    ],
    { encoding: 'utf8' },
  );
  if (py.status !== 0) throw new Error(py.stderr);
}

async function runOnce(
  referencePath: string,
  targetPath: string,
  labelKey: string,
  drop: string,
  seed: number,
): Promise<{ auroc: Record<ScoreName, number>; nNovel: number; nKnown: number }> {
  const reference = await openAnnDataFile(referencePath);
  const target = await openAnnDataFile(targetPath);
  try {
    const trained = await trainOnAnnData(reference, target, {
      labelKey,
      overrides: { seed },
    });
    // The network alone at temperature 1 (the card's temperature and linear head are not
    // passed), with the card's novelty reference.
    const model = { ...trained.model, card: { novelty: trained.card.novelty } };
    const q = await predictAnnData(model, target, { embedding: true });
    const r = await predictAnnData(model, reference, { embedding: true });
    const dim = q.embeddingDim;
    const nClasses = model.classNames.length;
    const truth = await readLabels(target, labelKey);
    const isNovel = Array.from(truth.codes, (c) => c >= 0 && truth.names[c] === drop);
    const refLabels = await readLabels(reference, labelKey);
    const classIndex = new Map(model.classNames.map((c, i) => [c, i]));
    const refCodes = Int32Array.from(refLabels.codes, (c) =>
      c < 0 ? -1 : (classIndex.get(refLabels.names[c]) ?? -1),
    );

    const kernel = model.network.params.output.kernel.dataSync() as Float32Array; // dim × nClasses
    const bias = model.network.params.output.bias.dataSync() as Float32Array;
    const n = q.nCells;
    const scores: Record<ScoreName, Float32Array> = Object.fromEntries(
      SCORES.map((s) => [s, new Float32Array(n)]),
    ) as never;
    const logits = new Float64Array(nClasses);
    let mismatched = 0;
    for (let i = 0; i < n; i++) {
      const p = q.probabilities.subarray(i * nClasses, (i + 1) * nClasses);
      let h = 0;
      for (const v of p) if (v > 0) h -= v * Math.log(v);
      scores.msp[i] = 1 - q.confidence[i];
      scores.entropy[i] = h;
      const e = q.embedding.subarray(i * dim, (i + 1) * dim);
      logits.set(bias);
      for (let d = 0; d < dim; d++) {
        const x = e[d];
        if (x <= 0) continue; // relu
        for (let c = 0; c < nClasses; c++) logits[c] += x * kernel[d * nClasses + c];
      }
      let max = -Infinity;
      let best = 0;
      for (let c = 0; c < nClasses; c++)
        if (logits[c] > max) {
          max = logits[c];
          best = c;
        }
      if (best !== q.codes[i]) mismatched++;
      let sum = 0;
      for (let c = 0; c < nClasses; c++) sum += Math.exp(logits[c] - max);
      scores.energy[i] = -(max + Math.log(sum));
    }
    if (mismatched > n * 0.001)
      throw new Error(
        `logits rebuilt from X_scnym disagree with the argmax on ${mismatched} cells`,
      );

    // Reference-class centroids in X_scnym.
    const centroids = new Float64Array(nClasses * dim);
    const counts = new Float64Array(nClasses);
    for (let j = 0; j < r.nCells; j++) {
      const c = refCodes[j];
      if (c < 0) continue;
      counts[c]++;
      for (let d = 0; d < dim; d++) centroids[c * dim + d] += r.embedding[j * dim + d];
    }
    for (let c = 0; c < nClasses; c++)
      for (let d = 0; d < dim; d++) centroids[c * dim + d] /= Math.max(1, counts[c]);
    const centroidNorm = new Float64Array(nClasses);
    for (let c = 0; c < nClasses; c++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += centroids[c * dim + d] ** 2;
      centroidNorm[c] = Math.sqrt(s);
    }
    for (let i = 0; i < n; i++) {
      const e = q.embedding.subarray(i * dim, (i + 1) * dim);
      let norm = 0;
      for (let d = 0; d < dim; d++) norm += e[d] * e[d];
      norm = Math.sqrt(norm);
      let bestD = Infinity;
      let bestCos = -Infinity;
      for (let c = 0; c < nClasses; c++) {
        let d2 = 0;
        let dot = 0;
        for (let d = 0; d < dim; d++) {
          const v = centroids[c * dim + d];
          d2 += (e[d] - v) ** 2;
          dot += e[d] * v;
        }
        bestD = Math.min(bestD, d2);
        bestCos = Math.max(bestCos, dot / (norm * centroidNorm[c] || 1));
      }
      scores.centroid[i] = Math.sqrt(bestD);
      scores['centroid-cos'][i] = 1 - bestCos;
    }

    // k nearest of a capped, evenly spaced reference sample.
    const step = Math.max(1, Math.ceil(r.nCells / KNN_REFERENCE_CAP));
    const sample: number[] = [];
    for (let j = 0; j < r.nCells; j += step) sample.push(j);
    const nearest = new Float64Array(KNN);
    for (let i = 0; i < n; i++) {
      const e = q.embedding.subarray(i * dim, (i + 1) * dim);
      nearest.fill(Infinity);
      for (const j of sample) {
        let d2 = 0;
        const base = j * dim;
        for (let d = 0; d < dim; d++) d2 += (e[d] - r.embedding[base + d]) ** 2;
        if (d2 >= nearest[KNN - 1]) continue;
        let k = KNN - 1;
        while (k > 0 && nearest[k - 1] > d2) {
          nearest[k] = nearest[k - 1];
          k--;
        }
        nearest[k] = d2;
      }
      let s = 0;
      for (const d2 of nearest) s += Math.sqrt(d2);
      scores.knn[i] = s / KNN;
    }

    const energyRank = ranks(scores.energy);
    const knnRank = ranks(scores.knn);
    for (let i = 0; i < n; i++) scores['energy+knn'][i] = energyRank[i] + knnRank[i];

    if (q.novelty.length !== n) throw new Error('the model wrote no novelty score');
    scores.novelty.set(q.novelty);
    const noveltyRank = ranks(scores.novelty);
    for (let i = 0; i < n; i++) scores['energy+novelty'][i] = energyRank[i] + noveltyRank[i];

    model.network.dispose();
    const nNovel = isNovel.filter(Boolean).length;
    return {
      auroc: Object.fromEntries(SCORES.map((s) => [s, auroc(scores[s], isNovel)])) as never,
      nNovel,
      nKnown: n - nNovel,
    };
  } finally {
    await reference.close();
    await target.close();
  }
}

/** Each value's rank (0 = smallest). */
function ranks(values: Float32Array): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort(
    (a, b) => values[a] - values[b],
  );
  const out = new Float64Array(values.length);
  order.forEach((i, r) => (out[i] = r));
  return out;
}
