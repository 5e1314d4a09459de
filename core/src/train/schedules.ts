/** Per-epoch weight schedules (the original's ICLWeight). */

/** 0 before burn-in, then a linear ramp to `max` over `rampEpochs` (MixMatch weight w_u). */
export function linearRamp(epoch: number, rampEpochs: number, max: number, burnIn = 0): number {
  if (epoch < burnIn) return 0;
  if (rampEpochs <= 0 || epoch >= rampEpochs + burnIn) return max;
  return (max / rampEpochs) * (epoch - burnIn);
}

/** max·exp(−5(1 − t)²) with t = (epoch − burnIn)/rampEpochs, then max (DAN's GRL scale λ). */
export function sigmoidRamp(epoch: number, rampEpochs: number, max: number, burnIn = 0): number {
  if (epoch < burnIn) return 0;
  if (rampEpochs <= 0 || epoch >= rampEpochs + burnIn) return max;
  const t = (epoch - burnIn) / rampEpochs;
  return max * Math.exp(-5 * (1 - t) * (1 - t));
}
