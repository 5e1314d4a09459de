/**
 * Optimisers with PyTorch semantics, L2 weight decay added to the gradient (torch's
 * `weight_decay`). Written here because tf.train.adadelta divides by the *previous* squared-
 * gradient average, whereas torch uses the updated one.
 */
import * as tf from '@tensorflow/tfjs';

export interface Optimizer {
  step(variables: readonly tf.Variable[], gradients: readonly tf.Tensor[]): void;
  dispose(): void;
}

export interface AdadeltaOptions {
  learningRate: number;
  rho: number;
  epsilon: number;
  weightDecay: number;
}

export class Adadelta implements Optimizer {
  private readonly squareAvg: tf.Variable[] = [];
  private readonly accDelta: tf.Variable[] = [];

  constructor(private readonly o: AdadeltaOptions) {}

  step(variables: readonly tf.Variable[], gradients: readonly tf.Tensor[]): void {
    const { learningRate: lr, rho, epsilon: eps, weightDecay: wd } = this.o;
    variables.forEach((v, i) => {
      if (!this.squareAvg[i]) {
        this.squareAvg[i] = tf.variable(tf.zerosLike(v), false);
        this.accDelta[i] = tf.variable(tf.zerosLike(v), false);
      }
      const sq = this.squareAvg[i];
      const acc = this.accDelta[i];
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
        this.m[i] = tf.variable(tf.zerosLike(p), false);
        this.v[i] = tf.variable(tf.zerosLike(p), false);
      }
      const m = this.m[i];
      const v = this.v[i];
      tf.tidy(() => {
        const g =
          wd > 0 && !this.o.decoupledDecay ? tf.add(gradients[i], tf.mul(p, wd)) : gradients[i];
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(correction2)), eps);
        let next = tf.sub(p, tf.mul(tf.div(m, denom), lr / correction1));
        if (wd > 0 && this.o.decoupledDecay) next = tf.sub(next, tf.mul(p, lr * wd));
        p.assign(next);
      });
    });
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}
