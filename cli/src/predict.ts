/** `scnym predict`: annotate a query with a saved model; the prediction summary annotate prints too. */
import { parseArgs } from 'node:util';
import type { Prediction } from '@scnym/core';
import { predictFiles, predictShard, type ShardSpec, type ThreadCount } from '@scnym/core/node';
import { annotationKeys } from '@scnym/core/vocabulary';
import {
  COMMON_OPTIONS,
  fraction,
  inputHelp,
  inputOption,
  integer,
  keyAddedOption,
  parseOrExplain,
  PREDICT_WRITE_OPTIONS,
  UsageError,
} from './args.js';
import { startSession } from './session.js';

const HELP = `usage: scnym predict --model DIR --query FILE [--out FILE] [options]
       scnym predict --model DIR --query FILE --shard I/N --out DIR_OR_FILE [options]

Predicts cell types for a query with a model saved by 'scnym train'. Without --out the
predictions are added to the query in place (atomically; existing keys are kept unless
--overwrite); with --out a copy is written. The rows are spread over worker threads, one per
core by default (the outputs are the same to the bit as on one thread).

With --shard I/N only shard I (0-based) of N is predicted: contiguous rows of the query, cut at
its storage chunks, written to a shard file of their own in --out (a folder, or a file ending in
.scnym-shard); the query is not changed. Once every shard is there, 'scnym merge' writes them
into the query at once, exactly as one 'scnym predict' would have. For Slurm job arrays
(--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT), Kubernetes indexed jobs
(--shard $JOB_COMPLETION_INDEX/N) and the like.

  --model DIR            model folder (scnym.json, model.json, weights.bin)
  --query FILE           query to annotate (.h5ad or .zarr)
  --out FILE             write an annotated copy here instead of changing the query;
                         with --shard: the folder (or .scnym-shard file) for the shard
  --shard I/N            predict shard I of N only (0 ≤ I < N) into --out
  --threads N            worker threads (default auto: one per core, or per CPU of a Slurm
                         task (SLURM_CPUS_PER_TASK); fewer for queries under 20,000 cells per
                         thread); 1 predicts on the main thread
  --key-added NAME       prefix of the keys written (default scNym: obs scNym, scNym_confidence, …):
                         a letter, then letters, digits, '_', '-' or '.'
  --overwrite            replace keys (or --out) that already exist
  --unknown-threshold P  label cells below this confidence 'Unknown' (default 0.5 for
                         models trained with --config new_identity_discovery)
  --matrix NAME          X, raw/X or layers/NAME (default: X if it holds counts or log1p
                         values, else layers/counts, else raw/X, else the first holding
                         other log-scale values)
${inputHelp(25)}
  --gene-key KEY         var column of the query holding the model's kind of gene names, or
                         var_names (default auto: var_names, else the usual columns such as
                         feature_name or gene_ids, and the one the model was trained on)
  --no-embedding         do not keep or write obsm X_scnym, the 256-d embedding (1 GB per
                         million cells in memory and on disk); an X_scnym already in the
                         file is left as it is
  --backend NAME         auto (default), wasm or cpu
  --json                 print a JSON summary on stdout
  --quiet                no progress output`;

