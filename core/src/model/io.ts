/**
 * Platform-neutral (de)serialisation: the classifier as TF.js LayersModel artifacts
 * (model.json topology + weight specs + weight bytes) with scNym's metadata in
 * userDefinedMetadata. File or IndexedDB adapters build on these two functions.
 */
import * as tf from '@tensorflow/tfjs';
import type { NetworkConfig } from './config.js';
import { ScnymNetwork, wrapModels } from './network.js';

export const MODEL_FORMAT = 'scnym-tfjs';
/** 2: the card may hold a linear head (linear/head.ts); 3: a novelty reference (novelty/). */
export const MODEL_FORMAT_VERSION = 3;

export interface ScnymModelMetadata {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  /** Input genes in model column order. */
  genes: string[];
  /** Output classes in logit order. */
  classNames: string[];
  network: NetworkConfig;
  /** What the network expects as input. */
  input: 'log1p-cpm';
  /** Anything else worth keeping (training options, scores, provenance). */
  extra?: Record<string, unknown>;
}

export interface ScnymArtifacts {
  classifier: tf.io.ModelArtifacts;
  /** The domain adversary; only needed to continue training. */
  adversary?: tf.io.ModelArtifacts;
  metadata: ScnymModelMetadata;
}

export async function toArtifacts(
  network: ScnymNetwork,
  metadata: ScnymModelMetadata,
  options: { includeAdversary?: boolean } = {},
): Promise<ScnymArtifacts> {
  network.classifier.setUserDefinedMetadata({ scnym: metadata } as unknown as object);
  const classifier = await captureArtifacts(network.classifier);
  const adversary =
    options.includeAdversary && network.adversary
      ? await captureArtifacts(network.adversary)
      : undefined;
  return { classifier, adversary, metadata };
}

export async function fromArtifacts(
  artifacts: Pick<ScnymArtifacts, 'classifier' | 'adversary'> & { metadata?: ScnymModelMetadata },
): Promise<{ network: ScnymNetwork; metadata: ScnymModelMetadata }> {
  const metadata = artifacts.metadata ?? readMetadata(artifacts.classifier);
  const classifier = await tf.loadLayersModel(tf.io.fromMemory(artifacts.classifier));
  const adversary = artifacts.adversary
    ? await tf.loadLayersModel(tf.io.fromMemory(artifacts.adversary))
    : null;
  const config: NetworkConfig = {
    ...metadata.network,
    nDomains: adversary ? metadata.network.nDomains : 0,
  };
  return { network: wrapModels(config, classifier, adversary), metadata };
}

/** scNym metadata stored in a classifier's model.json, or an error if it is not an scNym model. */
export function readMetadata(classifier: tf.io.ModelArtifacts): ScnymModelMetadata {
  const meta = (classifier.userDefinedMetadata as { scnym?: ScnymModelMetadata } | undefined)
    ?.scnym;
  if (!meta || meta.format !== MODEL_FORMAT) {
    throw new Error('model.json carries no scNym metadata (userDefinedMetadata.scnym)');
  }
  if (meta.formatVersion > MODEL_FORMAT_VERSION) {
    throw new Error(
      `scNym model format ${meta.formatVersion} is newer than this reader (${MODEL_FORMAT_VERSION})`,
    );
  }
  return meta;
}

async function captureArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  if (!captured) throw new Error('model.save produced no artifacts');
  return captured;
}
