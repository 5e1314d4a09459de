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
import { layerControl, type WorkflowControl } from './events.js';

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
  const trained = await trainOnAnnData(reference, query, request, layerControl(control));
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
      control,
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

export async function predictQuery(
  model: PredictModel,
  query: AnnData,
  request: PredictQueryRequest = {},
  control: WorkflowControl = {},
): Promise<PredictionOutput> {
  const layers = layerControl(control);
  const prediction = await predictAnnData(
    model,
    query,
    {
      ...request,
      unknownThreshold: unknownThresholdFor(
        String(model.card.training.config ?? ''),
        request.unknownThreshold,
      ),
    },
    {
      ...layers,
      onProgress: (_stage, done, total) => layers.onProgress?.('predicting', done, total),
    },
  );
  const annotations = predictionAnnotations(prediction, model.card, { keyAdded: request.keyAdded });
  return { prediction, annotations };
}
