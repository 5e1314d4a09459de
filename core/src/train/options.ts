/** Training options, the original's defaults, the project default and the named configs. */
import { DEFAULT_NETWORK, type NetworkConfig } from '../model/config.js';

export type OptimizerName = 'adadelta' | 'adam';

export interface TrainOptions {
  seed: number;
  nEpochs: number;
  /** Labeled batches per epoch are topped up (reshuffled passes) to at least this many. */
  minStepsPerEpoch: number;
  batchSize: number;
  optimizer: OptimizerName;
  learningRate: number;
  /** L2 penalty added to the gradient (torch weight_decay). */
  weightDecay: number;
  /** Sample labeled rows so every class is equally likely. */
  balancedClasses: boolean;
  /** Labeled targets become (1 − ε)·one-hot + ε/K before MixUp; 0 = the original's one-hot. */
  labelSmoothing: number;

  // MixMatch
  /** Max weight of the consistency loss; 0 turns semi-supervision off. */
  unsupMaxWeight: number;
  rampEpochs: number;
  burnInEpochs: number;
  sharpenTemperature: number;
  mixupAlpha: number;
  /** Probability of dropping an entry in the log1p_drop augmentation of labeled rows. */
  augmentDropRate: number;
  /** Unlabeled rows whose teacher confidence is below this are not mixed nor penalised. */
  pseudolabelMinConfidence: number;

  // Domain adversary
  /** Max gradient-reversal scale λ; 0 turns the adversary off. */
  danMaxWeight: number;
  danRampEpochs: number;
  danBurnInEpochs: number;
  /** The adversary sees only confidently pseudolabeled unlabeled rows. */
  danUseConfidentOnly: boolean;

  // Model selection
  heldOutFraction: number;
  selectionFraction: number;
  /** Epochs before a best model may be taken. */
  minEpochs: number;
  /** Stop when this many epochs pass without a better selection loss. */
  patience: number;

  network: Omit<NetworkConfig, 'nGenes' | 'nClasses' | 'nDomains'>;
}

/** The original scNym's `default` / `no_new_identity` configuration (doc §3–§5). */
export const ORIGINAL: TrainOptions = {
  seed: 0,
  nEpochs: 100,
  minStepsPerEpoch: 1,
  batchSize: 256,
  optimizer: 'adadelta',
  learningRate: 1.0,
  weightDecay: 1e-4,
  balancedClasses: false,
  labelSmoothing: 0,
  unsupMaxWeight: 1.0,
  rampEpochs: 100,
  burnInEpochs: 0,
  sharpenTemperature: 0.5,
  mixupAlpha: 0.3,
  augmentDropRate: 0.1,
  pseudolabelMinConfidence: 0,
  danMaxWeight: 0.1,
  danRampEpochs: 20,
  danBurnInEpochs: 0,
  danUseConfidentOnly: false,
  heldOutFraction: 0.1,
  selectionFraction: 0.1,
  minEpochs: 20,
  patience: 40,
  network: { ...DEFAULT_NETWORK },
};

/**
 * The project default. For now identical to the original: the candidate changes (Adam lr 1e-3,
 * a 20-epoch consistency ramp, class-balanced sampling) raised Kang accuracy and lowered ECE on
 * one seed but also lowered balanced accuracy, so nothing is switched until measured on 3 seeds.
 */
export const PROJECT_DEFAULT: TrainOptions = {
  ...ORIGINAL,
};

export type ConfigName = 'no_new_identity' | 'new_identity_discovery' | 'no_dan' | 'no_ssl';

/** The original's named configs, as changes on top of a preset. */
export const CONFIGS: Record<ConfigName, Partial<TrainOptions>> = {
  no_new_identity: {},
  new_identity_discovery: { pseudolabelMinConfidence: 0.9, danUseConfidentOnly: true },
  no_dan: { danMaxWeight: 0, danRampEpochs: 1 },
  // The original's no_ssl leaves MixMatch on by mistake; here it is really off.
  no_ssl: { danMaxWeight: 0, danRampEpochs: 1, unsupMaxWeight: 0 },
};

export type PresetName = 'original' | 'default';

export function resolveOptions(
  preset: PresetName = 'default',
  config: ConfigName = 'no_new_identity',
  overrides: Partial<TrainOptions> = {},
): TrainOptions {
  const base = preset === 'original' ? ORIGINAL : PROJECT_DEFAULT;
  const merged = { ...base, ...CONFIGS[config], ...overrides };
  return { ...merged, network: { ...base.network, ...overrides.network } };
}
