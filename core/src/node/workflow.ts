/**
 * The workflow over files, as the CLI and the VS Code extension run it: outputs checked before
 * any work, files opened (finishing what a killed scNym run left), the platform-neutral workflow
 * (../workflow), then the results written safely (write-file.ts, model-dir.ts) and the files
 * closed. Nothing is written once the run is cancelled.
 */
import { resolve } from 'node:path';
import { throwIfAborted } from '../errors.js';
import type { Annotations } from '../anndata/write.js';
import { annotationKeys, type ModelRecord } from '../vocabulary.js';
import type { AnnData } from '../anndata/types.js';
import type { EvaluateRequest, EvaluationReport } from '../evaluate.js';
import type { SaliencyResult } from '../interpret/saliency.js';
import { modelToFiles, type LoadedModel } from '../model/files.js';
import type { TrainRequest, TrainResult } from '../annotate.js';
import { trainOnAnnData } from '../annotate.js';
import {
  annotate,
  evaluate,
  explain,
  explainClasses,
  type AnnotateRequest,
  type AnnotateResult,
  type ExplainRequest,
  type PredictionOutput,
  type WorkflowControl,
} from '../workflow/index.js';
import { layerControl } from '../workflow/events.js';
import { loadModelDir, modelDirDigest, saveModelDir } from './model-dir.js';
import { predictFileRows, type RowsRequest } from './predict-threads.js';
import { isZarrPath, openAnnDataFile } from './open.js';
import { canonical, checkOutput, checkWritableInPlace } from './targets.js';
import { writeAnnotationsToFile } from './write-file.js';

/** Where a run's results go. */
export interface FileOutputs {
  /** Write an annotated copy here instead of adding the keys to the query in place. */
  out?: string;
  /** Also save the trained model here. */
  modelOut?: string;
  /** Replace keys, an --out or a --model-out that exist (only what is ours to replace). */
  overwrite?: boolean;
}

/**
 * Before any work: refuses outputs that could not be written (an existing output without
 * overwrite, an output that is or holds an input, a read-only or linked query, …), so a long run
 * is not wasted. The same checks run again when writing.
 */
export async function checkOutputs(targets: {
  /** The query the predictions go into (in place, or copied to `out`). */
  query?: string;
  out?: string;
  modelOut?: string;
  overwrite?: boolean;
  inputs: string[];
}): Promise<void> {
  const { query, out, modelOut, overwrite, inputs } = targets;
  if (query) {
    const inPlace = out === undefined || (await canonical(out)) === (await canonical(query));
    if (inPlace) await checkWritableInPlace(query);
    else {
      const holds = (await isZarrPath(query)) ? 'zarr' : 'h5ad';
      await checkOutput({ path: out as string, flag: '--out', holds, overwrite, inputs });
    }
  }
  if (modelOut) {
    await checkOutput({ path: modelOut, flag: '--model-out', holds: 'model', overwrite, inputs });
  }
}

/** Opens files (telling what was cleaned up after killed runs), runs `work`, closes them. */
export async function withFiles<T>(
  paths: (string | undefined)[],
  control: WorkflowControl,
  work: (files: (AnnData | null)[]) => Promise<T>,
): Promise<T> {
  const onNotice = layerControl(control).onNotice;
  const files: (AnnData | null)[] = [];
  try {
    for (const p of paths) files.push(p ? await openAnnDataFile(p, { onNotice }) : null);
    return await work(files);
  } finally {
    for (const f of files) await f?.close();
  }
}

function saving(control: WorkflowControl, done: number) {
  control.onEvent?.({ type: 'progress', stage: 'saving', done, total: 1 });
}

/** What a file run returns besides its results: where they were written. */
export interface Written {
  /** The file that now holds the predictions (the query, or `out`). */
  written: string;
  /** The model folder written, if any. */
  modelDir: string | null;
}

/** Trains on `reference` (the query as unlabelled data), predicts the query, writes both. */
export async function annotateFiles(
  paths: { reference: string; query: string } & FileOutputs,
  request: AnnotateRequest,
  control: WorkflowControl = {},
): Promise<AnnotateResult & Written> {
  const inputs = [paths.reference, paths.query];
  await checkOutputs({ ...paths, inputs });
  const result = await withFiles([paths.reference, paths.query], control, ([reference, query]) =>
    annotate(reference as AnnData, query as AnnData, request, control),
  );
  try {
    const written = await writeResults(
      result,
      { ...paths, inputs, keyAdded: request.keyAdded },
      control,
    );
    return { ...result, ...written };
  } catch (err) {
    result.model.network.dispose();
    throw err;
  }
}

/** Trains on `reference` (with `query` as unlabelled data when given) and saves the model. */
export async function trainFiles(
  paths: { reference: string; query?: string; modelOut: string; overwrite?: boolean },
  request: TrainRequest,
  control: WorkflowControl = {},
): Promise<TrainResult & Pick<Written, 'modelDir'>> {
  const inputs = [paths.reference, ...(paths.query ? [paths.query] : [])];
  await checkOutputs({ modelOut: paths.modelOut, overwrite: paths.overwrite, inputs });
  const result = await withFiles([paths.reference, paths.query], control, ([reference, query]) =>
    trainOnAnnData(reference as AnnData, query, request, layerControl(control)),
  );
  try {
    const { modelDir } = await writeResults(result, { ...paths, inputs }, control);
    return { ...result, modelDir };
  } catch (err) {
    result.model.network.dispose();
    throw err;
  }
}

