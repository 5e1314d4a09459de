/**
 * A trained model as files: `model.json` + `weights.bin` (a TF.js layers model any TF.js can
 * load) and `scnym.json` (what scNym needs to use it again: genes in order, classes,
 * preprocessing, training options and scores, provenance). Platform-neutral: the caller reads
 * and writes the bytes (Node folder, browser download, IndexedDB, …).
 */
import * as tf from '@tensorflow/tfjs';
import { ScnymError } from '../anndata/errors.js';
import type { NetworkConfig } from './config.js';
import { fromArtifacts, MODEL_FORMAT, MODEL_FORMAT_VERSION, toArtifacts } from './io.js';
import type { ScnymNetwork } from './network.js';

export const SCNYM_JSON = 'scnym.json';
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** The contents of scnym.json. Fields are only added in later format versions. */
export interface ModelCard {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  /** Input genes, in the network's column order. */
  genes: string[];
  /** Output classes, in logit order. */
  classNames: string[];
  domainNames: string[];
  preprocessing: { input: 'log1p-cpm'; targetSum: number; log: 'natural' };
  network: NetworkConfig;
  /** Training options, summary and scores; free-form beyond these keys. */
  training: Record<string, unknown>;
  /** Softmax temperature fitted after training (1 = none). */
  temperature?: number;
  provenance: { tool: string; toolVersion: string; created: string; [key: string]: unknown };
}

export interface LoadedModel {
  network: ScnymNetwork;
  genes: string[];
  classNames: string[];
  card: ModelCard;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Serialises a network and its card into the three files. */
export async function modelToFiles(
  network: ScnymNetwork,
  card: ModelCard,
): Promise<Map<string, Uint8Array>> {
  const { classifier } = await toArtifacts(network, {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    genes: card.genes,
    classNames: card.classNames,
    network: card.network,
    input: 'log1p-cpm',
  });
  const weights = classifier.weightData
    ? new Uint8Array(tf.io.concatenateArrayBuffers(toBuffers(classifier.weightData)))
    : new Uint8Array(0);
  const modelJson = {
    format: 'layers-model',
    generatedBy: classifier.generatedBy,
    convertedBy: classifier.convertedBy ?? null,
    modelTopology: classifier.modelTopology,
    weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: classifier.weightSpecs ?? [] }],
    userDefinedMetadata: classifier.userDefinedMetadata,
  };
  return new Map([
    [MODEL_JSON, encoder.encode(JSON.stringify(modelJson))],
    [WEIGHTS_BIN, weights],
    [SCNYM_JSON, encoder.encode(JSON.stringify(card, null, 2) + '\n')],
  ]);
}

function toBuffers(data: tf.io.WeightData): ArrayBuffer[] {
  return Array.isArray(data) ? data : [data];
}

/**
 * Loads and validates a model: format version, the card against the weights (gene and class
 * counts), and the weight bytes against the manifest. Every failure names the file and the fix.
 */
