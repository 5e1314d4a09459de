/** Interpretation: gene attributions (saliency) of the classifier, per cell and per class. */
export * from './gradients.js';
export * from './markers.js';
export * from './saliency.js';
export * from './dot-plot.js';
