/**
 * Per-dimension affine map with trainable shift and log-scale:
 *     x = z ⊙ exp(s) + t,   z = (x − t) ⊙ exp(−s),   log|det J_f| = Σ_j s_j (same for every sample).
 * Used as a learnable location/scale layer (e.g. at the data end of a flow).
 */
import { np, type Array } from "../engine/jax.js";
import type { FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import type { Key } from "../engine/random.js";
import { zeros } from "../nn/init.js";
import { dropContext, type BijectionResult, type Bijector } from "./bijector.js";

/** Params: shift t [D] and log-scale s [D]. */
export type ElementwiseAffineParams = { shift: Array; logScale: Array };

export interface ElementwiseAffineOptions {
  /** Event dimension D. */
  dim: number;
}

export class ElementwiseAffine implements Bijector<ElementwiseAffineParams> {
  readonly kind = "elementwise-affine";
  readonly dim: number;
  readonly contextDim = 0;
  readonly forwardPass = "parallel" as const;
  readonly inversePass = "parallel" as const;

  constructor(opts: ElementwiseAffineOptions) {
    if (!Number.isInteger(opts.dim) || opts.dim < 1)
      throw new ConfigError(`elementwise-affine: dim must be a positive integer, got ${opts.dim}`);
    this.dim = opts.dim;
  }

  /** Identity at init: shift = 0, logScale = 0. */
  init(key: Key, dtype: FloatDType = "float32"): ElementwiseAffineParams {
    key.dispose();
    return { shift: zeros([this.dim], dtype), logScale: zeros([this.dim], dtype) };
  }

  forward(p: ElementwiseAffineParams, z: Array, context?: Array): BijectionResult {
    dropContext(context);
    const n = z.shape[0]!;
    const y = z.mul(np.exp(p.logScale.ref)).add(p.shift);
    return { y, logDet: np.broadcastTo(p.logScale.sum(), [n]) };
  }

  inverse(p: ElementwiseAffineParams, x: Array, context?: Array): BijectionResult {
    dropContext(context);
    const n = x.shape[0]!;
    // Divide by the same exp(s) as forward: exact round trip even with float32 exp (wasm float64).
    const y = x.sub(p.shift).div(np.exp(p.logScale.ref));
    return { y, logDet: np.broadcastTo(p.logScale.sum().neg(), [n]) };
  }
}
