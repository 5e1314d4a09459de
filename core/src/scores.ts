// @scnym/core/scores: scoring predictions against known labels (accuracy, balanced accuracy,
// per-class scores, confusion, calibration, coverage, novel-type AUROC) without TensorFlow.js,
// for the VS Code webviews' worker and pages as well as the CLI.
export * from './evaluate.js';
export { accuracy, balancedAccuracy, expectedCalibrationError } from './train/metrics.js';
export {
  auroc,
  calibrationReport,
  type CalibrationReport,
  type ReliabilityBin,
} from './calibration.js';
