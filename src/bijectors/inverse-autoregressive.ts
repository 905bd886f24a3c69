/**
 * Inverse autoregressive flow layer (IAF, Kingma et al. 2016). Generative direction:
 *     x_i = τ(z_i; θ_i(z_{<i}))        (affine: x_i = z_i·exp(s_i(z_{<i})) + m_i(z_{<i})),
 * so sampling (forward) is ONE parallel pass, θ = MADE(z); density (inverse) solves
 * z_i = τ⁻¹(x_i; θ_i(z_{<i})) in D sequential MADE passes (autoregressive.ts).
 */
import type { Array } from "../engine/jax.js";
import type { BijectionResult } from "./bijector.js";
import { Autoregressive, type AutoregressiveOptions, type AutoregressiveParams } from "./autoregressive.js";

export class InverseAutoregressive extends Autoregressive {
  readonly kind = "inverse-autoregressive";
  readonly forwardPass = "parallel" as const;
  readonly inversePass = "sequential" as const;

  constructor(o: AutoregressiveOptions) {
    super(o);
  }

  /** z → x in one parallel pass (the sampling direction). */
  forward(p: AutoregressiveParams, z: Array, context?: Array): BijectionResult {
    return this.parallel(p, z, context, "forward");
  }

  /** x → z in D sequential passes (the density direction). */
  inverse(p: AutoregressiveParams, x: Array, context?: Array): BijectionResult {
    return this.sequential(p, x, context, "inverse");
  }
}
