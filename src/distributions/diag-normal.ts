/**
 * Diagonal normal with learnable mean μ and log standard deviation log σ:
 *     log p(z) = −½ Σ_d ((z_d − μ_d)/σ_d)² − Σ_d log σ_d − (D/2) log 2π.
 * Starts as the standard normal (μ = 0, log σ = 0).
 */
import { np, type Array } from "../engine/jax.js";
import { floatDTypeOf, jaxDType, scalar, type FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import { normal, type Key } from "../engine/random.js";
import { refTree } from "../engine/tree.js";
import { dropContext } from "../bijectors/bijector.js";
import { temperedNoise, type Distribution, type SampleAndLogProb, type SampleOptions } from "./distribution.js";

/** mean [D], logStd [D]. */
export type DiagNormalParams = { mean: Array; logStd: Array };

const LOG_2PI = Math.log(2 * Math.PI);

export class DiagNormal implements Distribution<DiagNormalParams> {
  readonly kind = "diag-normal";
  readonly contextDim = 0;

  constructor(readonly dim: number) {
    if (!Number.isInteger(dim) || dim < 1) throw new ConfigError(`diag-normal: expected dim ≥ 1, got ${dim}`);
  }

  init(key: Key, dtype: FloatDType = "float32"): DiagNormalParams {
    key.dispose();
    const dt = jaxDType(dtype);
    return { mean: np.zeros([this.dim], { dtype: dt }), logStd: np.zeros([this.dim], { dtype: dt }) };
  }

  logProb(p: DiagNormalParams, x: Array, context?: Array): Array {
    dropContext(context);
    const c = scalar(0.5 * this.dim * LOG_2PI, x);
    const u = x.sub(p.mean).mul(np.exp(p.logStd.ref.neg()));
    return np.square(u).sum(1).mul(-0.5).sub(p.logStd.sum()).sub(c);
  }

  sample(p: DiagNormalParams, key: Key, n: number, context?: Array, opts?: SampleOptions): Array {
    dropContext(context);
    const dtype: FloatDType = floatDTypeOf(p.mean) ?? opts?.dtype ?? "float32";
    // Reparameterised: z = μ + σ·ε, so gradients reach μ and log σ.
    return temperedNoise(normal(key, [n, this.dim], dtype), opts, this.kind).mul(np.exp(p.logStd)).add(p.mean);
  }

  sampleAndLogProb(p: DiagNormalParams, key: Key, n: number, context?: Array, opts?: SampleOptions): SampleAndLogProb {
    const x = this.sample(refTree(p), key, n, context, opts);
    return { x: x.ref, logProb: this.logProb(p, x) };
  }
}
