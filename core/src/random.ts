/**
 * A small seedable PRNG (xoshiro128**, seeded through splitmix32) and the samplers training needs.
 * Every random choice in training and initialisation goes through here so that a seed makes a run
 * reproducible on one backend; Math.random is never used.
 */

function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [(z ^ (z >>> 16)) >>> 0, state];
}

export class Rng {
  private readonly s = new Uint32Array(4);
  /** Second normal from the last Box–Muller draw. */
  private spareNormal: number | null = null;

  constructor(seed: number) {
    let state = Math.floor(seed) | 0;
    for (let i = 0; i < 4; i++) {
      const [value, next] = splitmix32(state);
      this.s[i] = value;
      state = next;
    }
    if (this.s[0] === 0 && this.s[1] === 0 && this.s[2] === 0 && this.s[3] === 0) this.s[0] = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /**
   * out[i] = value where a uniform draw is below p, else 0: what `uniform() < p ? value : 0` per
   * element gives (the same draws, in order), with the state in locals instead of the array
   * (dropout masks: ~2× faster).
   */
  fillBernoulli(out: Float32Array, p: number, value: number): void {
    // uniform() < p ⇔ the 32-bit draw < p·2³² (both sides exact in double precision).
    const threshold = p * 4294967296;
    let s0 = this.s[0] | 0;
    let s1 = this.s[1] | 0;
    let s2 = this.s[2] | 0;
    let s3 = this.s[3] | 0;
    for (let i = 0; i < out.length; i++) {
      const x = Math.imul(s1, 5);
      const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      out[i] = result < threshold ? value : 0;
    }
    this.s[0] = s0;
    this.s[1] = s1;
    this.s[2] = s2;
    this.s[3] = s3;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Gamma(shape, 1) by Marsaglia–Tsang; shape < 1 uses the U^(1/shape) boost. */
  gamma(shape: number): number {
    if (shape <= 0) throw new RangeError(`gamma shape must be > 0, got ${shape}`);
    if (shape < 1) {
      let u = 0;
      while (u === 0) u = this.uniform();
      return this.gamma(shape + 1) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniform();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Beta(a, b) from two gammas. */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const y = this.gamma(b);
    const sum = x + y;
    // Both gammas can underflow to 0 for tiny shapes; fall back to a fair coin between the ends.
    return sum > 0 ? x / sum : this.uniform() < a / (a + b) ? 1 : 0;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    this.shuffle(out);
    return out;
  }

  /** Shuffles in place (Fisher–Yates). */
  shuffle<T extends { length: number; [i: number]: number }>(values: T): T {
    for (let i = values.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = values[i];
      values[i] = values[j];
      values[j] = tmp;
    }
    return values;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
