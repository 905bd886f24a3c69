/**
 * Factor-out (RealNVP's multi-scale architecture, Dinh et al. 2017 §3.6): at each scale half of
 * the channels leave to the base and the inner bijector works on the other half only,
 *     normalising (x → z):  x = [x_keep | x_out] (channels [0, C/2) | [C/2, C)),
 *                            z = [x_out | g_inner(x_keep)],
 *     generative (z → x):   z = [z_out | z_in],  x = [f_inner(z_in) | z_out],
 *     log|det J| = log|det J_inner|.
 * The factored-out channels come FIRST in z, so that a chain of scales lists the earliest
 * (finest) factored channels first and the coarsest last (docs/reference/CONFIGS-IMAGES.md C5:
 * z = [factored [2,14,14], final [2,14,14]]). The variable stays one flat vector: the base density
 * sees all of z at once, and every other layer and the model file are unchanged.
 *
 * In the flat [C, H, W] layout the first C/2 channels are the first half of the vector, so the
 * split is two column blocks (one-hot sums, engine/select.ts) and the join a concatenation.
 */
import { np, type Array } from "../engine/jax.js";
import type { FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import type { Key } from "../engine/random.js";
import { splitColumnBlocks } from "../engine/select.js";
import type { Params } from "../engine/tree.js";
import { prefixState, type BijectionResult, type Bijector, type CallOptions } from "./bijector.js";
import { checkImageBatch, checkImageShape, imageSize, showShape, type ImageShape } from "./image.js";

/** Params of a factor-out: the inner bijector's. */
export type FactorOutParams = { inner: Params };

export interface FactorOutOptions {
  /** Layout [C, H, W] where the split happens; C even. */
  shape: ImageShape;
  /** The bijector on the kept channels, [C/2, H, W] flattened (dim = C·H·W/2). */
  inner: Bijector;
}

export class FactorOut implements Bijector<FactorOutParams> {
  readonly kind = "factor-out";
  readonly dim: number;
  readonly contextDim: number;
  readonly forwardPass;
  readonly inversePass;
  readonly stateLeaves: readonly string[];
  readonly shape: ImageShape;
  /** Layout of the kept channels, [C/2, H, W]. */
  readonly innerShape: ImageShape;
  readonly inner: Bijector;

  constructor(o: FactorOutOptions) {
    const [C, H, W] = checkImageShape(o.shape, "factor-out: shape");
    if (C % 2 !== 0) throw new ConfigError(`factor-out: the channel count must be even, got ${showShape(o.shape)}`);
    this.shape = [C, H, W];
    this.innerShape = [C / 2, H, W];
    this.dim = imageSize(this.shape);
    if (o.inner.dim !== this.dim / 2)
      throw new ConfigError(`factor-out: the inner bijector has dim ${o.inner.dim}, expected ${this.dim / 2} (images ${showShape(this.innerShape)})`);
    this.inner = o.inner;
    this.contextDim = o.inner.contextDim;
    this.forwardPass = o.inner.forwardPass;
    this.inversePass = o.inner.inversePass;
    this.stateLeaves = (o.inner.stateLeaves ?? []).map((s) => `inner.${s}`);
  }

  init(key: Key, dtype: FloatDType = "float32"): FactorOutParams {
    return { inner: this.inner.init(key, dtype) };
  }

  forward(p: FactorOutParams, z: Array, context?: Array, opts?: CallOptions): BijectionResult {
    checkImageBatch(z, this.shape, this.kind);
    const [zOut, zIn] = splitColumnBlocks(z, 2) as [Array, Array];
    const r = this.inner.forward(p.inner, zIn, context, { training: opts?.training ?? false });
    return { y: np.concatenate([r.y, zOut], 1), logDet: r.logDet, ...stateOf(r) };
  }

  inverse(p: FactorOutParams, x: Array, context?: Array, opts?: CallOptions): BijectionResult {
    checkImageBatch(x, this.shape, this.kind);
    const [xKeep, xOut] = splitColumnBlocks(x, 2) as [Array, Array];
    const r = this.inner.inverse(p.inner, xKeep, context, { training: opts?.training ?? false });
    return { y: np.concatenate([xOut, r.y], 1), logDet: r.logDet, ...stateOf(r) };
  }
}

function stateOf(r: BijectionResult): { state?: BijectionResult["state"] } {
  const state = prefixState(r.state, "inner");
  return state ? { state } : {};
}
