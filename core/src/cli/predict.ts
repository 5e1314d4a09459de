/** `scnym predict`: annotate a query with a saved model. */
import { parseArgs } from 'node:util';
import { loadModelDir } from '../node/model-dir.js';
import { parseOrExplain, UsageError } from './args.js';
import {
  checkWriteTargets,
  formatPrediction,
  predictFile,
  summarizePrediction,
  writePredictions,
} from './outputs.js';
import { fraction, keyAddedOption, startSession, COMMON_OPTIONS } from './session.js';

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

export const PREDICT_WRITE_OPTIONS = {
  out: { type: 'string' },
  'key-added': { type: 'string' },
  overwrite: { type: 'boolean' },
  'unknown-threshold': { type: 'string' },
  'no-embedding': { type: 'boolean' },
} as const;

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
  const threshold = fraction(values['unknown-threshold'], '--unknown-threshold');
  const keyAdded = keyAddedOption(values['key-added']);
  const inputs = [values.model, values.query];
  await checkWriteTargets({
    query: values.query,
    out: values.out,
    overwrite: values.overwrite,
    inputs,
  });
  const session = await startSession({ quiet: values.quiet, backend: values.backend });
  try {
    const model = await loadModelDir(values.model);
    // A model trained for new-identity discovery flags low-confidence cells unless told otherwise.
    const unknownThreshold =
      threshold ?? (model.card.training.config === 'new_identity_discovery' ? 0.5 : undefined);
    const prediction = await predictFile(
      { ...model, source: values.model },
      values.query,
      {
        matrix: values.matrix,
        geneKey: values['gene-key'],
        unknownThreshold,
        embedding: !values['no-embedding'],
      },
      session,
    );
    const written = await writePredictions(
      prediction,
      model.card,
      {
        query: values.query,
        out: values.out,
        keyAdded,
        overwrite: values.overwrite,
        inputs,
      },
      session,
    );
    const summary = summarizePrediction(prediction);
    if (values.json)
      console.log(JSON.stringify({ schema: 'scnym.predict/1', written, ...summary }, null, 2));
    else console.log(formatPrediction(summary, written, keyAdded, prediction.embeddingDim > 0));
    model.network.dispose();
    return 0;
  } finally {
    session.close();
  }
}
