/** `scnym train`: fit a model on a labelled reference (and an unlabelled query) and save it. */
import { parseArgs } from 'node:util';
import type { TrainResult } from '@scnym/core';
import { trainFiles } from '@scnym/core/node';
import {
  COMMON_OPTIONS,
  parseOrExplain,
  TRAIN_HELP,
  TRAIN_OPTIONS,
  trainRequest,
  UsageError,
} from './args.js';
import { startSession } from './session.js';

const HELP = `usage: scnym train --reference FILE --label-key KEY --model-out DIR [--query FILE] [options]

Trains scNym on a labelled reference. With --query, the query's cells take part as unlabelled
data (MixMatch and the domain adversary), which is how scNym adapts to a new domain.

${TRAIN_HELP}
  --query FILE         unlabelled query to adapt to (.h5ad or .zarr)
  --model-out DIR      folder to write the model to (model.json, weights.bin, scnym.json)
  --overwrite          replace DIR if it exists
  --backend NAME       auto (default), wasm or cpu
  --json               print a JSON summary on stdout
  --quiet              no progress output`;

export async function runTrain(argv: string[]): Promise<number> {
  const { values } = parseOrExplain(HELP, () =>
    parseArgs({
      args: argv,
      options: {
        ...TRAIN_OPTIONS,
        query: { type: 'string' },
        'model-out': { type: 'string' },
        overwrite: { type: 'boolean' },
        ...COMMON_OPTIONS,
      },
    }),
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.reference) throw new UsageError(`--reference is required\n\n${HELP}`);
  if (!values['model-out']) throw new UsageError(`--model-out is required\n\n${HELP}`);
  if (values['query-matrix'] && !values.query)
    throw new UsageError('--query-matrix needs --query (the file it would be read from)');
  const request = trainRequest(values);
  const session = await startSession({ quiet: values.quiet, backend: values.backend });
  try {
    const result = await trainFiles(
      {
        reference: values.reference,
        query: values.query,
        modelOut: values['model-out'],
        overwrite: values.overwrite,
      },
      request,
      session.control,
    );
    session.progress.done();
    const summary = trainingSummary(result, result.modelDir);
    if (values.json) console.log(JSON.stringify(summary, null, 2));
    else console.log(formatTraining(summary));
    result.model.network.dispose();
    return 0;
  } finally {
    session.close();
  }
}

export function trainingSummary(result: TrainResult, modelDir: string | null) {
  const s = result.model.summary;
  return {
    schema: 'scnym.train/1',
    modelDir,
    classes: result.model.classNames,
    nGenes: result.model.genes.length,
    referenceMatrix: result.referenceMatrix,
    queryMatrix: result.queryMatrix,
    /** The names genes were matched by in each file ('var_names' or a var column). */
    geneKeys: result.geneKeys,
    preset: result.card.training.preset,
    config: result.card.training.config,
    seed: result.model.options.seed,
    epochs: s.epochsRun,
    bestEpoch: s.bestEpoch,
    steps: s.steps,
    seconds: s.seconds,
    heldOutAccuracy: s.heldOutAccuracy,
    /** With a linear head, the network's alone (heldOutAccuracy is the two averaged). */
    networkHeldOutAccuracy: result.card.linear?.fit.networkHeldOutAccuracy ?? null,
    /** Temperature scaling fitted on the selection split (null when that split is empty). */
    calibration: result.calibration,
  };
}

function formatCalibration(c: NonNullable<TrainResult['calibration']>): string {
  const ece = `ECE ${c.eceBefore.toFixed(3)} → ${c.eceAfter.toFixed(3)} on ${c.nCells} selection cells`;
  if (c.applied) return `  confidence calibrated: temperature ${c.temperature.toFixed(3)} (${ece})`;
  if (c.fitted < c.range[0])
    return `  temperature ${c.fitted.toPrecision(2)} not applied: below ${c.range[0]} (see the warning)`;
  const tried = Math.min(c.fitted, c.range[1]);
  return `  temperature ${tried.toFixed(3)} not applied: it did not lower the ${ece}`;
}

export function formatTraining(s: ReturnType<typeof trainingSummary>): string {
  const percent = (v: number) => `${(100 * v).toFixed(1)}%`;
  const acc = Number.isFinite(s.heldOutAccuracy) ? percent(s.heldOutAccuracy) : 'n/a';
  const alone =
    s.networkHeldOutAccuracy !== null && Number.isFinite(s.heldOutAccuracy)
      ? ` with the linear head (the network alone ${percent(s.networkHeldOutAccuracy)})`
      : '';
  return [
    `trained on ${s.nGenes} genes, ${s.classes.length} classes (${s.preset} preset, ${s.config}, seed ${s.seed})`,
    `  ${s.epochs} epochs, ${s.steps} steps in ${s.seconds.toFixed(1)} s; best epoch ${s.bestEpoch + 1}`,
    `  held-out reference accuracy ${acc}${alone}`,
    s.calibration ? formatCalibration(s.calibration) : '',
    s.modelDir ? `  model saved to ${s.modelDir}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}
