/**
 * Saliency over AnnData: which genes make the model call cells class A (or A rather than B).
 * Cells are read as log1p(CPM) on the model's genes, streamed block by block; only the chosen
 * cells' rows are densified, a batch at a time, so memory stays bounded by the batch size.
 *
 * Cells explained: those the model predicts as A (argmax, the default), or those whose obs
 * column `groupby` equals `group` (default A). Expected gradients draw reference cells from
 * `reference` (the training reference, where cells labelled A under the model's label key are
 * left out) or, without it, from the data itself (cells outside the explained group), as the
 * original's `source="all"` does.
 */
import { ScnymError, throwIfAborted } from '../errors.js';
import type { AnnData } from '../anndata/types.js';
import { takeRows, concatBlocks, gatherDense, type Csr, rowRange } from '../csr.js';
import type { LoadedModel, ModelCard } from '../model/files.js';
import {
  chooseMatrix,
  log1pCpmBlocks,
  readLabels,
  type ChosenMatrix,
  type Control,
} from '../prepare.js';
import { alignGenes } from '../preprocess.js';
import { queryGeneNames } from '../genes.js';
import { Rng } from '../random.js';
import type { InputKind } from '../vocabulary.js';
import * as tf from '@tensorflow/tfjs';
import { forward } from '../model/forward.js';
import { throttledYield } from '../event-loop.js';
import {
  DEFAULT_MAX_ROWS,
  expectedPasses,
  integratedPasses,
  MAX_SAMPLES,
  MAX_STEPS,
  runPasses,
  vanillaPasses,
  type DenseRows,
  type Objective,
  type Passes,
  type SaliencyMethod,
} from './gradients.js';
import { AttributionMean, rankGenes, type RankedGene } from './markers.js';

export interface SaliencyRequest {
  /** The class explained (one of the model's classes). */
  className: string;
  /** Default 'expected' (the original's current method). */
  method?: SaliencyMethod;
  /** Explain className rather than this class. */
  contrast?: string;
  /** obs column choosing the cells (default: cells predicted as className). */
  groupby?: string;
  /**
   * Explain exactly these cells (row indices, e.g. a lasso selection) toward className; expected
   * gradients then draw their reference cells from the other cells.
   */
  cells?: ArrayLike<number>;
  /** Value of `groupby` to explain (default className). */
  group?: string;
  /** 'auto' (default), 'X', 'raw/X' or 'layers/<name>'. */
  matrix?: string;
  /** What the matrix holds (default 'auto': decided from its values). */
  input?: InputKind;
  /** Names the model's genes are matched by: 'auto' (default), 'var_names' or a var column. */
  geneKey?: string;
  /** Integrated gradients path steps (default 50). */
  steps?: number;
  /** Expected gradients draws per cell (default 100, as the original). */
  samples?: number;
  /** Seeds the cell subsample and the expected-gradients draws (default 0). */
  seed?: number;
  /** At most this many cells are explained, a seeded random subset (default 1000). */
  maxCells?: number;
  /** Reference cells kept for expected gradients, a seeded random subset (default 2000). */
  referenceCells?: number;
  /** Rows per forward/backward pass (cells × steps or draws). */
  maxRows?: number;
  /** Length of the ranked lists (default 20). */
  top?: number;
  /** Also return every explained cell's attributions (cells × genes floats). */
  perCell?: boolean;
}

export type SaliencyModel = Pick<LoadedModel, 'network' | 'genes' | 'classNames'> & {
  card?: Pick<ModelCard, 'training'> & Partial<Pick<ModelCard, 'provenance'>>;
  /** Where the model was loaded from, for messages. */
  source?: string;
};

export interface SaliencyResult {
  method: SaliencyMethod;
  className: string;
  contrast: string | null;
  /** How cells were chosen and how many were explained. */
  cells: {
    by: 'predicted' | 'obs' | 'selection';
    key: string | null;
    group: string;
    nMatching: number;
    nExplained: number;
  };
  /** Model genes, the order of `scores`. */
  genes: string[];
  /** Mean attribution per gene over the explained cells. */
  scores: Float32Array;
  /** Genes pushing most toward className (over the contrast). */
  top: RankedGene[];
  /** Genes pushing most away from className (toward the contrast). */
  bottom: RankedGene[];
  parameters: { steps?: number; samples?: number; seed: number; output: 'logit' | 'probability' };
  /** Where expected gradients' reference cells came from. */
  reference: { source: string; nCells: number; excluded: string | null } | null;
  nMissingGenes: number;
  /** With `perCell`: data-row indices and their attributions (row-major, cells × genes). */
  perCell?: { rows: Int32Array; attributions: Float32Array };
}

/** Cells densified at once (their paths / draws are batched further by maxRows). */
const CELL_CHUNK = 64;

