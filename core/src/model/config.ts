/** Architecture of the scNym classifier and its domain adversary (defaults = the original's). */
export interface NetworkConfig {
  nGenes: number;
  nClasses: number;
  /** Number of domains the adversary tells apart (≥ 2; 0 or 1 = no adversary). */
  nDomains: number;
  /** Width of the first hidden layer (n_hidden_init). */
  nHiddenInit: number;
  /** Width of the other hidden layers and of the embedding (n_hidden). */
  nHidden: number;
  /**
   * The original's n_layers: the network has n_layers + 1 hidden Linear layers (2 ⇒ 3).
   * Unlike the original (list repetition), extra layers are not weight-tied.
   */
  nLayers: number;
  /** Dropout after every hidden BatchNorm. */
  dropout: number;
  /** Hidden blocks after the second become residual blocks. */
  residual: boolean;
  /** Hidden width of the adversary's single hidden layer. */
  adversaryHidden: number;
}

export const DEFAULT_NETWORK: Omit<NetworkConfig, 'nGenes' | 'nClasses' | 'nDomains'> = {
  nHiddenInit: 256,
  nHidden: 256,
  nLayers: 2,
  dropout: 0.5,
  residual: false,
  adversaryHidden: 256,
};

/** PyTorch BatchNorm1d: momentum 0.1 on the new statistic (Keras momentum 0.9), eps 1e-5. */
export const BN_MOMENTUM = 0.1;
export const BN_EPSILON = 1e-5;
