/**
 * The distribution contract. Every density here, and every flow, is a Distribution over R^dim
 * (optionally conditioned on a context of size contextDim).
 *
 * Ownership (jax-js convention): methods CONSUME `p`, `x`, `key` and `context`.
 */
import type { Array } from "../engine/jax.js";
import { scalar } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
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
  /**
   * Sampling temperature T > 0 of a location-scale base: z = μ + T·σ·ε instead of μ + σ·ε
   * (Glow's and RealNVP's "reduced temperature" samples, T < 1: cleaner, less varied). Default 1.
   * The log-density returned with the samples is still that of the untempered distribution.
   */
  temperature?: number;
}

/**
 * The temperature of `opts` (1 when not given), checked: a finite number > 0. Bases without a
 * location-scale form pass `supported = false` and refuse any T ≠ 1.
 */
export function sampleTemperature(opts: SampleOptions | undefined, kind: string, supported = true): number {
  const t = opts?.temperature ?? 1;
  if (!(typeof t === "number" && Number.isFinite(t) && t > 0)) throw new ConfigError(`temperature: expected a finite number > 0, got ${t}`);
  if (!supported && t !== 1) throw new ConfigError(`temperature: the ${kind} base has no location-scale form; sample it at temperature 1`);
  return t;
}

/** Standard noise ε scaled to the temperature of `opts`, T·ε (checked by sampleTemperature; consumes eps). */
export function temperedNoise(eps: Array, opts: SampleOptions | undefined, kind: string): Array {
  const t = sampleTemperature(opts, kind);
  return t === 1 ? eps : eps.mul(scalar(t, eps));
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
