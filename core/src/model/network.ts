/**
 * The scNym classifier (Linear → BatchNorm → Dropout → ReLU blocks, then a Linear to logits) and
 * its domain adversary, stored as TF.js LayersModels so they save and load as model.json +
 * weights. Training runs its own forward pass over the same variables (see forward.ts), which
 * gives seeded dropout and PyTorch-style BatchNorm statistics.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random.js';
import { BN_EPSILON, BN_MOMENTUM, type NetworkConfig } from './config.js';

export interface LinearParams {
  kernel: tf.Variable;
  bias: tf.Variable;
}

export interface BatchNormParams {
  gamma: tf.Variable;
  beta: tf.Variable;
  movingMean: tf.Variable;
  movingVariance: tf.Variable;
}

export type HiddenBlock =
  | { kind: 'plain'; linear: LinearParams; norm: BatchNormParams }
  | {
      kind: 'residual';
      linearA: LinearParams;
      normA: BatchNormParams;
      linearB: LinearParams;
      normB: BatchNormParams;
      norm: BatchNormParams;
    };

export interface ClassifierParams {
  blocks: HiddenBlock[];
  output: LinearParams;
}

export interface AdversaryParams {
  hidden: LinearParams;
  output: LinearParams;
}

export class ScnymNetwork {
  constructor(
    readonly config: NetworkConfig,
    readonly classifier: tf.LayersModel,
    readonly adversary: tf.LayersModel | null,
    readonly params: ClassifierParams,
    readonly adversaryParams: AdversaryParams | null,
  ) {}

  /** Variables the optimiser updates: classifier first, then the adversary. */
  trainableVariables(): tf.Variable[] {
    const vars: tf.Variable[] = [];
    for (const block of this.params.blocks) {
      if (block.kind === 'plain') vars.push(...linearVars(block.linear), ...normVars(block.norm));
      else {
        vars.push(...linearVars(block.linearA), ...normVars(block.normA));
        vars.push(...linearVars(block.linearB), ...normVars(block.normB), ...normVars(block.norm));
      }
    }
    vars.push(...linearVars(this.params.output));
    if (this.adversaryParams) {
      vars.push(
        ...linearVars(this.adversaryParams.hidden),
        ...linearVars(this.adversaryParams.output),
      );
    }
    return vars;
  }

  /** Every weight including BatchNorm moving statistics (for best-model snapshots). */
  allVariables(): tf.Variable[] {
    const models = this.adversary ? [this.classifier, this.adversary] : [this.classifier];
    return models.flatMap((m) => m.weights.map((w) => w.read() as tf.Variable));
  }

  /** Copies of all weights; restore() puts them back. */
  snapshot(): tf.Tensor[] {
    return this.allVariables().map((v) => tf.clone(v));
  }

  restore(snapshot: readonly tf.Tensor[]): void {
    this.allVariables().forEach((v, i) => v.assign(snapshot[i]));
  }

  dispose(): void {
    this.classifier.dispose();
    this.adversary?.dispose();
  }
}

function linearVars(p: LinearParams): tf.Variable[] {
  return [p.kernel, p.bias];
}

function normVars(p: BatchNormParams): tf.Variable[] {
  return [p.gamma, p.beta];
}

// ---------------------------------------------------------------------------------------------
// Building

/** Builds classifier and adversary with PyTorch-default initial weights drawn from `seed`. */
export function createNetwork(config: NetworkConfig, seed: number): ScnymNetwork {
  const rng = new Rng(seed);
  const classifier = buildClassifierModel(config);
  const adversary = config.nDomains >= 2 ? buildAdversaryModel(config) : null;
  tf.tidy(() => {
    for (const layer of classifier.layers) initializeLayer(layer, rng);
    if (adversary) for (const layer of adversary.layers) initializeLayer(layer, rng);
  });
  return wrapModels(config, classifier, adversary);
}

/** Wraps loaded LayersModels (adversary optional) as a network. */
export function wrapModels(
  config: NetworkConfig,
  classifier: tf.LayersModel,
  adversary: tf.LayersModel | null,
): ScnymNetwork {
  const linear = (name: string): LinearParams => {
    const [kernel, bias] = layerVars(classifier, name);
    return { kernel, bias };
  };
  const norm = (name: string): BatchNormParams => {
    const [gamma, beta, movingMean, movingVariance] = layerVars(classifier, name);
    return { gamma, beta, movingMean, movingVariance };
  };
  const blocks: HiddenBlock[] = [];
  for (let i = 0; i < nHiddenBlocks(config); i++) {
    const p = `hidden${i}`;
    blocks.push(
      isResidualBlock(config, i)
        ? {
            kind: 'residual',
            linearA: linear(`${p}_res_dense_a`),
            normA: norm(`${p}_res_bn_a`),
            linearB: linear(`${p}_res_dense_b`),
            normB: norm(`${p}_res_bn_b`),
            norm: norm(`${p}_bn`),
          }
        : { kind: 'plain', linear: linear(`${p}_dense`), norm: norm(`${p}_bn`) },
    );
  }
  const params: ClassifierParams = { blocks, output: linear('logits') };
  let adversaryParams: AdversaryParams | null = null;
  if (adversary) {
    const [hk, hb] = layerVars(adversary, 'domain_hidden');
    const [ok, ob] = layerVars(adversary, 'domain_logits');
    adversaryParams = { hidden: { kernel: hk, bias: hb }, output: { kernel: ok, bias: ob } };
  }
  return new ScnymNetwork(config, classifier, adversary, params, adversaryParams);
}

