/**
 * The inverse of a bijection as a bijection: Invert(f) has forward = f⁻¹ and inverse = f, so
 *     log|det J_{Invert(f)}(x)| = log|det J_{f⁻¹}(x)| = −log|det J_f(f⁻¹(x))|.
 * Parameters, context and state are the wrapped bijector's, unchanged; the pass kinds swap
 * (Invert(MAF) samples in one pass and evaluates densities in D passes: that is IAF).
 */
import type { Array } from "../engine/jax.js";
import type { FloatDType } from "../engine/dtype.js";
import type { Key } from "../engine/random.js";
import type { Params } from "../engine/tree.js";
import type { BijectionResult, Bijector, CallOptions, PassKind } from "./bijector.js";

export class Invert<P extends Params = Params> implements Bijector<P> {
  readonly kind = "invert";
  readonly dim: number;
  readonly contextDim: number;
  readonly forwardPass: PassKind;
  readonly inversePass: PassKind;
  readonly stateLeaves?: readonly string[];

  /** @param bijector the map to invert; its params tree is used as is. */
  constructor(readonly bijector: Bijector<P>) {
    this.dim = bijector.dim;
    this.contextDim = bijector.contextDim;
    this.forwardPass = bijector.inversePass;
    this.inversePass = bijector.forwardPass;
    if (bijector.stateLeaves) this.stateLeaves = bijector.stateLeaves;
  }

  init(key: Key, dtype?: FloatDType): P {
    return this.bijector.init(key, dtype);
  }

  forward(p: P, z: Array, context?: Array, opts?: CallOptions): BijectionResult {
    return this.bijector.inverse(p, z, context, opts);
  }

  inverse(p: P, x: Array, context?: Array, opts?: CallOptions): BijectionResult {
    return this.bijector.forward(p, x, context, opts);
  }
}
