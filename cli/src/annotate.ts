/** `scnym annotate`: train on a reference with the query as unlabelled data, then predict it. */
import { parseArgs } from 'node:util';
import { annotateFiles } from '@scnym/core/node';
import {
  COMMON_OPTIONS,
  fraction,
  keyAddedOption,
  parseOrExplain,
  PREDICT_WRITE_OPTIONS,
  TRAIN_HELP,
  TRAIN_OPTIONS,
  trainRequest,
  UsageError,
} from './args.js';
import { formatPrediction, summarizePrediction } from './predict.js';
import { startSession } from './session.js';
import { formatTraining, trainingSummary } from './train.js';

const HELP = `usage: scnym annotate --reference FILE --label-key KEY --query FILE [--out FILE] [options]

Transfers labels from a labelled reference to a query: trains scNym with the query as
unlabelled data, then predicts the query. Without --out the predictions are added to the query
in place (atomically; existing keys are kept unless --overwrite); with --out a copy is written.

${TRAIN_HELP}
  --query FILE           query to annotate (.h5ad or .zarr)
  --out FILE             write an annotated copy here instead of changing the query
  --model-out DIR        also save the model (to annotate more files later with scnym predict)
  --key-added NAME       prefix of the keys written (default scNym): a letter, then
                         letters, digits, '_', '-' or '.'
  --overwrite            replace keys, --out or --model-out that already exist
  --unknown-threshold P  label cells below this confidence 'Unknown'
                         (default 0.5 with --config new_identity_discovery)
  --no-embedding         do not keep or write obsm X_scnym, the 256-d embedding (1 GB per
                         million cells in memory and on disk); an X_scnym already in the
                         file is left as it is
  --backend NAME         auto (default), wasm or cpu
  --json                 print a JSON summary on stdout
  --quiet                no progress output

example:
  scnym annotate --reference ref.h5ad --label-key cell_type --query query.zarr --out annotated.zarr --seed 0`;

export async function runAnnotate(argv: string[]): Promise<number> {
  const { values } = parseOrExplain(HELP, () =>
    parseArgs({
      args: argv,
      options: {
        ...TRAIN_OPTIONS,
        query: { type: 'string' },
        'model-out': { type: 'string' },
        ...PREDICT_WRITE_OPTIONS,
        ...COMMON_OPTIONS,
      },
    }),
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.reference || !values.query)
    throw new UsageError(`--reference and --query are required\n\n${HELP}`);
  const request = trainRequest(values);
  // Without --unknown-threshold, core applies the config's default (0.5 for
  // new_identity_discovery).
  const unknownThreshold = fraction(values['unknown-threshold'], '--unknown-threshold');
  const keyAdded = keyAddedOption(values['key-added']);
  const session = await startSession({ quiet: values.quiet, backend: values.backend });
  try {
    const result = await annotateFiles(
      {
        reference: values.reference,
        query: values.query,
        out: values.out,
        modelOut: values['model-out'],
        overwrite: values.overwrite,
      },
      { ...request, unknownThreshold, embedding: !values['no-embedding'], keyAdded },
      session.control,
    );
    session.progress.done();
    const { prediction, written } = result;
    const training = trainingSummary(result, result.modelDir);
    const summary = summarizePrediction(prediction);
    if (values.json) {
      console.log(
        JSON.stringify(
          { schema: 'scnym.annotate/1', written, training, prediction: summary },
          null,
          2,
        ),
      );
    } else {
      console.log(formatTraining(training));
      console.log(formatPrediction(summary, written, keyAdded, prediction.embeddingDim > 0));
    }
    result.model.network.dispose();
    return 0;
  } finally {
    session.close();
  }
}
