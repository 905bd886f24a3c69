/**
 * Rational-quadratic spline coupling (RQ-NSF (C), Durkan et al. 2019): x_t = τ(z_t; θ(z_id)) with τ
 * the monotonic rational-quadratic spline of K bins on [−B, B] and identity tails
 * (transformers/spline.ts); log|det J| = Σ_t log τ'(z_t). θ = 3K − 1 values per transformed
 * dimension (K width and K height logits, K − 1 interior derivatives), from the conditioner MLP.
 */
import type { ActivationName } from "../nn/activation.js";
import { Coupling } from "./coupling.js";
import { SplineTransformer } from "./transformers/spline.js";

export interface SplineCouplingOptions {
  dim: number;
  /** mask[d] = true: d passes unchanged and conditions the others. */
  mask: readonly boolean[];
  hidden: readonly number[];
  activation?: ActivationName;
  contextDim?: number;
  /** Number of bins K. Default 8. */
  bins?: number;
  /** Interval half-width B (identity outside [−B, B]). Default 3. */
  bound?: number;
}

export class SplineCoupling extends Coupling {
  declare readonly transformer: SplineTransformer;

  constructor({ bins, bound, ...o }: SplineCouplingOptions) {
    super({ ...o, transformer: new SplineTransformer({ bins, bound }), kind: "spline-coupling" });
  }
}
