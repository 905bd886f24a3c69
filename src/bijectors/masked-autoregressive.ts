/**
 * Masked autoregressive flow layer (MAF, Papamakarios et al. 2017). Generative direction:
 *     x_i = τ(z_i; θ_i(x_{<i}))        (affine: x_i = z_i·exp(s_i(x_{<i})) + m_i(x_{<i})),
 * where "<" follows the MADE degrees. Density is ONE parallel pass because θ reads x, known:
 *     z = τ⁻¹(x; θ(x)),   log|det J_inverse| = −Σ_i log|∂τ/∂z_i|;
 * sampling (forward) takes D sequential MADE passes (autoregressive.ts).
 */
import type { Array } from "../engine/jax.js";
import type { BijectionResult } from "./bijector.js";
import { Autoregressive, type AutoregressiveOptions, type AutoregressiveParams } from "./autoregressive.js";

export class MaskedAutoregressive extends Autoregressive {
  readonly kind = "masked-autoregressive";
  readonly forwardPass = "sequential" as const;
  readonly inversePass = "parallel" as const;

  constructor(o: AutoregressiveOptions) {
    super(o);
  }

  /** z → x in D sequential passes. */
  forward(p: AutoregressiveParams, z: Array, context?: Array): BijectionResult {
    return this.sequential(p, z, context, "forward");
  }

  /** x → z in one parallel pass (the density direction). */
  inverse(p: AutoregressiveParams, x: Array, context?: Array): BijectionResult {
    return this.parallel(p, x, context, "inverse");
  }
}
