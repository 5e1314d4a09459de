/**
 * Prediction past one machine: `predictShard` predicts shard i of N of a query (contiguous rows
 * cut at the store's chunk boundaries, row-ranges.ts) into a shard file of its own
 * (shard-file.ts); `mergeShards` checks that the shards come from one model and one query and
 * cover every row once, then writes the keys into the query all at once, exactly as a
 * single-process predict would have. Any scheduler runs the shards: a Slurm job array, a
 * Kubernetes indexed job, a Nextflow process.
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { AnnData } from '../anndata/types.js';
import { NotFoundError, ScnymError, throwIfAborted } from '../errors.js';
import { modelToFiles, type LoadedModel } from '../model/files.js';
import { PredictionAssembly, splitRows, type RowRange } from '../row-ranges.js';
import { predictionOutput, type PredictionOutput } from '../workflow/annotate.js';
import { layerControl, type WorkflowControl } from '../workflow/events.js';
import { loadModelDir } from './model-dir.js';
import { predictFileRows, type RowsRequest } from './predict-threads.js';
import {
  openShardFile,
  SHARD_EXTENSION,
  SHARD_FORMAT_VERSION,
  shardTarget,
  writeShardFile,
  type ShardFile,
  type ShardHeader,
} from './shard-file.js';
import { checkOutput } from './targets.js';
import { checkOutputs, withFiles } from './workflow.js';
import { writeAnnotationsToFile } from './write-file.js';

/** Shard `index` (0-based) of `count`. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** Refuses a shard spec that is not 0 ≤ index < count. */
export function checkShardSpec(spec: ShardSpec): void {
  const { index, count } = spec;
  if (!(Number.isInteger(count) && count >= 1 && Number.isInteger(index) && index >= 0)) {
    throw new RangeError(`a shard is i/N with integers 0 ≤ i < N (got ${index}/${count})`);
  }
  if (index >= count) {
    throw new ScnymError(
      `shard ${index}/${count} does not exist: shards are numbered 0…${count - 1}`,
      {
        code: 'bad-input',
        hint: 'Slurm: --array=0-(N-1) and --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT',
      },
    );
  }
}

/** The rows of shard `spec`: the query's rows cut into `count` parts at chunk boundaries. */
export function shardRows(nRows: number, spec: ShardSpec, alignRow?: (row: number) => number) {
  checkShardSpec(spec);
  return splitRows({ start: 0, end: nRows }, spec.count, alignRow)[spec.index];
}

/** `out` itself when it names a shard file, else the shard's file inside the folder `out`. */
export function shardFilePath(out: string, spec: ShardSpec): string {
  if (out.endsWith(SHARD_EXTENSION)) return out;
  const width = String(spec.count - 1).length;
  const pad = (n: number) => String(n).padStart(width, '0');
  return join(out, `shard-${pad(spec.index)}-of-${spec.count}${SHARD_EXTENSION}`);
}

/** Of the model as files: the same for every shard that loads the same model. */
export function modelFingerprint(files: Map<string, Uint8Array>): string {
  const hash = createHash('sha256');
  for (const name of [...files.keys()].sort()) {
    hash.update(`${name}\0${files.get(name)!.length}\0`);
    hash.update(files.get(name)!);
  }
  return hash.digest('hex');
}

/** Of a query's cells, its genes and the matrix predicted: what the rows of a shard refer to. */
export async function queryFingerprint(query: AnnData, matrix: string): Promise<string> {
  const hash = createHash('sha256');
  const reader = await query.matrix(matrix);
  hash.update(JSON.stringify({ matrix, shape: reader.shape, nnz: reader.nnz ?? null }));
  for (const names of [await query.obsNames(), await query.matrixVarNames(matrix)]) {
    hash.update(`\0${names.length}\0`);
    // In slices: one update per name would be slow at 1M cells, one string too large.
    for (let i = 0; i < names.length; i += 65_536) {
      hash.update(names.slice(i, i + 65_536).join('\0') + '\0');
    }
  }
  return hash.digest('hex');
}

export interface ShardResult extends PredictionOutput {
  /** The shard file written. */
  written: string;
  rows: RowRange;
  shard: ShardSpec;
}

/**
 * Predicts shard `request.shard` of `query` with a model folder (or a loaded model) and writes
 * its outputs to `out`: a `.scnym-shard` file, or a folder (then `shard-I-of-N.scnym-shard`
 * inside it). The query is not changed; `mergeShards` writes it once every shard is there.
 */
