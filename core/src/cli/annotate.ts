/** `scnym annotate`: train on a reference with the query as unlabelled data, then predict it. */
import { parseArgs } from 'node:util';
import { throwIfAborted } from '../errors.js';
import { modelToFiles } from '../model/files.js';
import { saveModelDir } from '../node/model-dir.js';
import { parseOrExplain, UsageError } from './args.js';
import {
  checkWriteTargets,
  formatPrediction,
  predictFile,
  summarizePrediction,
  writePredictions,
} from './outputs.js';
import { PREDICT_WRITE_OPTIONS } from './predict.js';
import {
  fraction,
  keyAddedOption,
  startSession,
  TRAIN_HELP,
  TRAIN_OPTIONS,
  trainRequest,
  COMMON_OPTIONS,
} from './session.js';
import { formatTraining, trainFiles, trainingSummary } from './train.js';

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
  const threshold =
    fraction(values['unknown-threshold'], '--unknown-threshold') ??
    (request.config === 'new_identity_discovery' ? 0.5 : undefined);
  const keyAdded = keyAddedOption(values['key-added']);
  const inputs = [values.reference, values.query];
  await checkWriteTargets({
    query: values.query,
    out: values.out,
    modelOut: values['model-out'],
    overwrite: values.overwrite,
    inputs,
  });
  const session = await startSession({ quiet: values.quiet, backend: values.backend });
  try {
    const result = await trainFiles(values.reference, values.query, request, session);
    const prediction = await predictFile(
      { ...result.model, card: result.card },
      values.query,
      {
        matrix: result.queryMatrix ?? undefined, // the one training read
        // The query's genes as training matched them.
        geneKey: result.geneKeys.query ?? undefined,
        unknownThreshold: threshold,
        embedding: !values['no-embedding'],
      },
      session,
    );
    throwIfAborted(session.signal);
    if (values['model-out']) {
      await saveModelDir(
        values['model-out'],
        await modelToFiles(result.model.network, result.card),
        { overwrite: values.overwrite, inputs, signal: session.signal, onNotice: session.note },
      );
    }
    const written = await writePredictions(
      prediction,
      result.card,
      {
        query: values.query,
        out: values.out,
        keyAdded,
        overwrite: values.overwrite,
        inputs,
      },
      session,
    );
    const training = trainingSummary(result, values['model-out'] ?? null);
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