export function nHiddenBlocks(config: NetworkConfig): number {
  return config.nLayers + 1;
}

function isResidualBlock(config: NetworkConfig, index: number): boolean {
  return config.residual && index >= 2;
}

function layerVars(model: tf.LayersModel, name: string): tf.Variable[] {
  return model.getLayer(name).weights.map((w) => w.read() as tf.Variable);
}

function buildClassifierModel(config: NetworkConfig): tf.LayersModel {
  const input = tf.input({ shape: [config.nGenes], name: 'expression' });
  let h = input;
  for (let i = 0; i < nHiddenBlocks(config); i++) {
    const p = `hidden${i}`;
    const units = i === 0 ? config.nHiddenInit : config.nHidden;
    if (isResidualBlock(config, i)) {
      let r = dense(`${p}_res_dense_a`, units).apply(h) as tf.SymbolicTensor;
      r = batchNorm(`${p}_res_bn_a`).apply(r) as tf.SymbolicTensor;
      r = tf.layers.reLU({ name: `${p}_res_relu_a` }).apply(r) as tf.SymbolicTensor;
      r = dense(`${p}_res_dense_b`, units).apply(r) as tf.SymbolicTensor;
      r = batchNorm(`${p}_res_bn_b`).apply(r) as tf.SymbolicTensor;
      r = tf.layers.add({ name: `${p}_res_add` }).apply([r, h]) as tf.SymbolicTensor;
      h = tf.layers.reLU({ name: `${p}_res_relu` }).apply(r) as tf.SymbolicTensor;
    } else {
      h = dense(`${p}_dense`, units).apply(h) as tf.SymbolicTensor;
    }
    h = batchNorm(`${p}_bn`).apply(h) as tf.SymbolicTensor;
    h = tf.layers
      .dropout({ rate: config.dropout, name: `${p}_dropout` })
      .apply(h) as tf.SymbolicTensor;
    h = tf.layers.reLU({ name: `${p}_relu` }).apply(h) as tf.SymbolicTensor;
  }
  const logits = dense('logits', config.nClasses).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'scnym_classifier' });
}

function buildAdversaryModel(config: NetworkConfig): tf.LayersModel {
  const input = tf.input({ shape: [config.nHidden], name: 'embedding' });
  let h = dense('domain_hidden', config.adversaryHidden).apply(input) as tf.SymbolicTensor;
  h = tf.layers.reLU({ name: 'domain_relu' }).apply(h) as tf.SymbolicTensor;
  const logits = dense('domain_logits', config.nDomains).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'scnym_domain_adversary' });
}

function dense(name: string, units: number): tf.layers.Layer {
  return tf.layers.dense({ units, name, useBias: true });
}

function batchNorm(name: string): tf.layers.Layer {
  return tf.layers.batchNormalization({ name, momentum: 1 - BN_MOMENTUM, epsilon: BN_EPSILON });
}

/**
 * PyTorch defaults: Linear weight and bias ~ U(±1/√fan_in) (Kaiming-uniform with a=√5);
 * BatchNorm γ=1, β=0, running mean 0, running variance 1.
 */
function initializeLayer(layer: tf.layers.Layer, rng: Rng): void {
  const weights = layer.getWeights();
  if (weights.length === 0) return;
  const className = layer.getClassName();
  if (className === 'Dense') {
    const [kernel, bias] = weights;
    const fanIn = kernel.shape[0];
    const bound = 1 / Math.sqrt(fanIn);
    const draw = (n: number) => {
      const values = new Float32Array(n);
      for (let i = 0; i < n; i++) values[i] = (rng.uniform() * 2 - 1) * bound;
      return values;
    };
    layer.setWeights([
      tf.tensor(draw(kernel.size), kernel.shape),
      tf.tensor(draw(bias.size), bias.shape),
    ]);
  } else if (className === 'BatchNormalization') {
    const n = weights[0].size;
    layer.setWeights([tf.ones([n]), tf.zeros([n]), tf.zeros([n]), tf.ones([n])]);
  }
}