/**
 * The most a request may ask for, and why: generous for real use; beyond them a run takes days or
 * runs out of memory. The CLI's refusals quote these.
 */
export const SALIENCY_LIMITS = {
  samples: {
    max: MAX_SAMPLES,
    why: 'each draw is a forward and backward pass per cell; 10000 draws are already 10× less noisy than the default 100',
  },
  steps: {
    max: MAX_STEPS,
    why: 'each step is a forward and backward pass per cell; the path integral converges long before (the original uses 300)',
  },
  maxCells: {
    max: 1_000_000,
    why: 'the mean attribution over a random million cells is as good as over more, and each cell costs samples or steps passes',
  },
  top: { max: 100_000, why: 'no genome has more genes to list' },
} as const;

/** Per-cell attributions kept at most (cells × genes floats, 256 MiB). */
const MAX_PER_CELL_VALUES = 2 ** 26;

export async function saliencyAnnData(
  model: SaliencyModel,
  data: AnnData,
  request: SaliencyRequest,
  control: Control = {},
  reference: AnnData | null = null,
): Promise<SaliencyResult> {
  const method = request.method ?? 'expected';
  const target = classIndex(model, request.className, '--class');
  const contrast =
    request.contrast === undefined ? undefined : classIndex(model, request.contrast, '--contrast');
  if (contrast === target) {
    throw new ScnymError(`--contrast must differ from --class ('${request.className}')`);
  }
  const objective: Objective = { target, contrast };
  checkLimits(request);
  const seed = request.seed ?? 0;
  const rng = new Rng(seed);
  const g = model.genes.length;
  const maxRows = request.maxRows ?? DEFAULT_MAX_ROWS;

  const chosen = await chooseMatrix(data, request.matrix, control, request.input);
  const aligned = await alignToModel(model, data, chosen, request.geneKey, control);
  // One pause for the whole run: every pass is followed by a (throttled) yield to the event loop.
  const pause = throttledYield();

  // Which cells to explain.
  let matching: Int32Array;
  let by: SaliencyResult['cells']['by'] = 'predicted';
  const group = request.group ?? request.className;
  if (request.cells) {
    by = 'selection';
    matching = selectedRows(request.cells, chosen.reader.shape[0], data.source);
  } else if (request.groupby) {
    by = 'obs';
    const labels = await readLabels(data, request.groupby);
    const code = labels.names.indexOf(group);
    if (code < 0) {
      throw new ScnymError(
        `no cells have '${group}' in obs column '${request.groupby}'; its values are: ${labels.names.join(', ')}`,
        {
          file: data.source,
          element: `obs/${request.groupby}`,
          hint: 'pass one of them with --group',
          code: 'no-cells',
        },
      );
    }
    matching = Int32Array.from(
      rowRange(0, labels.codes.length).filter((i) => labels.codes[i] === code),
    );
  } else {
    const predicted = await argmaxAll(model, chosen, aligned, control, pause);
    matching = Int32Array.from(
      rowRange(0, predicted.length).filter((i) => predicted[i] === target),
    );
  }
  if (matching.length === 0) {
    throw new ScnymError(
      by === 'obs'
        ? `no cells to explain in group '${group}'`
        : by === 'selection'
          ? 'no cells were selected to explain'
          : `the model predicts no cell of ${data.source} as '${request.className}'`,
      {
        file: data.source,
        hint: 'choose cells by an obs column instead, e.g. --groupby cell_type',
        code: 'no-cells',
      },
    );
  }
  const explained = sampleSorted(matching, request.maxCells ?? 1000, rng);
  if (request.perCell && explained.length * g > MAX_PER_CELL_VALUES) {
    throw new ScnymError(
      `keeping each cell's attributions for ${explained.length} cells × ${g} genes needs ` +
        `${((explained.length * g * 4) / 2 ** 30).toFixed(1)} GiB`,
      {
        file: data.source,
        hint: `explain at most ${Math.floor(MAX_PER_CELL_VALUES / g)} cells with --per-cell (--max-cells), or leave --per-cell out`,
      },
    );
  }

  // Reference cells for expected gradients.
  let references: Csr | null = null;
  let referenceInfo: SaliencyResult['reference'] = null;
  if (method === 'expected') {
    const pool = await referencePool(model, data, reference, matching, request, rng, control);
    references = pool.cells;
    referenceInfo = { source: pool.source, nCells: pool.cells.nRows, excluded: pool.excluded };
  }

  // Attributions, block by block.
  control.onProgress?.('saliency', 0, explained.length);
  const mean = new AttributionMean(g);
  const keepRows: Int32Array[] = [];
  const keepValues: Float32Array[] = [];
  let blockStart = 0;
  let next = 0; // position in `explained`
  for await (const block of aligned.blocks('saliency-read')) {
    const blockEnd = blockStart + block.nRows;
    const local: number[] = [];
    while (next < explained.length && explained[next] < blockEnd) {
      local.push(explained[next] - blockStart);
      next++;
    }
    for (let c = 0; c < local.length; c += CELL_CHUNK) {
      throwIfAborted(control.signal);
      const part = local.slice(c, c + CELL_CHUNK);
      const rows: DenseRows = { values: gatherDense(block, part), nRows: part.length, nGenes: g };
      const done = mean.count;
      const attributions = await runPasses<Float32Array>(
        method === 'gradient'
          ? vanillaPasses(model.network, rows, objective, maxRows)
          : method === 'integrated'
            ? mapReturn(
                integratedPasses(model.network, rows, objective, { steps: request.steps, maxRows }),
                (r) => r.attributions,
              )
            : expectedPasses(model.network, rows, references!, objective, rng, {
                samples: request.samples,
                maxRows,
              }),
        {
          signal: control.signal,
          pause,
          onCells: (n) => control.onProgress?.('saliency', done + n, explained.length),
        },
      );
      mean.add(attributions);
      if (request.perCell) {
        keepRows.push(Int32Array.from(part, (r) => r + blockStart));
        keepValues.push(attributions);
      }
      control.onProgress?.('saliency', mean.count, explained.length);
    }
    blockStart = blockEnd;
  }

  const scores = mean.mean();
  const top = request.top ?? 20;
  const result: SaliencyResult = {
    method,
    className: request.className,
    contrast: request.contrast ?? null,
    cells: {
      by,
      key: request.groupby ?? null,
      group: by === 'obs' ? group : request.className,
      nMatching: matching.length,
      nExplained: explained.length,
    },
    genes: [...model.genes],
    scores,
    top: rankGenes(scores, model.genes, top, 'descending'),
    bottom: rankGenes(scores, model.genes, top, 'ascending'),
    parameters: {
      ...(method === 'integrated' ? { steps: request.steps ?? 50 } : {}),
      ...(method === 'expected' ? { samples: request.samples ?? 100 } : {}),
      seed,
      output: method === 'integrated' ? 'probability' : 'logit',
    },
    reference: referenceInfo,
    nMissingGenes: aligned.nMissing,
  };
  if (request.perCell) {
    result.perCell = {
      rows: concat(keepRows, Int32Array),
      attributions: concat(keepValues, Float32Array),
    };
  }
  return result;
}