/**
 * Predicts `query` with a model folder (or a loaded model) and writes the predictions; with
 * `request.threads`, on worker threads over row ranges (the same outputs, to the bit).
 */
export async function predictFiles(
  paths: { model: string | LoadedModel; query: string } & Omit<FileOutputs, 'modelOut'>,
  request: Omit<RowsRequest, 'rows'>,
  control: WorkflowControl = {},
): Promise<PredictionOutput & Written> {
  const modelDir = typeof paths.model === 'string' ? paths.model : undefined;
  const inputs = [paths.query, ...(modelDir ? [modelDir] : [])];
  await checkOutputs({ ...paths, inputs });
  const model = typeof paths.model === 'string' ? await loadModelDir(paths.model) : paths.model;
  try {
    const output = await withFiles([paths.query], control, ([query]) =>
      predictFileRows(
        { ...model, source: modelDir },
        query as AnnData,
        paths.query,
        request,
        control,
      ),
    );
    const written = await writeResults(
      { ...output, card: model.card },
      { ...paths, inputs, modelDir, keyAdded: request.keyAdded },
      control,
    );
    return { ...output, ...written };
  } finally {
    if (modelDir) model.network.dispose();
  }
}

/**
 * Writes what a run produced: the model to `modelOut`, the predictions into the query (or
 * `out`), each all at once or not at all. Checks for a cancel first: once the user has cancelled,
 * nothing is written.
 */
async function writeResults(
  result: Partial<PredictionOutput> & Pick<TrainResult, 'card'> & { model?: TrainResult['model'] },
  paths: {
    query?: string;
    out?: string;
    modelOut?: string;
    /** The model folder the predictions came from (predict --model). */
    modelDir?: string;
    /** The keys' prefix (for uns `<key>_model`). */
    keyAdded?: string;
    overwrite?: boolean;
    inputs: string[];
  },
  control: WorkflowControl,
): Promise<Written> {
  throwIfAborted(control.signal);
  const onNotice = layerControl(control).onNotice;
  saving(control, 0);
  let model: { path: string; digest: string } | null = null;
  if (paths.modelOut && result.model) {
    const files = await modelToFiles(result.model.network, result.card);
    const digest = await saveModelDir(paths.modelOut, files, {
      overwrite: paths.overwrite,
      inputs: paths.inputs,
      signal: control.signal,
      onNotice,
    });
    model = { path: paths.modelOut, digest };
  } else if (paths.modelDir) {
    model = { path: paths.modelDir, digest: await modelDirDigest(paths.modelDir) };
  }
  let written = '';
  if (paths.query && result.annotations) {
    await writeAnnotationsToFile(
      paths.query,
      withModelRecord(result.annotations, model, paths.keyAdded),
      {
        overwrite: paths.overwrite,
        outPath: paths.out,
        inputs: paths.inputs,
        signal: control.signal,
        onNotice,
      },
    );
    written = paths.out ?? paths.query;
  }
  saving(control, 1);
  return { written, modelDir: paths.modelOut ?? null };
}

/**
 * The annotations with uns `<key>_model` naming the model folder that made them (its absolute
 * path and digest), when there is one.
 */
function withModelRecord(
  annotations: Annotations,
  model: { path: string; digest: string } | null,
  keyAdded: string | undefined,
): Annotations {
  if (!model) return annotations;
  const record: ModelRecord = { path: resolve(model.path), digest: model.digest, where: 'given' };
  const uns = { ...annotations.uns, [annotationKeys(keyAdded).model]: { ...record } };
  return { ...annotations, uns };
}

/** A model folder, or a model already loaded (with the folder it came from, for messages). */
type ModelInput = string | (LoadedModel & { source?: string });

/** The genes behind one class (or, with `classes`, each of several) in a data file. */
export async function explainFile(
  paths: { model: ModelInput; data: string; reference?: string },
  request: ExplainRequest,
  control?: WorkflowControl,
): Promise<SaliencyResult>;
export async function explainFile(
  paths: { model: ModelInput; data: string; reference?: string },
  request: Omit<ExplainRequest, 'className'> & { classes: readonly string[] },
  control?: WorkflowControl,
): Promise<SaliencyResult[]>;
export async function explainFile(
  paths: { model: ModelInput; data: string; reference?: string },
  request: (ExplainRequest | Omit<ExplainRequest, 'className'>) & { classes?: readonly string[] },
  control: WorkflowControl = {},
): Promise<SaliencyResult | SaliencyResult[]> {
  const modelDir = typeof paths.model === 'string' ? paths.model : undefined;
  const loaded: Exclude<ModelInput, string> =
    typeof paths.model === 'string' ? await loadModelDir(paths.model) : paths.model;
  const model = { ...loaded, source: modelDir ?? loaded.source };
  try {
    return await withFiles<SaliencyResult | SaliencyResult[]>(
      [paths.data, paths.reference],
      control,
      ([data, reference]) =>
        request.classes
          ? explainClasses(model, data as AnnData, request.classes, request, control, reference)
          : explain(model, data as AnnData, request as ExplainRequest, control, reference),
    );
  } finally {
    if (modelDir) loaded.network.dispose();
  }
}

/** Predictions stored in a file, scored against a column of known labels. */
export function evaluateFile(
  path: string,
  request: EvaluateRequest,
  control: WorkflowControl = {},
): Promise<EvaluationReport> {
  return withFiles([path], control, ([data]) => evaluate(data as AnnData, request, control));
}
