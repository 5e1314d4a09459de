/**
 * annotate: train scNym on a labelled reference with the query as unlabelled data, then predict
 * the query; predict: a query with a model already trained. Both return the prediction and the
 * AnnData keys it becomes (the original's names under `keyAdded`); writing them is the caller's
 * (node/workflow.ts for files, the viewer's server for its Save).
 */
import type { Annotations } from '../anndata/write.js';
import type { AnnData } from '../anndata/types.js';
import {
  predictAnnData,
  predictionAnnotations,
  trainOnAnnData,
  type PredictRequest,
  type TrainRequest,
  type TrainResult,
  type UsableModel,
} from '../annotate.js';
import { throwIfAborted } from '../errors.js';
import type { ModelCard } from '../model/files.js';
import type { Prediction } from '../predict.js';
import { unknownThresholdFor } from '../vocabulary.js';
import { layerControl, type WorkflowControl, type WorkflowEvent } from './events.js';

export interface OutputRequest {
  /** Cells below this confidence are labelled Unknown (default: by the model's config). */
  unknownThreshold?: number;
  /** Keep the 256-d X_scnym embedding (default true; 1 GB per million cells). */
  embedding?: boolean;
  /** Prefix of the keys (default scNym). */
  keyAdded?: string;
}

export interface PredictionOutput {
  prediction: Prediction;
  /** The keys to write: obs label and confidence, obsm embedding and probabilities, uns. */
  annotations: Annotations;
}

export type AnnotateRequest = TrainRequest & OutputRequest;
export type AnnotateResult = TrainResult & PredictionOutput;

export async function annotate(
  reference: AnnData,
  query: AnnData,
  request: AnnotateRequest,
  control: WorkflowControl = {},
): Promise<AnnotateResult> {
  // Training reads the query too: what it said about the query is not said again.
  const said = new Set<string>();
  const emit = control.onEvent;
  const training = {
    ...control,
    onEvent: (e: WorkflowEvent) => {
      if (e.type === 'warning') said.add(e.message);
      emit?.(e);
    },
  };
  const trained = await trainOnAnnData(reference, query, request, layerControl(training));
  try {
    throwIfAborted(control.signal);
    const output = await predictQuery(
      { ...trained.model, card: trained.card },
      query,
      {
        ...request,
        // The matrix and the gene names training read the query by.
        matrix: trained.queryMatrix ?? undefined,
        geneKey: trained.geneKeys.query ?? undefined,
      },
      {
        ...control,
        onEvent: (e) => (e.type === 'warning' && said.has(e.message) ? undefined : emit?.(e)),
      },
    );
    return { ...trained, ...output };
  } catch (err) {
    trained.model.network.dispose();
    throw err;
  }
}

/** A model as predict needs it: its network and genes, and the card that says how it was made. */
export type PredictModel = UsableModel & {
  card: Pick<ModelCard, 'classNames' | 'training' | 'provenance' | 'genes' | 'temperature'>;
};

export type PredictQueryRequest = Omit<PredictRequest, 'unknownThreshold'> & OutputRequest;

/**
 * Predicts the query (or, with `request.rows`, those rows only: the keys then describe those
 * rows, to be put together with the other ranges' by core/node's mergeShards).
 */
export async function predictQuery(
  model: PredictModel,
  query: AnnData,
  request: PredictQueryRequest = {},
  control: WorkflowControl = {},
): Promise<PredictionOutput> {
  const prediction = await predictAnnData(
    model,
    query,
    { ...request, unknownThreshold: unknownThresholdOf(model, request) },
    predictingControl(control),
  );
  return predictionOutput(prediction, model, request);
}

/** Cells below this confidence are Unknown: the request's threshold, else the model's default. */
export function unknownThresholdOf(
  model: Pick<PredictModel, 'card'>,
  request: Pick<OutputRequest, 'unknownThreshold'>,
): number | undefined {
  return unknownThresholdFor(String(model.card.training.config ?? ''), request.unknownThreshold);
}

/** A prediction with the keys it becomes in the query. */
export function predictionOutput(
  prediction: Prediction,
  model: Pick<PredictModel, 'card'>,
  request: Pick<OutputRequest, 'keyAdded'>,
): PredictionOutput {
  const annotations = predictionAnnotations(prediction, model.card, { keyAdded: request.keyAdded });
  return { prediction, annotations };
}

/** The lower layers' callbacks for prediction, its progress in the words 'predicting'. */
export function predictingControl(control: WorkflowControl) {
  const layers = layerControl(control);
  return {
    ...layers,
    onProgress: (_stage: string, done: number, total: number) =>
      layers.onProgress?.('predicting', done, total),
  };
}
