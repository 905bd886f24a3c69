/**
 * The distribution contract. Every density here, and every flow, is a Distribution over R^dim
 * (optionally conditioned on a context of size contextDim).
 *
 * Ownership (jax-js convention): methods CONSUME `p`, `x`, `key` and `context`.
 */
import type { Array } from "../engine/jax.js";
import type { FloatDType } from "../engine/dtype.js";
import type { Key } from "../engine/random.js";
import type { Params } from "../engine/tree.js";
import type { CallOptions, StateUpdates } from "../bijectors/bijector.js";

export interface SampleAndLogProb {
  x: Array;
  logProb: Array;
}

export interface SampleOptions {
  /** dtype of the samples when the params do not decide it (default float32). */
  dtype?: FloatDType;
}

export interface Distribution<P extends Params = Params> {
  readonly kind: string;
  readonly dim: number;
  /** Context width K (0 when unconditional). */
  readonly contextDim: number;
  init(key: Key, dtype?: FloatDType): P;
  /** log density of each row of x [N, D]: shape [N]. −Infinity outside the support, never NaN. */
  logProb(p: P, x: Array, context?: Array, opts?: CallOptions): Array;
  /**
   * n samples [n, D]. A conditional distribution takes a context of n rows. The dtype is that of
   * the params (or the context); `dtype` decides it for parameter-free distributions.
   */
  sample(p: P, key: Key, n: number, context?: Array, opts?: SampleOptions): Array;
  /** Samples and their log densities in one pass (cheap for flows in the sampling direction). */
  sampleAndLogProb(p: P, key: Key, n: number, context?: Array, opts?: SampleOptions): SampleAndLogProb;
  /** Paths of non-trainable state leaves inside the params. */
  readonly stateLeaves?: readonly string[];
}

/** logProb with the state updates that training-mode layers report (batch norm). */
export interface LogProbWithState {
  logProb: Array;
  state?: StateUpdates;
}
