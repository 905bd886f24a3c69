/**
 * Logistic sigmoid as a bijection R → (0,1), elementwise:
 *     forward   x = σ(z) = 1 / (1 + e^{−z}),
 *               log|det J_f| = Σ_j log σ(z_j) + log(1 − σ(z_j)) = −Σ_j softplus(z_j) + softplus(−z_j);
 *     inverse   z = logit(x) = log x − log(1 − x),
 *               log|det J_g| = −Σ_j log x_j + log(1 − x_j).
 * It maps an unbounded flow onto the unit cube (bounded data); `Logit` is the opposite map.
 *
 * Numerics. Both σ and the log-det are written with t = e^{−|z|} ∈ (0, 1], which never
 * overflows:  σ(z) = (z ≥ 0 ? 1 : t) / (1 + t),  log σ + log(1 − σ) = −|z| − 2·log1p(t).
 * |z| is formed as z⁺ − z⁻ from z⁺ = where(z ≥ 0, z, 0) and z⁻ = where(z ≥ 0, 0, z), so the
 * gradient is exact everywhere, z = 0 included (abs/relu kinks would give a wrong 0 there), and
 * no unselected branch ever sees an infinite argument (the double-where rule).
 * In float64, σ(z) rounds to 1 for z ≳ 37 (float32: z ≳ 17), so the round trip is exact only
 * below that. The inverse of a value outside (0, 1) is NaN (0 and 1 give ∓∞); the Flow layer
 * validates data before it gets here.
 */
import { np, type Array } from "../engine/jax.js";
import { ConfigError } from "../engine/errors.js";
import { log1p } from "../engine/math.js";
import type { Key } from "../engine/random.js";
import { dropContext, type BijectionResult, type Bijector } from "./bijector.js";

/** No parameters. */
export type SigmoidParams = Record<string, never>;

export interface SigmoidOptions {
  /** Event dimension D. */
  dim: number;
}

export class Sigmoid implements Bijector<SigmoidParams> {
  readonly kind = "sigmoid";
  readonly dim: number;
  readonly contextDim = 0;
  readonly forwardPass = "parallel" as const;
  readonly inversePass = "parallel" as const;

  constructor(opts: SigmoidOptions) {
    if (!Number.isInteger(opts.dim) || opts.dim < 1)
      throw new ConfigError(`sigmoid: dim must be a positive integer, got ${opts.dim}`);
    this.dim = opts.dim;
  }

  init(key: Key): SigmoidParams {
    key.dispose();
    return {};
  }

  forward(_p: SigmoidParams, z: Array, context?: Array): BijectionResult {
    dropContext(context);
    const { value, logDerivative } = sigmoidWithLogDerivative(z);
    return { y: value, logDet: logDerivative.sum(1) };
  }

  inverse(_p: SigmoidParams, x: Array, context?: Array): BijectionResult {
    dropContext(context);
    const { value, logDerivative } = logitWithLogDerivative(x);
    return { y: value, logDet: logDerivative.sum(1) };
  }
}

/**
 * σ(z) and log σ'(z) = log σ(z) + log(1 − σ(z)), elementwise, overflow-free and with exact
 * gradients (see the file comment). Consumes z.
 */
export function sigmoidWithLogDerivative(z: Array): { value: Array; logDerivative: Array } {
  const pos = z.ref.greaterEqual(0);
  const zPos = np.where(pos.ref, z.ref, 0);
  const zNeg = np.where(pos.ref, 0, z);
  // −|z| = z⁻ − z⁺, t = e^{−|z|}
  const negAbs = zNeg.sub(zPos);
  const t = np.exp(negAbs.ref);
  const value = np.where(pos, 1, t.ref).div(t.ref.add(1));
  const logDerivative = negAbs.sub(log1p(t).mul(2));
  return { value, logDerivative };
}

/**
 * logit(u) = log u − log(1 − u) and log |d logit/du| = −log u − log(1 − u), elementwise.
 * NaN outside [0, 1], ∓∞ at 0 and 1. Consumes u.
 */
export function logitWithLogDerivative(u: Array): { value: Array; logDerivative: Array } {
  const logU = np.log(u.ref);
  const log1mU = log1p(u.neg());
  const value = logU.ref.sub(log1mU.ref);
  const logDerivative = logU.add(log1mU).neg();
  return { value, logDerivative };
}
