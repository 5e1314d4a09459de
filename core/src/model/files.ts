/**
 * A trained model as files: `model.json` + `weights.bin` (a TF.js layers model any TF.js can
 * load) and `scnym.json` (what scNym needs to use it again: genes in order, classes,
 * preprocessing, training options and scores, provenance). Platform-neutral: the caller reads
 * and writes the bytes (Node folder, browser download, IndexedDB, …).
 */
import * as tf from '@tensorflow/tfjs';
import { ScnymError } from '../errors.js';
import { linearHeadOf, type LinearHeadCard } from '../linear/head.js';
import { noveltyOf, type NoveltyCard } from '../novelty/reference.js';
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
  /** A linear model whose probabilities are averaged with the network's (format ≥ 2). */
  linear?: LinearHeadCard;
  /** What scores each cell's distance from the reference (format ≥ 3). */
  novelty?: NoveltyCard;
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
    [SCNYM_JSON, cardBytes(card)],
  ]);
}

/** scnym.json's bytes: what modelToFiles writes, and what the viewer's Save stamps and checks. */
export function cardBytes(card: ModelCard | Record<string, unknown>): Uint8Array {
  return encoder.encode(JSON.stringify(card, null, 2) + '\n');
}

function toBuffers(data: tf.io.WeightData): ArrayBuffer[] {
  return Array.isArray(data) ? data : [data];
}

/**
 * Reads one file of a model folder, or undefined when it does not exist. `name` is always a plain
 * file name (see isPlainFileName). A reader that can see a file's size should refuse one larger
 * than `maxBytes` before reading it (with modelFileTooLarge); the bytes are checked again here.
 */
export type ReadModelFile = (name: string, maxBytes: number) => Promise<Uint8Array | undefined>;

/** scnym.json and model.json: far above what any real model writes (a 60,000-gene card is ~2 MB). */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;
/** The most weight bytes a model may describe: one ArrayBuffer, and Node's readFile, stop at 2 GiB. */
export const MAX_WEIGHT_BYTES = 2 ** 31 - 1;

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/**
 * A name that stays inside the model folder on every platform: no separators, no `..`, no drive,
 * no hidden or special file. Manifests may prefix it with `./` (TF.js and scnym train do).
 */
export function isPlainFileName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && !name.startsWith('.') && !/[/\\:\0]/.test(name);
}

/** The error for a file larger than its manifest allows, refused before it is read. */
export function modelFileTooLarge(
  source: string,
  name: string,
  size: number,
  maxBytes: number,
): ScnymError {
  return new ScnymError(
    `is ${size} bytes, more than the ${maxBytes} its model describes: refused without reading it`,
    {
      code: 'bad-model',
      file: `${source}/${name}`,
      hint: 'the file belongs to another model or is not a model file; train the model again (scnym train … --model-out DIR)',
    },
  );
}

/**
 * Loads and validates a model: format version, the manifest (plain file names inside the folder,
 * weight specs, sizes), the card against the weights (gene and class counts), and the weight bytes
 * against the manifest. No file is read beyond what the manifest describes. Every failure names
 * the file, the field and the fix.
 */