export async function modelFromFiles(
  read: (name: string) => Promise<Uint8Array | undefined>,
  source: string,
): Promise<LoadedModel> {
  const fail = (file: string, problem: string, hint: string) =>
    new ScnymError(problem, { file: `${source}/${file}`, hint });
  const retrain = 'train the model again (scnym train … --model-out DIR)';

  const cardBytes = await read(SCNYM_JSON);
  if (!cardBytes) {
    throw new ScnymError(`not an scNym model folder: ${SCNYM_JSON} is missing`, {
      file: source,
      hint: 'pass the folder written by scnym train --model-out',
    });
  }
  const card = parseJson(cardBytes, () =>
    fail(SCNYM_JSON, 'is not valid JSON', retrain),
  ) as ModelCard;
  if (card.format !== MODEL_FORMAT || typeof card.formatVersion !== 'number') {
    throw fail(SCNYM_JSON, `is not an scNym model card (format '${String(card.format)}')`, retrain);
  }
  if (card.formatVersion > MODEL_FORMAT_VERSION) {
    throw fail(
      SCNYM_JSON,
      `was written by a newer scNym (model format ${card.formatVersion}; this one reads ≤ ${MODEL_FORMAT_VERSION})`,
      'upgrade scnym',
    );
  }
  if (!Array.isArray(card.genes) || !Array.isArray(card.classNames) || !card.network) {
    throw fail(SCNYM_JSON, 'lacks genes, classNames or network', retrain);
  }

  const modelBytes = await read(MODEL_JSON);
  if (!modelBytes) throw fail(MODEL_JSON, 'is missing', retrain);
  const modelJson = parseJson(modelBytes, () => fail(MODEL_JSON, 'is not valid JSON', retrain)) as {
    modelTopology?: object;
    weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    userDefinedMetadata?: { [key: string]: object };
    format?: string;
    generatedBy?: string;
    convertedBy?: string | null;
  };
  const manifest = modelJson.weightsManifest;
  if (!modelJson.modelTopology || !Array.isArray(manifest) || manifest.length === 0) {
    throw fail(MODEL_JSON, 'has no model topology or weights manifest', retrain);
  }
  const specs = manifest.flatMap((g) => g.weights);
  checkShapes(card, specs, (problem) => fail(MODEL_JSON, problem, retrain));

  const buffers: Uint8Array[] = [];
  for (const path of manifest.flatMap((g) => g.paths)) {
    const name = path.replace(/^\.\//, '');
    const bytes = await read(name);
    if (!bytes) throw fail(name, 'is missing', retrain);
    buffers.push(bytes);
  }
  const total = buffers.reduce((n, b) => n + b.length, 0);
  const expected = specs.reduce(
    (n, s) => n + s.shape.reduce((a, b) => a * b, 1) * bytesPerValue(s.dtype),
    0,
  );
  if (total !== expected) {
    throw fail(
      WEIGHTS_BIN,
      `holds ${total} bytes but ${MODEL_JSON} describes ${expected}: the file is truncated or belongs to another model`,
      retrain,
    );
  }
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    weightData.set(b, offset);
    offset += b.length;
  }
  try {
    const { network } = await fromArtifacts({
      classifier: {
        modelTopology: modelJson.modelTopology,
        weightSpecs: specs,
        weightData: weightData.buffer,
        format: modelJson.format,
        generatedBy: modelJson.generatedBy,
        convertedBy: modelJson.convertedBy ?? undefined,
        userDefinedMetadata: modelJson.userDefinedMetadata,
      },
      metadata: {
        format: MODEL_FORMAT,
        formatVersion: card.formatVersion,
        genes: card.genes,
        classNames: card.classNames,
        network: card.network,
        input: 'log1p-cpm',
      },
    });
    return { network, genes: card.genes, classNames: card.classNames, card };
  } catch (err) {
    throw new ScnymError(`could not build the network: ${(err as Error).message}`, {
      file: `${source}/${MODEL_JSON}`,
      hint: retrain,
      cause: err,
    });
  }
}

function parseJson(bytes: Uint8Array, error: () => Error): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    throw error();
  }
}

function bytesPerValue(dtype: string): number {
  return dtype === 'float32' || dtype === 'int32' ? 4 : dtype === 'bool' ? 1 : 4;
}

/** The first kernel must take one input per gene and the last produce one logit per class. */
function checkShapes(
  card: ModelCard,
  specs: tf.io.WeightsManifestEntry[],
  fail: (p: string) => Error,
) {
  const kernels = specs.filter((s) => s.shape.length === 2);
  if (kernels.length === 0) throw fail('describes no dense layers');
  const first = kernels[0].shape;
  const last = kernels[kernels.length - 1].shape;
  if (first[0] !== card.genes.length) {
    throw fail(`takes ${first[0]} genes but ${SCNYM_JSON} lists ${card.genes.length}`);
  }
  if (last[1] !== card.classNames.length) {
    throw fail(`outputs ${last[1]} classes but ${SCNYM_JSON} lists ${card.classNames.length}`);
  }
}
