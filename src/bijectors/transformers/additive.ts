/**
 * Additive transformer (NICE): y = u + t, log|∂y/∂u| = 0 (volume preserving). θ = [shift t].
 */
import { np, type Array } from "../../engine/jax.js";
import { expectTheta, type ElementwiseTransformer, type TransformerResult } from "./transformer.js";

export class AdditiveTransformer implements ElementwiseTransformer {
  readonly kind = "additive";
  readonly paramCount = 1;
  readonly identityAtZero = true;

  forward(u: Array, theta: Array[]): TransformerResult {
    expectTheta(this.kind, theta, 1);
    const logDet = np.zeros(u.shape, { dtype: u.dtype });
    return { y: u.add(theta[0]!), logDet };
  }

  inverse(y: Array, theta: Array[]): TransformerResult {
    expectTheta(this.kind, theta, 1);
    const logDet = np.zeros(y.shape, { dtype: y.dtype });
    return { y: y.sub(theta[0]!), logDet };
  }
}
