/**
 * Affine coupling (RealNVP, Dinh et al. 2017): x_t = z_t·exp(s(z_id)) + t(z_id), with the
 * log-scale soft-clamped, s = B·tanh(raw/B); log|det J| = Σ s.
 */
import type { ActivationName } from "../nn/activation.js";
import { Coupling } from "./coupling.js";
import { AffineTransformer } from "./transformers/affine.js";

export interface AffineCouplingOptions {
  dim: number;
  /** mask[d] = true: d passes unchanged and conditions the others. */
  mask: readonly boolean[];
  hidden: readonly number[];
  activation?: ActivationName;
  contextDim?: number;
  /** Bound B of the log-scale soft clamp (Infinity: none). Default 3. */
  scaleBound?: number;
}

export class AffineCoupling extends Coupling {
  readonly scaleBound: number;

  constructor({ scaleBound = 3, ...o }: AffineCouplingOptions) {
    super({ ...o, transformer: new AffineTransformer({ scaleBound }), kind: "affine-coupling" });
    this.scaleBound = scaleBound;
  }
}
