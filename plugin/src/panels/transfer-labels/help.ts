/**
 * One line of help per term of the panel, shown as the tooltip of its row (form-view's `row`)
 * or button: what a biologist new to scNym needs to read the form and the results.
 */
import { LOW_CONFIDENCE_THRESHOLD } from '@scnym/core/vocabulary';

export const HELP: Record<string, string> = {
  Source:
    'Where the labels come from: a labelled reference dataset to train on, or a model ' +
    'trained before',
  'Label column': "The reference's obs column holding the cell types to transfer",
  'Domain column':
    'An obs column naming the batch, donor or technology of each cell: the model learns to ' +
    'ignore differences between these domains (none: the reference and the query are two domains)',
  Config:
    'no_new_identity: every query cell gets a reference class; new_identity_discovery: cells ' +
    `the model is unsure of (confidence below ${LOW_CONFIDENCE_THRESHOLD}) are called Unknown`,
  'Gene names': 'The var column holding gene names, so genes of the two datasets are matched',
  Epochs: 'Passes over the data in training (empty: the preset’s); fewer is faster but rougher',
  Class: 'The predicted class whose marker genes are shown',
  Method:
    'How each gene’s part in the prediction is measured: gradient (fast), integrated or ' +
    'expected gradients (steadier, slower)',
  confidence:
    'The probability the model gives its predicted class (0–1): low values mark cells to check',
  novelty:
    'How far each cell lies from the reference’s cells, whatever the model predicts: 1 is a ' +
    'typical reference cell; a group of cells well above the rest may be a type the reference lacks',
};
