/**
 * NICE's diagonal scaling layer (Dinh et al. 2014, §3.3): x = z ⊙ exp(s), z = x ⊙ exp(−s),
 *     log|det J_f| = Σ_j s_j   (the same for every sample).
 * Additive couplings are volume-preserving; this layer is what lets a NICE flow change volume.
 * The scale is stored as its logarithm so that every parameter value is a valid bijection.
 */
import { np, type Array } from "../engine/jax.js";
import type { FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import type { Key } from "../engine/random.js";
import { zeros } from "../nn/init.js";
import { dropContext, type BijectionResult, type Bijector } from "./bijector.js";

/** Params of a rescale layer: the log of the per-dimension scale. */
export type RescaleParams = { logScale: Array };

export interface RescaleOptions {
  /** Event dimension D. */
  dim: number;
}

export class Rescale implements Bijector<RescaleParams> {
  readonly kind = "rescale";
  readonly dim: number;
  readonly contextDim = 0;
  readonly forwardPass = "parallel" as const;
  readonly inversePass = "parallel" as const;

  constructor(opts: RescaleOptions) {
    if (!Number.isInteger(opts.dim) || opts.dim < 1)
      throw new ConfigError(`rescale: dim must be a positive integer, got ${opts.dim}`);
    this.dim = opts.dim;
  }

  /** Identity at init: logScale = 0. */
  init(key: Key, dtype: FloatDType = "float32"): RescaleParams {
    key.dispose();
    return { logScale: zeros([this.dim], dtype) };
  }

  forward(p: RescaleParams, z: Array, context?: Array): BijectionResult {
    dropContext(context);
    const n = z.shape[0]!;
    const y = z.mul(np.exp(p.logScale.ref));
    return { y, logDet: np.broadcastTo(p.logScale.sum(), [n]) };
  }

  inverse(p: RescaleParams, x: Array, context?: Array): BijectionResult {
    dropContext(context);
    const n = x.shape[0]!;
    // Dividing by the same exp(s) as forward (not multiplying by exp(−s)) keeps the round trip
    // exact to rounding even where exp is computed in float32 (wasm float64, docs/reference/ENGINE-NOTES.md).
    const y = x.div(np.exp(p.logScale.ref));
    return { y, logDet: np.broadcastTo(p.logScale.sum().neg(), [n]) };
  }
}
