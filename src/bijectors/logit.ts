/**
 * Logit as a bijection (0,1) → R, elementwise, with RealNVP's boundary squashing α:
 *     forward   s = α + (1 − 2α)·u,   x = logit(s) = log s − log(1 − s),
 *               log|det J_f| = Σ_j log(1 − 2α) − log s_j − log(1 − s_j);
 *     inverse   s = σ(x),   u = (s − α) / (1 − 2α),
 *               log|det J_g| = Σ_j log σ(x_j) + log(1 − σ(x_j)) − log(1 − 2α).
 * FORWARD is the data-preprocessing direction (bounded data u → unbounded x), the opposite of
 * `Sigmoid`. With α > 0 (RealNVP uses α = 0.05 on images) the unit interval is shrunk to
 * [α, 1 − α] first, so that pixels at exactly 0 or 1 map to finite values; then the map is a
 * bijection from (−α/(1−2α), (1−α)/(1−2α)) ⊃ [0, 1] onto R. With α = 0 inputs must lie in
 * (0, 1); values outside give NaN (the Flow layer validates data).
 * The numerics are those of `Sigmoid` (overflow-free σ, exact gradients at 0).
 */
import type { Array } from "../engine/jax.js";
import { ConfigError } from "../engine/errors.js";
import type { Key } from "../engine/random.js";
import { scalar } from "../engine/dtype.js";
import { dropContext, type BijectionResult, type Bijector } from "./bijector.js";
import { logitWithLogDerivative, sigmoidWithLogDerivative } from "./sigmoid.js";

/** No parameters. */
export type LogitParams = Record<string, never>;

export interface LogitOptions {
  /** Event dimension D. */
  dim: number;
  /** Boundary squashing α ∈ [0, 0.5) (default 0: plain logit). */
  alpha?: number;
}

export class Logit implements Bijector<LogitParams> {
  readonly kind = "logit";
  readonly dim: number;
  readonly contextDim = 0;
  readonly forwardPass = "parallel" as const;
  readonly inversePass = "parallel" as const;
  readonly alpha: number;

  constructor(opts: LogitOptions) {
    if (!Number.isInteger(opts.dim) || opts.dim < 1)
      throw new ConfigError(`logit: dim must be a positive integer, got ${opts.dim}`);
    const alpha = opts.alpha ?? 0;
    if (!(typeof alpha === "number" && alpha >= 0 && alpha < 0.5))
      throw new ConfigError(`logit: alpha must be a number in [0, 0.5), got ${JSON.stringify(opts.alpha)}`);
    this.dim = opts.dim;
    this.alpha = alpha;
  }

  init(key: Key): LogitParams {
    key.dispose();
    return {};
  }

  forward(_p: LogitParams, u: Array, context?: Array): BijectionResult {
    dropContext(context);
    const a = this.alpha;
    // Constants as arrays of the input's dtype: under jit a bare JS number is a float32 constant
    // even in float64 code (engine/dtype.ts `scalar`).
    const dtype = u.dtype;
    const s = a === 0 ? u : u.mul(scalar(1 - 2 * a, dtype)).add(scalar(a, dtype));
    const { value, logDerivative } = logitWithLogDerivative(s);
    let logDet = logDerivative.sum(1);
    if (a !== 0) logDet = logDet.add(scalar(this.dim * Math.log1p(-2 * a), dtype));
    return { y: value, logDet };
  }

  inverse(_p: LogitParams, x: Array, context?: Array): BijectionResult {
    dropContext(context);
    const a = this.alpha;
    const { value: s, logDerivative } = sigmoidWithLogDerivative(x);
    // Divide by (1 − 2α), the factor forward multiplied by, so the round trip is exact to rounding.
    const dtype = s.dtype;
    const y = a === 0 ? s : s.sub(scalar(a, dtype)).div(scalar(1 - 2 * a, dtype));
    let logDet = logDerivative.sum(1);
    if (a !== 0) logDet = logDet.sub(scalar(this.dim * Math.log1p(-2 * a), dtype));
    return { y, logDet };
  }
}
