/**
 * Additive coupling (NICE, Dinh et al. 2015): x_t = z_t + t(z_id). Volume preserving: log|det J| = 0.
 */
import type { ActivationName } from "../nn/activation.js";
import { Coupling } from "./coupling.js";
import { AdditiveTransformer } from "./transformers/additive.js";

export interface AdditiveCouplingOptions {
  dim: number;
  /** mask[d] = true: d passes unchanged and conditions the others. */
  mask: readonly boolean[];
  hidden: readonly number[];
  activation?: ActivationName;
  contextDim?: number;
}

export class AdditiveCoupling extends Coupling {
  constructor(o: AdditiveCouplingOptions) {
    super({ ...o, transformer: new AdditiveTransformer(), kind: "additive-coupling" });
  }
}