export async function modelFromFiles(read: ReadModelFile, source: string): Promise<LoadedModel> {
  const fail = (file: string, problem: string, hint: string, element?: string) =>
    new ScnymError(problem, { file: `${source}/${file}`, element, hint, code: 'bad-model' });
  const retrain = 'train the model again (scnym train … --model-out DIR)';
  const readChecked = async (name: string, maxBytes: number) => {
    const bytes = await read(name, maxBytes);
    if (bytes && bytes.length > maxBytes)
      throw modelFileTooLarge(source, name, bytes.length, maxBytes);
    return bytes;
  };

  const cardBytes = await readChecked(SCNYM_JSON, MAX_JSON_BYTES);
  if (!cardBytes) {
    throw new ScnymError(`not an scNym model folder: ${SCNYM_JSON} is missing`, {
      code: 'bad-model',
      file: source,
      hint: 'pass the folder written by scnym train --model-out',
    });
  }
  const card = parseJson(cardBytes, () =>
    fail(SCNYM_JSON, 'is not valid JSON', retrain),
  ) as ModelCard;
  if (!isObject(card) || card.format !== MODEL_FORMAT) {
    throw fail(
      SCNYM_JSON,
      `is not an scNym model card (format '${String(isObject(card) ? card.format : card)}')`,
      retrain,
    );
  }
  const version = card.formatVersion;
  if (!Number.isInteger(version) || version < 1) {
    throw fail(
      SCNYM_JSON,
      `must be a whole number ≥ 1 (got ${JSON.stringify(version)})`,
      `${retrain}; the file was edited or damaged`,
      'formatVersion',
    );
  }
  if (version > MODEL_FORMAT_VERSION) {
    throw fail(
      SCNYM_JSON,
      `was written by a newer scNym (model format ${version}; this one reads ≤ ${MODEL_FORMAT_VERSION})`,
      'upgrade scnym',
    );
  }
  if (!isStringList(card.genes) || !isStringList(card.classNames) || !isObject(card.network)) {
    throw fail(SCNYM_JSON, 'lacks genes or classNames (lists of names) or network', retrain);
  }

  const modelBytes = await readChecked(MODEL_JSON, MAX_JSON_BYTES);
  if (!modelBytes) throw fail(MODEL_JSON, 'is missing', retrain);
  const modelJson = parseJson(modelBytes, () => fail(MODEL_JSON, 'is not valid JSON', retrain)) as {
    modelTopology?: object;
    weightsManifest?: unknown;
    userDefinedMetadata?: { [key: string]: object };
    format?: string;
    generatedBy?: string;
    convertedBy?: string | null;
  };
  if (
    !isObject(modelJson) ||
    !isObject(modelJson.modelTopology) ||
    !Array.isArray(modelJson.weightsManifest) ||
    modelJson.weightsManifest.length === 0
  ) {
    throw fail(MODEL_JSON, 'has no model topology or weights manifest', retrain);
  }
  const { names, specs } = checkManifest(modelJson.weightsManifest, (problem, element) =>
    fail(MODEL_JSON, problem, retrain, element),
  );
  checkShapes(card, specs, (problem) => fail(MODEL_JSON, problem, retrain));
  if (card.linear !== undefined) {
    const head = linearHeadOf(card.linear, card.genes.length, card.classNames.length);
    if (typeof head === 'string')
      throw fail(SCNYM_JSON, head, `${retrain}; the file was edited or damaged`, 'linear');
  }
  if (card.novelty !== undefined) {
    const reference = noveltyOf(card.novelty, card.genes.length);
    if (typeof reference === 'string')
      throw fail(SCNYM_JSON, reference, `${retrain}; the file was edited or damaged`, 'novelty');
  }
  const expected = specs.reduce(
    (n, s) => n + s.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[s.dtype],
    0,
  );
  if (expected > MAX_WEIGHT_BYTES) {
    throw fail(
      MODEL_JSON,
      `describes ${expected} bytes of weights, more than the ${MAX_WEIGHT_BYTES} a model can load`,
      retrain,
      'weightsManifest',
    );
  }

  // Each file may hold at most what the manifest still expects, so nothing larger is ever read.
  const buffers: Uint8Array[] = [];
  let total = 0;
  for (const name of names) {
    const bytes = await readChecked(name, expected - total);
    if (!bytes) throw fail(name, 'is missing', retrain);
    buffers.push(bytes);
    total += bytes.length;
  }
  if (total !== expected) {
    throw fail(
      names.length === 1 ? names[0] : WEIGHTS_BIN,
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
        formatVersion: version,
        genes: card.genes,
        classNames: card.classNames,
        network: card.network,
        input: 'log1p-cpm',
      },
    });
    return { network, genes: card.genes, classNames: card.classNames, card };
  } catch (err) {
    throw new ScnymError(`could not build the network: ${(err as Error).message}`, {
      code: 'bad-model',
      file: `${source}/${MODEL_JSON}`,
      hint: retrain,
      cause: err,
    });
  }
}

/**
 * The weight files (plain names, in order) and specs of a manifest, each field checked: a
 * hostile manifest must not name files outside the folder nor make us compute with garbage.
 */
function checkManifest(
  manifest: unknown[],
  fail: (problem: string, element: string) => Error,
): { names: string[]; specs: tf.io.WeightsManifestEntry[] } {
  const names: string[] = [];
  const specs: tf.io.WeightsManifestEntry[] = [];
  manifest.forEach((group, g) => {
    const at = `weightsManifest[${g}]`;
    if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw fail('must be an object with a paths list and a weights list', at);
    }
    group.paths.forEach((path: unknown, p) => {
      const name = typeof path === 'string' ? path.replace(/^\.\//, '') : '';
      if (!isPlainFileName(name)) {
        throw fail(
          `${JSON.stringify(path)} is not a file name inside the model folder (no folders, '..', absolute or hidden paths)`,
          `${at}.paths[${p}]`,
        );
      }
      names.push(name);
    });
    group.weights.forEach((spec: unknown, w) => {
      const where = `${at}.weights[${w}]`;
      if (!isObject(spec) || typeof spec.name !== 'string' || spec.name === '') {
        throw fail('a weight needs a name (a string)', `${where}.name`);
      }
      const shape = spec.shape;
      if (
        !Array.isArray(shape) ||
        !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)
      ) {
        throw fail(
          `shape must be a list of whole numbers ≥ 0 (got ${JSON.stringify(shape)})`,
          `${where}.shape`,
        );
      }
      if (typeof spec.dtype !== 'string' || !(spec.dtype in DTYPE_BYTES)) {
        throw fail(
          `dtype ${JSON.stringify(spec.dtype)} is not one of ${Object.keys(DTYPE_BYTES).join(', ')}`,
          `${where}.dtype`,
        );
      }
      if (spec.quantization !== undefined) {
        throw fail('quantised weights are not supported', `${where}.quantization`);
      }
      specs.push(spec as unknown as tf.io.WeightsManifestEntry);
    });
  });
  if (names.length === 0) throw fail('names no weight file', 'weightsManifest');
  return { names, specs };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function parseJson(bytes: Uint8Array, error: () => Error): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    throw error();
  }
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