function classIndex(model: SaliencyModel, name: string, flag: string): number {
  const index = model.classNames.indexOf(name);
  if (index < 0) {
    throw new ScnymError(
      `unknown class '${name}'; the model's classes are: ${model.classNames.join(', ')}`,
      { hint: `pass one of them to ${flag} (names are case-sensitive)` },
    );
  }
  return index;
}

interface Aligned {
  blocks: (stage: string) => AsyncGenerator<Csr>;
  nMissing: number;
}

/** Streams a file's matrix as log1p(CPM) on the model's genes (missing genes are zeros). */
async function alignToModel(
  model: SaliencyModel,
  ad: AnnData,
  chosen: ChosenMatrix,
  geneKey: string | undefined,
  control: Control,
  role = 'data',
): Promise<Aligned> {
  const genes = await queryGeneNames(model, ad, chosen.reader.name, geneKey, control, role);
  const same =
    genes.length === model.genes.length && genes.every((gene, i) => gene === model.genes[i]);
  const alignment = same
    ? null
    : alignGenes(model.genes, genes, undefined, { file: chosen.source, element: 'var' });
  if (alignment && alignment.nMissing > 0) {
    control.onWarning?.(
      `${alignment.nMissing} of the model's ${model.genes.length} genes are not in ${chosen.source} ` +
        `and are fed as zeros (e.g. ${alignment.missingExamples.slice(0, 5).join(', ')})`,
    );
  }
  return {
    blocks: (stage) =>
      log1pCpmBlocks(chosen, alignment?.columnMap ?? null, model.genes.length, stage, control),
    nMissing: alignment?.nMissing ?? 0,
  };
}

/** The model's argmax class for every cell (one streaming pass). */
async function argmaxAll(
  model: SaliencyModel,
  chosen: ChosenMatrix,
  aligned: Aligned,
  control: Control,
  pause: () => Promise<void>,
): Promise<Int32Array> {
  const out = new Int32Array(chosen.reader.shape[0]);
  let offset = 0;
  for await (const block of aligned.blocks('predicting')) {
    for (let start = 0; start < block.nRows; start += 512) {
      throwIfAborted(control.signal);
      const rows = rowRange(start, Math.min(block.nRows, start + 512));
      const codes = tf.tidy(() => {
        const x = tf.tensor2d(gatherDense(block, rows), [rows.length, block.nCols]);
        return tf.argMax(forward(model.network, x, { training: false }).logits, 1).dataSync();
      });
      out.set(codes, offset + start);
      await pause();
    }
    offset += block.nRows;
  }
  return out;
}

