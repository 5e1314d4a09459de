/** Scores for predictions against known labels. */

export function accuracy(truth: ArrayLike<number>, predicted: ArrayLike<number>): number {
  let hits = 0;
  for (let i = 0; i < truth.length; i++) if (truth[i] === predicted[i]) hits++;
  return truth.length ? hits / truth.length : NaN;
}

/** Mean per-class recall over the classes present in `truth`. */
export function balancedAccuracy(truth: ArrayLike<number>, predicted: ArrayLike<number>): number {
  const hits = new Map<number, number>();
  const counts = new Map<number, number>();
  for (let i = 0; i < truth.length; i++) {
    counts.set(truth[i], (counts.get(truth[i]) ?? 0) + 1);
    if (truth[i] === predicted[i]) hits.set(truth[i], (hits.get(truth[i]) ?? 0) + 1);
  }
  let sum = 0;
  for (const [c, n] of counts) sum += (hits.get(c) ?? 0) / n;
  return counts.size ? sum / counts.size : NaN;
}

/** Expected calibration error over `nBins` equal-width confidence bins. */
export function expectedCalibrationError(
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
  confidence: ArrayLike<number>,
  nBins = 10,
): number {
  const count = new Float64Array(nBins);
  const correct = new Float64Array(nBins);
  const confSum = new Float64Array(nBins);
  for (let i = 0; i < truth.length; i++) {
    const bin = Math.min(nBins - 1, Math.max(0, Math.ceil(confidence[i] * nBins) - 1));
    count[bin]++;
    confSum[bin] += confidence[i];
    if (truth[i] === predicted[i]) correct[bin]++;
  }
  let ece = 0;
  for (let b = 0; b < nBins; b++) {
    if (count[b] > 0)
      ece += (count[b] / truth.length) * Math.abs(correct[b] / count[b] - confSum[b] / count[b]);
  }
  return ece;
}
