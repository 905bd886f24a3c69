/**
 * Affine transformer (RealNVP, MAF, IAF): y = u·exp(s) + t, log|∂y/∂u| = s.
 * θ = [shift t, raw log-scale r]; the log-scale is soft-clamped, s = B·tanh(r/B), so |s| < B and
 * exp(s) cannot overflow however large the conditioner output becomes while training. Near 0 the
 * clamp is the identity (s ≈ r), so an identity-initialised conditioner still gives the identity.
 */
import { np, type Array } from "../../engine/jax.js";
import { ConfigError } from "../../engine/errors.js";
import { tanh } from "../../engine/math.js";
import { expectTheta, type ElementwiseTransformer, type TransformerResult } from "./transformer.js";

export interface AffineTransformerOptions {
  /** Bound B of the soft clamp s = B·tanh(r/B); `Infinity` means s = r (plain exp). Default 3. */
  scaleBound?: number;
}

export class AffineTransformer implements ElementwiseTransformer {
  readonly kind = "affine";
  readonly paramCount = 2;
  readonly identityAtZero = true;
  readonly scaleBound: number;

  constructor({ scaleBound = 3 }: AffineTransformerOptions = {}) {
    if (!(scaleBound > 0)) throw new ConfigError(`affine transformer: scaleBound must be > 0 (or Infinity), got ${scaleBound}`);
    this.scaleBound = scaleBound;
  }

  /** s = B·tanh(r/B) (consumes r). */
  logScale(raw: Array): Array {
    if (!Number.isFinite(this.scaleBound)) return raw;
    // B as an array of r's dtype, not a JS number: under jit, jax-js 0.1.25 rounds JS scalars to
    // float32 in float64 programs (values and gradients off by ~1e-8 relative for B = 3).
    // r·(1/B), not r/B: the same number (jax-js divides by multiplying with the reciprocal), but
    // 1/B is then a constant instead of a kernel computing it in every layer of a jitted step.
    const B = np.full([], this.scaleBound, { dtype: raw.dtype });
    const invB = np.full([], 1 / this.scaleBound, { dtype: raw.dtype });
    return tanh(raw.mul(invB)).mul(B);
  }

  forward(u: Array, theta: Array[]): TransformerResult {
    expectTheta(this.kind, theta, 2);
    const [shift, raw] = theta as [Array, Array];
    const s = this.logScale(raw);
    return { y: u.mul(np.exp(s.ref)).add(shift), logDet: s };
  }

  inverse(y: Array, theta: Array[]): TransformerResult {
    expectTheta(this.kind, theta, 2);
    const [shift, raw] = theta as [Array, Array];
    const s = this.logScale(raw);
    return { y: y.sub(shift).mul(np.exp(s.ref.neg())), logDet: s.neg() };
  }
}