export async function predictShard(
  paths: { model: string | LoadedModel; query: string; out: string; overwrite?: boolean },
  request: Omit<RowsRequest, 'rows'> & { shard: ShardSpec },
  control: WorkflowControl = {},
): Promise<ShardResult> {
  checkShardSpec(request.shard);
  const modelDir = typeof paths.model === 'string' ? paths.model : undefined;
  const inputs = [paths.query, ...(modelDir ? [modelDir] : [])];
  const file = shardFilePath(paths.out, request.shard);
  await checkOutput(shardTarget(file, inputs, paths.overwrite));
  const model = typeof paths.model === 'string' ? await loadModelDir(paths.model) : paths.model;
  try {
    const files = await modelToFiles(model.network, model.card);
    const { output, fingerprint } = await withFiles([paths.query], control, async ([query]) => {
      const ad = query as AnnData;
      const output = await predictFileRows(
        { ...model, source: modelDir },
        ad,
        paths.query,
        request,
        control,
        (reader) => shardRows(reader.shape[0], request.shard, reader.alignRow?.bind(reader)),
        files,
      );
      return { output, fingerprint: await queryFingerprint(ad, output.matrix) };
    });
    const { prediction } = output;
    const header: ShardHeader = {
      format: 'scnym-shard',
      formatVersion: SHARD_FORMAT_VERSION,
      shard: request.shard,
      rows: output.rows,
      nObs: output.nObs,
      query: { file: paths.query, fingerprint, matrix: output.matrix },
      model: { source: modelDir ?? null, fingerprint: modelFingerprint(files) },
      output: {
        keyAdded: request.keyAdded ?? null,
        unknownThreshold: output.unknownThreshold ?? null,
        embedding: prediction.embeddingDim > 0,
      },
      card: model.card,
      classNames: prediction.classNames,
      embeddingDim: prediction.embeddingDim,
      noveltyDim: prediction.novelty.length > 0 ? 1 : 0,
      nMissingGenes: prediction.nMissingGenes,
      created: new Date().toISOString(),
    };
    throwIfAborted(control.signal);
    control.onEvent?.({ type: 'progress', stage: 'saving', done: 0, total: 1 });
    await writeShardFile(file, header, prediction, {
      inputs,
      overwrite: paths.overwrite,
      signal: control.signal,
      onNotice: layerControl(control).onNotice,
    });
    control.onEvent?.({ type: 'progress', stage: 'saving', done: 1, total: 1 });
    return { ...output, written: file, shard: request.shard };
  } finally {
    if (modelDir) model.network.dispose();
  }
}

export interface MergeResult extends PredictionOutput {
  /** The file that now holds the predictions (the query, or `out`). */
  written: string;
  /** The shard files merged, in row order. */
  shards: string[];
  /** The prefix of the keys written (the shards' --key-added). */
  keyAdded: string | undefined;
}

/**
 * Puts shard files (or folders of them) back together into `query` (or a copy at `out`): they
 * must come from the same model and the same query, and cover every row exactly once. The keys
 * are written all at once, as `predictFiles` writes them; the shard files are left as they are.
 */
export async function mergeShards(
  paths: { query: string; shards: string[]; out?: string; overwrite?: boolean },
  control: WorkflowControl = {},
): Promise<MergeResult> {
  const files = await shardFiles(paths.shards);
  const inputs = [paths.query, ...files];
  await checkOutputs({ query: paths.query, out: paths.out, overwrite: paths.overwrite, inputs });
  const shards: ShardFile[] = [];
  for (const f of files) shards.push(await openShardFile(f));
  const first = checkShardsAgree(shards);
  const { header } = first;
  await withFiles([paths.query], control, async ([query]) => {
    const ad = query as AnnData;
    if (
      ad.nObs !== header.nObs ||
      (await queryFingerprint(ad, header.query.matrix)) !== header.query.fingerprint
    ) {
      throw new ScnymError(
        `is not the query the shards were predicted on (${header.query.file}, ${header.nObs} cells): ` +
          'its cells, genes or matrix differ',
        {
          file: paths.query,
          code: 'bad-input',
          hint: `merge into the file the shards were predicted from, e.g. ${header.query.file}`,
        },
      );
    }
  });

  const all: RowRange = { start: 0, end: header.nObs };
  const assembly = new PredictionAssembly(
    all,
    header.classNames,
    header.embeddingDim,
    header.noveltyDim ?? 0,
  );
  shards.sort((a, b) => a.header.rows.start - b.header.rows.start);
  for (const [i, shard] of shards.entries()) {
    throwIfAborted(control.signal);
    control.onEvent?.({ type: 'progress', stage: 'reading shards', done: i, total: shards.length });
    await shard.readInto(assembly.slot(shard.header.rows));
  }
  control.onEvent?.({
    type: 'progress',
    stage: 'reading shards',
    done: shards.length,
    total: shards.length,
  });
  const prediction = assembly.finish(
    header.output.unknownThreshold ?? undefined,
    header.nMissingGenes,
  );
  const output = predictionOutput(prediction, header, {
    keyAdded: header.output.keyAdded ?? undefined,
  });

  throwIfAborted(control.signal);
  control.onEvent?.({ type: 'progress', stage: 'saving', done: 0, total: 1 });
  await writeAnnotationsToFile(paths.query, output.annotations, {
    outPath: paths.out,
    overwrite: paths.overwrite,
    inputs: files,
    signal: control.signal,
    onNotice: layerControl(control).onNotice,
  });
  control.onEvent?.({ type: 'progress', stage: 'saving', done: 1, total: 1 });
  return {
    ...output,
    written: paths.out ?? paths.query,
    shards: shards.map((s) => s.path),
    keyAdded: header.output.keyAdded ?? undefined,
  };
}

