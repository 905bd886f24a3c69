/**
 * Batch normalisation as a bijection (RealNVP §3.7, MAF §3.4). The normalising direction
 * (inverse, x → z) is
 *     z = (x − μ) / √(σ² + ε) ⊙ exp(logGamma) + beta,
 *     log|det J_g| = Σ_j logGamma_j − ½ log(σ²_j + ε)   (the same for every sample),
 * and the generative direction (forward, z → x) is its inverse
 *     x = (z − beta) ⊙ exp(−logGamma) ⊙ √(σ² + ε) + μ,   log|det J_f| = −(the above).
 *
 * Which (μ, σ²):
 *  - inverse in training mode (`opts.training`): the batch mean and the BIASED batch variance
 *    (divide by N) of the input. Gradients flow through them, as in the papers: the layer is
 *    then a bijection of the whole batch, and the log-det above is its per-sample share. The
 *    new running statistics are returned in `state` as
 *        runningMean ← (1 − m)·runningMean + m·μ_B,   runningVar ← (1 − m)·runningVar + m·σ²_B
 *    (m = momentum), computed under stopGradient so they carry no gradient path.
 *  - otherwise (evaluation mode, and forward always): the running averages. The layer is then a
 *    fixed per-dimension affine map and an exact bijection both ways.
 * runningMean / runningVar live in the params tree (so they are saved with the model) but are
 * state, not trainable: they are listed in `stateLeaves`, and the training-mode loss does not
 * depend on them. runningVar must stay ≥ 0 (it does under the update above); a negative value
 * gives NaN.
 */
import { lax, np, type Array } from "../engine/jax.js";
import { scalar, type FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import type { Key } from "../engine/random.js";
import { zeros } from "../nn/init.js";
import { dropContext, type BijectionResult, type Bijector, type CallOptions } from "./bijector.js";

/** Trainable logGamma, beta [D]; state runningMean, runningVar [D]. */
export type BatchNormParams = { logGamma: Array; beta: Array; runningMean: Array; runningVar: Array };

export interface BatchNormOptions {
  /** Event dimension D. */
  dim: number;
  /** Weight m of the newest batch in the running averages, in (0, 1] (default 0.1). */
  momentum?: number;
  /** ε added to the variance (default 1e-5). */
  eps?: number;
}

export class BatchNorm implements Bijector<BatchNormParams> {
  readonly kind = "batch-norm";
  readonly dim: number;
  readonly contextDim = 0;
  readonly forwardPass = "parallel" as const;
  readonly inversePass = "parallel" as const;
  readonly stateLeaves = ["runningMean", "runningVar"] as const;
  readonly momentum: number;
  readonly eps: number;

  constructor(opts: BatchNormOptions) {
    if (!Number.isInteger(opts.dim) || opts.dim < 1)
      throw new ConfigError(`batch-norm: dim must be a positive integer, got ${opts.dim}`);
    const momentum = opts.momentum ?? 0.1;
    const eps = opts.eps ?? 1e-5;
    if (!(typeof momentum === "number" && momentum > 0 && momentum <= 1))
      throw new ConfigError(`batch-norm: momentum must be in (0, 1], got ${JSON.stringify(opts.momentum)}`);
    if (!(typeof eps === "number" && eps >= 0 && Number.isFinite(eps)))
      throw new ConfigError(`batch-norm: eps must be a finite number ≥ 0, got ${JSON.stringify(opts.eps)}`);
    this.dim = opts.dim;
    this.momentum = momentum;
    this.eps = eps;
  }

  /** logGamma = beta = 0, running mean 0 and variance 1: at init z = x / √(1 + ε). */
  init(key: Key, dtype: FloatDType = "float32"): BatchNormParams {
    key.dispose();
    const D = this.dim;
    return {
      logGamma: zeros([D], dtype),
      beta: zeros([D], dtype),
      runningMean: zeros([D], dtype),
      runningVar: zeros([D], dtype).add(1),
    };
  }

  /** z → x with the running statistics (training mode does not apply to this direction). */
  forward(p: BatchNormParams, z: Array, context?: Array, _opts?: CallOptions): BijectionResult {
    dropContext(context);
    const n = z.shape[0]!;
    const std = np.sqrt(p.runningVar.add(scalar(this.eps, p.runningVar)));
    const logDet = p.logGamma.ref.sub(np.log(std.ref)).sum().neg();
    // Divide by the same exp(logGamma) and multiply by the same √(σ²+ε) that inverse uses, so the
    // round trip is exact to rounding on every device.
    const y = z.sub(p.beta).div(np.exp(p.logGamma)).mul(std).add(p.runningMean);
    return { y, logDet: np.broadcastTo(logDet, [n]) };
  }

  /** x → z; with `training: true`, batch statistics and the new running statistics in `state`. */
  inverse(p: BatchNormParams, x: Array, context?: Array, opts?: CallOptions): BijectionResult {
    dropContext(context);
    const n = x.shape[0]!;
    let mean: Array;
    let variance: Array;
    let state: BijectionResult["state"];
    if (opts?.training === true) {
      mean = np.mean(x.ref, 0);
      variance = np.mean(np.square(x.ref.sub(mean.ref)), 0);
      // Constants as arrays of the input's dtype: under jit a bare JS number is a float32
      // constant even in float64 code (engine/dtype.ts `scalar`).
      const m = this.momentum;
      const dtype = x.dtype;
      const keep = (): Array => scalar(1 - m, dtype);
      const take = (): Array => scalar(m, dtype);
      state = {
        runningMean: lax.stopGradient(p.runningMean.mul(keep()).add(lax.stopGradient(mean.ref).mul(take()))),
        runningVar: lax.stopGradient(p.runningVar.mul(keep()).add(lax.stopGradient(variance.ref).mul(take()))),
      };
    } else {
      mean = p.runningMean;
      variance = p.runningVar;
    }
    const std = np.sqrt(variance.add(scalar(this.eps, variance)));
    const logDet = p.logGamma.ref.sub(np.log(std.ref)).sum();
    const y = x.sub(mean).div(std).mul(np.exp(p.logGamma)).add(p.beta);
    const out: BijectionResult = { y, logDet: np.broadcastTo(logDet, [n]) };
    if (state) out.state = state;
    return out;
  }
}
