/** The names the panel writes under (the CLI's defaults for --key-added scNym). */
export const LABEL = 'scNym';
export const CONFIDENCE = 'scNym_confidence';
export const EMBEDDING = 'X_scnym';
/** The label of cells below the threshold in new_identity_discovery. */
export const UNKNOWN = 'Unknown';