/** The shard files named: files as given, folders as the shard files inside them. */
async function shardFiles(paths: string[]): Promise<string[]> {
  if (paths.length === 0) {
    throw new ScnymError('no shards given', {
      code: 'bad-input',
      hint: `name the ${SHARD_EXTENSION} files written by scnym predict --shard, or their folder`,
    });
  }
  const files: string[] = [];
  for (const p of paths) {
    const info = await stat(p).catch(() => undefined);
    if (!info)
      throw new NotFoundError('no such file or folder', { file: p, hint: 'check the path' });
    if (!info.isDirectory()) {
      files.push(p);
      continue;
    }
    const inside = (await readdir(p))
      .filter((n) => n.endsWith(SHARD_EXTENSION) && !n.startsWith('.'))
      .sort();
    if (inside.length === 0) {
      throw new NotFoundError(`holds no ${SHARD_EXTENSION} files`, {
        file: p,
        hint: 'pass the folder given to scnym predict --shard … --out',
      });
    }
    for (const n of inside) files.push(join(p, n));
  }
  return files;
}

/** Refuses shards of different models, queries or settings, and repeated or missing shards. */
function checkShardsAgree(shards: ShardFile[]): ShardFile {
  const first = shards[0];
  const h0 = first.header;
  const name = (s: ShardFile) => basename(s.path);
  const differ = (s: ShardFile, what: string, hint: string) =>
    new ScnymError(`was predicted ${what} than ${name(first)}`, {
      file: s.path,
      code: 'bad-input',
      hint,
    });
  const rerun = 'predict every shard with the same command, changing only --shard';
  const seen = new Map<number, ShardFile>();
  for (const s of shards) {
    const h = s.header;
    if (h.model.fingerprint !== h0.model.fingerprint) throw differ(s, 'with another model', rerun);
    if (h.query.fingerprint !== h0.query.fingerprint || h.nObs !== h0.nObs) {
      throw differ(s, 'on another query', 'merge the shards of one query at a time');
    }
    if (
      JSON.stringify(h.output) !== JSON.stringify(h0.output) ||
      h.embeddingDim !== h0.embeddingDim ||
      (h.noveltyDim ?? 0) !== (h0.noveltyDim ?? 0)
    ) {
      throw differ(
        s,
        'with other settings (--key-added, --unknown-threshold, --no-embedding)',
        rerun,
      );
    }
    if (h.shard.count !== h0.shard.count) {
      throw differ(s, `as one of ${h.shard.count} shards rather`, 'merge the shards of one run');
    }
    const twin = seen.get(h.shard.index);
    if (twin) {
      throw new ScnymError(`is shard ${h.shard.index}/${h.shard.count} again (also ${twin.path})`, {
        file: s.path,
        code: 'bad-input',
        hint: 'give each shard once',
      });
    }
    seen.set(h.shard.index, s);
  }
  const missing: number[] = [];
  for (let i = 0; i < h0.shard.count && missing.length < 10; i++) if (!seen.has(i)) missing.push(i);
  if (missing.length > 0) {
    throw new ScnymError(
      `shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${h0.shard.count}`).join(', ')} ` +
        `${missing.length > 1 ? 'are' : 'is'} missing`,
      {
        file: first.path,
        code: 'bad-input',
        hint: `run scnym predict --shard for ${missing.length > 1 ? 'them' : 'it'} (or give its file), then merge again`,
      },
    );
  }
  return first;
}