export async function runPredict(argv: string[]): Promise<number> {
  const { values } = parseOrExplain(HELP, () =>
    parseArgs({
      args: argv,
      options: {
        model: { type: 'string' },
        query: { type: 'string' },
        matrix: { type: 'string' },
        input: { type: 'string' },
        'gene-key': { type: 'string' },
        shard: { type: 'string' },
        threads: { type: 'string' },
        ...PREDICT_WRITE_OPTIONS,
        ...COMMON_OPTIONS,
      },
    }),
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.model || !values.query)
    throw new UsageError(`--model and --query are required\n\n${HELP}`);
  const unknownThreshold = fraction(values['unknown-threshold'], '--unknown-threshold');
  const keyAdded = keyAddedOption(values['key-added']);
  const shard = values.shard === undefined ? undefined : shardOption(values.shard);
  if (shard && !values.out) {
    throw new UsageError(`--shard needs --out: the folder (or .scnym-shard file) for the shard`);
  }
  // Without --unknown-threshold, core applies the model's default (0.5 for a model trained
  // with --config new_identity_discovery).
  const request = {
    matrix: values.matrix,
    input: inputOption(values.input),
    geneKey: values['gene-key'],
    unknownThreshold,
    embedding: !values['no-embedding'],
    keyAdded,
    threads: threadsOption(values.threads),
  };
  const session = await startSession({ quiet: values.quiet, backend: values.backend });
  try {
    if (shard) {
      const paths = {
        model: values.model,
        query: values.query,
        out: values.out!,
        overwrite: values.overwrite,
      };
      const result = await predictShard(paths, { ...request, shard }, session.control);
      session.progress.done();
      const summary = summarizePrediction(result.prediction);
      if (values.json) {
        console.log(
          JSON.stringify(
            {
              schema: 'scnym.predict-shard/1',
              written: result.written,
              shard,
              rows: result.rows,
              ...summary,
            },
            null,
            2,
          ),
        );
      } else {
        console.log(
          `shard ${shard.index}/${shard.count}: rows ${result.rows.start}–${result.rows.end} of the query\n` +
            formatPrediction(summary, null) +
            `\nwrote ${result.written}; when every shard is done: scnym merge --query ${values.query} ${values.out}`,
        );
      }
      return 0;
    }
    const { prediction, written } = await predictFiles(
      { model: values.model, query: values.query, out: values.out, overwrite: values.overwrite },
      request,
      session.control,
    );
    session.progress.done();
    const summary = summarizePrediction(prediction);
    if (values.json)
      console.log(JSON.stringify({ schema: 'scnym.predict/1', written, ...summary }, null, 2));
    else console.log(formatPrediction(summary, written, keyAdded, prediction.embeddingDim > 0));
    return 0;
  } finally {
    session.close();
  }
}

/** --shard I/N: shard I (0-based) of N. */
export function shardOption(value: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index < count)) {
    throw new UsageError(
      `--shard must be I/N with 0 ≤ I < N (got '${value}'), e.g. --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`,
    );
  }
  return { index, count };
}

/** --threads N or auto (the default). */
export function threadsOption(value: string | undefined): ThreadCount {
  if (value === undefined || value === 'auto') return 'auto';
  return integer(value, '--threads', 1)!;
}

export interface PredictionSummary {
  nCells: number;
  /** Cells per predicted label, largest first. */
  labelCounts: Record<string, number>;
  meanConfidence: number;
  /** Mean novelty score (1 = a typical reference cell); null when the model has none. */
  meanNovelty: number | null;
  nMissingGenes: number;
}

export function summarizePrediction(p: Prediction): PredictionSummary {
  const counts = new Map<string, number>();
  for (const l of p.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  let sum = 0;
  for (const c of p.confidence) sum += c;
  let far = 0;
  for (const v of p.novelty) far += v;
  return {
    nCells: p.nCells,
    labelCounts: Object.fromEntries([...counts].sort((a, b) => b[1] - a[1])),
    meanConfidence: p.nCells ? sum / p.nCells : 0,
    meanNovelty: p.novelty.length > 0 ? far / p.novelty.length : null,
    nMissingGenes: p.nMissingGenes,
  };
}

export function formatPrediction(
  s: PredictionSummary,
  written: string | null,
  keyAdded?: string,
  embedding = true,
): string {
  const width = Object.keys(s.labelCounts).reduce((w, k) => Math.max(w, k.length), 5);
  const lines = Object.entries(s.labelCounts).map(
    ([label, n]) =>
      `  ${label.padEnd(width)}  ${String(n).padStart(7)}  ${((100 * n) / s.nCells).toFixed(1).padStart(5)}%`,
  );
  const keys = annotationKeys(keyAdded);
  const novelty =
    s.meanNovelty === null
      ? ''
      : `, mean novelty ${s.meanNovelty.toFixed(2)} (1 = a typical reference cell)`;
  return [
    `predicted ${s.nCells.toLocaleString('en-US')} cells (mean confidence ${s.meanConfidence.toFixed(3)}${novelty}):`,
    ...lines,
    written
      ? `wrote obs['${keys.label}'], obs['${keys.confidence}'], ` +
        `${s.meanNovelty === null ? '' : `obs['${keys.novelty}'], `}` +
        `${embedding ? `obsm['${keys.embedding}'], ` : ''}obsm['${keys.probabilities}'] and uns keys to ${written}`
      : '',
  ]
    .filter(Boolean)
    .join('\n');
}
