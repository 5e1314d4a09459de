/** `scnym predict`: annotate a query with a saved model; the prediction summary annotate prints too. */
import { parseArgs } from 'node:util';
import type { Prediction } from '@scnym/core';
import { predictFiles } from '@scnym/core/node';
import { annotationKeys } from '@scnym/core/vocabulary';
import {
  COMMON_OPTIONS,
  fraction,
  keyAddedOption,
  parseOrExplain,
  PREDICT_WRITE_OPTIONS,
  UsageError,
} from './args.js';
import { startSession } from './session.js';

const HELP = `usage: scnym predict --model DIR --query FILE [--out FILE] [options]

Predicts cell types for a query with a model saved by 'scnym train'. Without --out the
predictions are added to the query in place (atomically; existing keys are kept unless
--overwrite); with --out a copy is written.

  --model DIR            model folder (scnym.json, model.json, weights.bin)
  --query FILE           query to annotate (.h5ad or .zarr)
  --out FILE             write an annotated copy here instead of changing the query
  --key-added NAME       prefix of the keys written (default scNym: obs scNym, scNym_confidence, …):
                         a letter, then letters, digits, '_', '-' or '.'
  --overwrite            replace keys (or --out) that already exist
  --unknown-threshold P  label cells below this confidence 'Unknown' (default 0.5 for
                         models trained with --config new_identity_discovery)
  --matrix NAME          X, raw/X or layers/NAME (default: X if it holds counts or log1p
                         values, else layers/counts, else raw/X)
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
        'gene-key': { type: 'string' },
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
  const session = await startSession({ quiet: values.quiet, backend: values.backend });
  try {
    // Without --unknown-threshold, core applies the model's default (0.5 for a model trained
    // with --config new_identity_discovery).
    const { prediction, written } = await predictFiles(
      { model: values.model, query: values.query, out: values.out, overwrite: values.overwrite },
      {
        matrix: values.matrix,
        geneKey: values['gene-key'],
        unknownThreshold,
        embedding: !values['no-embedding'],
        keyAdded,
      },
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

export interface PredictionSummary {
  nCells: number;
  /** Cells per predicted label, largest first. */
  labelCounts: Record<string, number>;
  meanConfidence: number;
  nMissingGenes: number;
}

export function summarizePrediction(p: Prediction): PredictionSummary {
  const counts = new Map<string, number>();
  for (const l of p.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  let sum = 0;
  for (const c of p.confidence) sum += c;
  return {
    nCells: p.nCells,
    labelCounts: Object.fromEntries([...counts].sort((a, b) => b[1] - a[1])),
    meanConfidence: p.nCells ? sum / p.nCells : 0,
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
  return [
    `predicted ${s.nCells.toLocaleString('en-US')} cells (mean confidence ${s.meanConfidence.toFixed(3)}):`,
    ...lines,
    written
      ? `wrote obs['${keys.label}'], obs['${keys.confidence}'], ` +
        `${embedding ? `obsm['${keys.embedding}'], ` : ''}obsm['${keys.probabilities}'] and uns keys to ${written}`
      : '',
  ]
    .filter(Boolean)
    .join('\n');
}
