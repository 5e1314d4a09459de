/**
 * Reference/query pairs of any size made from the demo's real cells (test/fixtures/
 * generate_scale.py: resampled, counts thinned, control → stimulated), cached under the system's
 * temporary folder by their parameters and the generator's hash, so that repeated test and bench
 * runs reuse them. Never inside the repository: a million-cell pair is gigabytes.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAnnDataFile } from '../../core/src/node/open.js';
import { FIXTURES, PYTHON, REPO } from './paths.js';

export interface ScaleOptions {
  referenceCells: number;
  queryCells: number;
  /** 6998 = the demo's real genes; fewer: the most-counted ones; more: pseudo-gene copies. */
  genes?: number;
  seed?: number;
}

export interface SideSummary {
  cells: number;
  nnz: number;
  nnz_per_cell: number;
  counts_per_cell: number;
  indptr_dtype: string;
}

export interface ScalePair {
  dir: string;
  /** obs `cell_type` holds the truth. */
  reference: string;
  /** obs `truth` holds the truth (no `cell_type`). */
  query: string;
  summary: { genes: number; seed: number; reference: SideSummary; query: SideSummary };
  /** Seconds spent generating now: 0 when the pair came from the cache. */
  generatedSeconds: number;
}

export const SCALE_CACHE = join(tmpdir(), 'scnym-scale-cache');
const GENERATOR = join(FIXTURES, 'generate_scale.py');

/** The pair for these options, generated on first use (the 1M-cell pairs take minutes). */
export function scalePair(options: ScaleOptions): ScalePair {
  const { referenceCells, queryCells, genes = 6998, seed = 0 } = options;
  const hash = createHash('sha256');
  hash.update(readFileSync(GENERATOR));
  for (const f of ['reference.zarr/.zmetadata', 'target.zarr/.zmetadata'])
    hash.update(readFileSync(join(REPO, 'core', 'demo', f)));
  const key = `r${referenceCells}-q${queryCells}-g${genes}-s${seed}-${hash.digest('hex').slice(0, 12)}`;
  const dir = join(SCALE_CACHE, key);
  const done = join(dir, 'summary.json');
  let generatedSeconds = 0;
  if (!existsSync(done)) {
    mkdirSync(SCALE_CACHE, { recursive: true });
    // Built under a name of its own, then renamed into place: an interrupted or concurrent run
    // never leaves a half-written pair where the next one would take it as complete.
    const staging = `${dir}.partial-${process.pid}-${Date.now()}`;
    const t0 = performance.now();
    const r = spawnSync(
      PYTHON,
      [
        GENERATOR,
        '--reference-cells',
        String(referenceCells),
        '--query-cells',
        String(queryCells),
        '--genes',
        String(genes),
        '--seed',
        String(seed),
        staging,
      ],
      { encoding: 'utf8', maxBuffer: 16 << 20 },
    );
    if (r.error) throw r.error;
    if (r.status !== 0) {
      rmSync(staging, { recursive: true, force: true });
      throw new Error(`generate_scale.py failed:\n${r.stderr}`);
    }
    generatedSeconds = (performance.now() - t0) / 1000;
    writeFileSync(join(staging, 'summary.json'), r.stdout.trim());
    try {
      renameSync(staging, dir);
    } catch (err) {
      // Another run finished the same pair first: keep its copy.
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(done)) throw err;
    }
  }
  return {
    dir,
    reference: join(dir, 'reference.zarr'),
    query: join(dir, 'query.zarr'),
    summary: JSON.parse(readFileSync(done, 'utf8')),
    generatedSeconds,
  };
}

export interface LabelCheck {
  nCells: number;
  /** Cells with a predicted label (not missing). */
  labelled: number;
  /** Fraction of cells whose predicted label equals the truth. */
  accuracy: number;
  /** The most frequent true label's share: what always guessing it would score. */
  majority: number;
}

/** Predicted labels (obs `predKey`) against the generator's truth, read with core's reader. */
export async function checkLabels(
  file: string,
  predKey = 'scNym',
  truthKey = 'truth',
): Promise<LabelCheck> {
  const a = await openAnnDataFile(file);
  try {
    const pred = await a.obsColumn(predKey);
    const truth = await a.obsColumn(truthKey);
    if (pred.kind !== 'categorical' || truth.kind !== 'categorical')
      throw new Error(`${file}: obs ${predKey} and ${truthKey} should be categorical`);
    // Truth code → predicted code of the same name (-1 where the model has no such class).
    const toPred = truth.categories.map((c) => pred.categories.indexOf(c));
    const perTruth = new Float64Array(truth.categories.length);
    let labelled = 0;
    let correct = 0;
    for (let i = 0; i < a.nObs; i++) {
      const p = pred.codes[i];
      const t = truth.codes[i];
      if (p >= 0) labelled++;
      if (t >= 0) perTruth[t]++;
      if (p >= 0 && t >= 0 && toPred[t] === p) correct++;
    }
    let majority = 0;
    for (const n of perTruth) if (n > majority) majority = n;
    return { nCells: a.nObs, labelled, accuracy: correct / a.nObs, majority: majority / a.nObs };
  } finally {
    await a.close();
  }
}

/** Cells whose obs `key` label differs between two files (read with core's reader). */
export async function differingLabels(a: string, b: string, key = 'scNym'): Promise<number> {
  const read = async (file: string) => {
    const f = await openAnnDataFile(file);
    try {
      const c = await f.obsColumn(key);
      if (c.kind !== 'categorical') throw new Error(`${file}: obs ${key} should be categorical`);
      return c;
    } finally {
      await f.close();
    }
  };
  const [x, y] = [await read(a), await read(b)];
  if (x.codes.length !== y.codes.length) return Math.max(x.codes.length, y.codes.length);
  let n = 0;
  for (let i = 0; i < x.codes.length; i++)
    if (x.categories[x.codes[i]] !== y.categories[y.codes[i]]) n++;
  return n;
}
