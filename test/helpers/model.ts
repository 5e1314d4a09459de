// An untrained scNym model of given genes and classes, as core's model files: for tests that
// need a real model of a known shape without training one.
import {
  createNetwork,
  DEFAULT_NETWORK,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  modelToFiles,
  type ModelCard,
} from '@scnym/core';

export async function untrainedModelFiles(
  genes: string[],
  classNames: string[],
  seed: number,
  created = new Date().toISOString(),
): Promise<Map<string, Uint8Array>> {
  const config = {
    ...DEFAULT_NETWORK,
    nGenes: genes.length,
    nClasses: classNames.length,
    nDomains: 0,
  };
  const network = createNetwork(config, seed);
  const card: ModelCard = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    genes,
    classNames,
    domainNames: ['reference'],
    preprocessing: { input: 'log1p-cpm', targetSum: 1e6, log: 'natural' },
    network: config,
    training: { preset: 'default', config: 'no_new_identity' },
    provenance: { tool: 'scnym-js', toolVersion: '0.1.0', created },
  };
  try {
    return await modelToFiles(network, card);
  } finally {
    network.dispose();
  }
}
