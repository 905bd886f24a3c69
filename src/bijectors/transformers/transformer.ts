/**
 * Elementwise transformers: the invertible scalar maps τ(u; θ) that coupling and autoregressive
 * layers apply to each transformed dimension, with parameters θ produced by a conditioner
 * (an MLP in couplings, a MADE in MAF/IAF). Keeping τ pluggable lets affine, additive and later
 * rational-quadratic-spline transformers share one coupling and one autoregressive layer.
 *
 * Ownership (jax-js convention): `forward` and `inverse` CONSUME `u`/`y` and every θ array.
 */
import type { Array } from "../../engine/jax.js";
import { ConfigError } from "../../engine/errors.js";

/** What a transformer returns: the transformed values and the ELEMENTWISE log|∂τ/∂u|. */
export interface TransformerResult {
  /** τ(u; θ) (forward) or τ⁻¹(y; θ) (inverse), shape [N, k]. */
  y: Array;
  /** log|∂τ/∂u| (forward) or log|∂τ⁻¹/∂y| (inverse) per element, shape [N, k]; callers sum it. */
  logDet: Array;
}

/** An invertible elementwise map u ↦ τ(u; θ) with `paramCount` parameters per element. */
export interface ElementwiseTransformer {
  /** Short name ("affine", "additive", ...). */
  readonly kind: string;
  /** Number of parameter arrays θ the conditioner must produce per transformed element. */
  readonly paramCount: number;
  /**
   * True when θ = 0 gives EXACTLY the identity, τ(u; 0) = u with log|∂τ/∂u| = 0 (affine: u·e⁰ + 0;
   * additive: u + 0), bit for bit in floating point. A coupling may then run τ over all D columns
   * with θ = 0 on the passing ones instead of picking the transformed columns out and back
   * (CouplingStack): fewer kernels, the same numbers.
   */
  readonly identityAtZero?: boolean;
  /** y = τ(u; θ); θ is `paramCount` arrays shaped like u ([N, k]). Consumes u and θ. */
  forward(u: Array, theta: Array[]): TransformerResult;
  /** u = τ⁻¹(y; θ), with log|∂τ⁻¹/∂y| = −log|∂τ/∂u|. Consumes y and θ. */
  inverse(y: Array, theta: Array[]): TransformerResult;
}

/** Throws when a transformer receives the wrong number of parameter arrays. */
export function expectTheta(kind: string, theta: Array[], count: number): void {
  if (theta.length !== count)
    throw new ConfigError(`${kind} transformer: expected ${count} parameter arrays, got ${theta.length}`);
}
