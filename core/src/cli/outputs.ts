/** Predicting a query file, writing the predictions and summarising them: predict and annotate. */
import { annotationKeys } from '../vocabulary.js';
import {
  predictAnnData,
  predictionAnnotations,
  type PredictRequest,
  type UsableModel,
} from '../annotate.js';
import type { ModelCard } from '../model/files.js';
import { writeAnnotationsToFile } from '../node/write-file.js';
import { isZarrPath, openAnnDataFile } from '../node/open.js';
import { canonical, checkOutput, checkWritableInPlace } from '../node/targets.js';
import type { Prediction } from '../predict.js';
import type { Session } from './session.js';

/** Opens the query, predicts it with progress and cancellation, closes it. */
export async function predictFile(
  model: UsableModel,
  queryPath: string,
  request: PredictRequest,
  session: Session,
): Promise<Prediction> {
  const query = await openAnnDataFile(queryPath, { onNotice: session.note });
  try {
    return await predictAnnData(model, query, request, {
      signal: session.signal,
      onWarning: session.warn,
      onProgress: (_stage, done, total) => session.progress.update('predicting', done, total),
    });
  } finally {
    session.progress.done();
    await query.close();
  }
}

export interface WriteRequest {
  query: string;
  out?: string;
  keyAdded?: string;
  overwrite?: boolean;
  /** The run's other inputs (reference, model folder), which `out` may never replace. */
  inputs?: string[];
}

/** Adds the predictions to the query in place (atomically), or writes a copy to `out`. */
export async function writePredictions(
  prediction: Prediction,
  card: ModelCard,
  request: WriteRequest,
  session?: Pick<Session, 'signal' | 'note'>,
): Promise<string> {
  const annotations = predictionAnnotations(prediction, card, { keyAdded: request.keyAdded });
  await writeAnnotationsToFile(request.query, annotations, {
    overwrite: request.overwrite,
    outPath: request.out,
    inputs: request.inputs,
    signal: session?.signal,
    onNotice: session?.note,
  });
  return request.out ?? request.query;
}

/**
 * Before any work: refuses outputs that could not be written (an existing --out without
 * --overwrite, an output that is or holds an input, a read-only or linked query, …), so a long
 * run is not wasted. The same checks run again when writing.
 */
export async function checkWriteTargets(targets: {
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
  const width = Math.max(...Object.keys(s.labelCounts).map((k) => k.length), 5);
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
