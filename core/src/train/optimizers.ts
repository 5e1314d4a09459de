/**
 * Optimisers with PyTorch semantics, L2 weight decay added to the gradient (torch's
 * `weight_decay`). Written here because tf.train.adadelta divides by the *previous* squared-
 * gradient average, whereas torch uses the updated one.
 */
import * as tf from '@tensorflow/tfjs';
import { fusedStep } from './fused-optimizers.js';

export interface Optimizer {
  step(variables: readonly tf.Variable[], gradients: readonly tf.Tensor[]): void;
  dispose(): void;
}

/** Assigns each new value to its variable and drops the new tensors' own references. */
function assignAll(variables: tf.Variable[], values: tf.Tensor[]): void {
  variables.forEach((v, i) => v.assign(values[i]));
  tf.dispose(values);
}

/** A non-trainable zero variable shaped like v (tidy drops the zeros tensor it shares data with). */
function zeroVariable(v: tf.Tensor): tf.Variable {
  return tf.tidy(() => tf.variable(tf.zerosLike(v), false));
}

export interface AdadeltaOptions {
  learningRate: number;
  rho: number;
  epsilon: number;
  weightDecay: number;
  /** Use the one-pass WASM SIMD kernel where it runs (default true; the same floats). */
  fused?: boolean;
}

export class Adadelta implements Optimizer {
  private readonly squareAvg: tf.Variable[] = [];
  private readonly accDelta: tf.Variable[] = [];

  constructor(private readonly o: AdadeltaOptions) {}

  step(variables: readonly tf.Variable[], gradients: readonly tf.Tensor[]): void {
    const { learningRate: lr, rho, epsilon: eps, weightDecay: wd } = this.o;
    variables.forEach((v, i) => {
      if (!this.squareAvg[i]) {
        this.squareAvg[i] = zeroVariable(v);
        this.accDelta[i] = zeroVariable(v);
      }
      const sq = this.squareAvg[i];
      const acc = this.accDelta[i];
      // One pass on WASM, the same floats as the ops below: [lr, ρ, 1 − ρ, ε, L2 decay].
      const scalars = [lr, rho, 1 - rho, eps, wd > 0 ? wd : 0];
      const tensors = { p: v, g: gradients[i], a: sq, b: acc };
      const fused = this.o.fused === false ? null : fusedStep('adadelta', tensors, scalars);
      if (fused) {
        assignAll([v, sq, acc], fused);
        return;
      }
      tf.tidy(() => {
        const g = wd > 0 ? tf.add(gradients[i], tf.mul(v, wd)) : gradients[i];
        sq.assign(tf.add(tf.mul(sq, rho), tf.mul(tf.square(g), 1 - rho)));
        const delta = tf.mul(tf.div(tf.sqrt(tf.add(acc, eps)), tf.sqrt(tf.add(sq, eps))), g);
        acc.assign(tf.add(tf.mul(acc, rho), tf.mul(tf.square(delta), 1 - rho)));
        v.assign(tf.sub(v, tf.mul(delta, lr)));
      });
    });
  }

  dispose(): void {
    for (const t of [...this.squareAvg, ...this.accDelta]) t.dispose();
  }
}

export interface AdamOptions {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** AdamW (decay applied to the weights) instead of L2 in the gradient. */
  decoupledDecay: boolean;
  /** Use the one-pass WASM SIMD kernel where it runs (default true; the same floats). */
  fused?: boolean;
}

export class Adam implements Optimizer {
  private readonly m: tf.Variable[] = [];
  private readonly v: tf.Variable[] = [];
  private t = 0;

  constructor(private readonly o: AdamOptions) {}

  step(variables: readonly tf.Variable[], gradients: readonly tf.Tensor[]): void {
    const { learningRate: lr, beta1, beta2, epsilon: eps, weightDecay: wd } = this.o;
    this.t++;
    const correction1 = 1 - Math.pow(beta1, this.t);
    const correction2 = 1 - Math.pow(beta2, this.t);
    variables.forEach((p, i) => {
      if (!this.m[i]) {
        this.m[i] = zeroVariable(p);
        this.v[i] = zeroVariable(p);
      }
      const m = this.m[i];
      const v = this.v[i];
      const decoupled = this.o.decoupledDecay;
      // One pass on WASM, the same floats as the ops below: [β₁, 1 − β₁, β₂, 1 − β₂, √c₂, ε,
      // lr / c₁, L2 decay, AdamW shrink].
      const l2 = wd > 0 && !decoupled ? wd : 0;
      const shrink = wd > 0 && decoupled ? lr * wd : 0;
      const scalars = [beta1, 1 - beta1, beta2, 1 - beta2, Math.sqrt(correction2), eps];
      scalars.push(lr / correction1, l2, shrink);
      const tensors = { p, g: gradients[i], a: m, b: v };
      const fused = this.o.fused === false ? null : fusedStep('adam', tensors, scalars);
      if (fused) {
        assignAll([p, m, v], fused);
        return;
      }
      tf.tidy(() => {
        const g = l2 > 0 ? tf.add(gradients[i], tf.mul(p, wd)) : gradients[i];
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(correction2)), eps);
        let next = tf.sub(p, tf.mul(tf.div(m, denom), lr / correction1));
        if (shrink > 0) next = tf.sub(next, tf.mul(p, lr * wd));
        p.assign(next);
      });
    });
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}
