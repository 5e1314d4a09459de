/** The names the panel writes under: core's keys for the default prefix (--key-added scNym). */
import { annotationKeys, UNKNOWN_LABEL } from '@scnym/core/vocabulary';

const KEYS = annotationKeys();
export const LABEL = KEYS.label;
export const CONFIDENCE = KEYS.confidence;
export const NOVELTY = KEYS.novelty;
export const EMBEDDING = KEYS.embedding;
export const MARKERS = KEYS.markers;
/** The label of cells below the threshold in new_identity_discovery. */
export const UNKNOWN = UNKNOWN_LABEL;