/** A selection as sorted, unique row indices, each checked to be a cell of the data. */
function selectedRows(cells: ArrayLike<number>, nCells: number, source: string): Int32Array {
  for (let i = 0; i < cells.length; i++) {
    const r = cells[i];
    if (!(Number.isInteger(r) && r >= 0 && r < nCells)) {
      throw new ScnymError(`cell ${r} is not a cell of the data (it has ${nCells})`, {
        file: source,
        code: 'bad-input',
      });
    }
  }
  const rows = Int32Array.from(cells).sort();
  let n = 0;
  for (let i = 0; i < rows.length; i++) if (n === 0 || rows[n - 1] !== rows[i]) rows[n++] = rows[i];
  return rows.subarray(0, n);
}

/** The request's sizes within SALIENCY_LIMITS (checked before any work). */
function checkLimits(request: SaliencyRequest): void {
  const sizes = {
    samples: request.samples,
    steps: request.steps,
    maxCells: request.maxCells,
    top: request.top,
  };
  for (const [name, value] of Object.entries(sizes)) {
    const { max, why } = SALIENCY_LIMITS[name as keyof typeof SALIENCY_LIMITS];
    if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= max)) {
      throw new ScnymError(`${name} must be an integer in 1…${max} (got ${value}): ${why}`);
    }
  }
}

/** The same passes, with their result mapped. */
function* mapReturn<T, U>(passes: Passes<T>, map: (value: T) => U): Passes<U> {
  return map(yield* passes);
}

/** Up to `max` of `rows` (sorted), chosen uniformly at random without replacement. */
function sampleSorted(rows: Int32Array, max: number, rng: Rng): Int32Array {
  if (rows.length <= max) return rows;
  const copy = Int32Array.from(rows);
  for (let i = 0; i < max; i++) {
    const j = i + rng.int(copy.length - i);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.subarray(0, max).sort();
}

/** Reference cells for expected gradients, as CSR on the model's genes. */
async function referencePool(
  model: SaliencyModel,
  data: AnnData,
  reference: AnnData | null,
  explainedGroup: Int32Array,
  request: SaliencyRequest,
  rng: Rng,
  control: Control,
): Promise<{ cells: Csr; source: string; excluded: string | null }> {
  const file = reference ?? data;
  const chosen = reference
    ? await chooseMatrix(reference, request.matrix, control, request.input)
    : await chooseMatrix(data, request.matrix, control, request.input);
  const aligned = reference
    ? await alignToModel(model, reference, chosen, request.geneKey, control, 'reference')
    : await alignToModel(model, data, chosen, request.geneKey, {});
  const n = chosen.reader.shape[0];
  let eligible: Int32Array;
  let excluded: string | null = null;
  if (reference) {
    const labelKey = model.card?.training?.labelKey;
    const columns = await reference.obsColumnNames();
    if (typeof labelKey === 'string' && columns.includes(labelKey)) {
      const labels = await readLabels(reference, labelKey);
      const code = labels.names.indexOf(request.className);
      eligible = Int32Array.from(rowRange(0, n).filter((i) => labels.codes[i] !== code));
      excluded = `obs ${labelKey} = ${request.className}`;
    } else {
      eligible = rowRange(0, n);
    }
  } else {
    const inGroup = new Uint8Array(n);
    for (const r of explainedGroup) inGroup[r] = 1;
    eligible = Int32Array.from(rowRange(0, n).filter((i) => !inGroup[i]));
    excluded = 'the explained cells';
  }
  if (eligible.length === 0) {
    control.onWarning?.(
      `no reference cells outside the explained group; using all of ${file.source}`,
    );
    eligible = rowRange(0, n);
    excluded = null;
  }
  const chosenRows = sampleSorted(eligible, request.referenceCells ?? 2000, rng);
  const parts: Csr[] = [];
  let blockStart = 0;
  let next = 0;
  for await (const block of aligned.blocks('reference-read')) {
    const blockEnd = blockStart + block.nRows;
    const local: number[] = [];
    while (next < chosenRows.length && chosenRows[next] < blockEnd) {
      local.push(chosenRows[next] - blockStart);
      next++;
    }
    if (local.length) parts.push(takeRows(block, local));
    blockStart = blockEnd;
  }
  return { cells: concatBlocks(parts), source: file.source, excluded };
}

function concat<T extends Int32Array | Float32Array>(parts: T[], Ctor: { new (n: number): T }): T {
  const out = new Ctor(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
