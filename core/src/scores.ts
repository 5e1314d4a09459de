// @scnym/core/scores: scoring predictions against known labels (accuracy, balanced accuracy,
// per-class scores, confusion, calibration, coverage, novel-type AUROC) without TensorFlow.js,
// for the VS Code webviews' worker and pages as well as the CLI; and the dot plot's per-group
// expression numbers (fraction expressing, mean), which the viewer's page computes.
export * from './evaluate.js';
export { accuracy, balancedAccuracy, expectedCalibrationError } from './train/metrics.js';
export {
  auroc,
  calibrationReport,
  type CalibrationReport,
  type ReliabilityBin,
} from './calibration.js';
export {
  dotPlotGenes,
  groupExpression,
  groupSizes,
  type GroupExpression,
} from './interpret/dot-plot.js';
