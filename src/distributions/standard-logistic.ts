/**
 * Standard logistic distribution on R^D, independent coordinates (the NICE paper's base for
 * MNIST, Dinh et al. 2014 §3.4):
 *     log p(z) = Σ_d log σ(z_d) + log σ(−z_d) = −Σ_d [softplus(z_d) + softplus(−z_d)],
 * computed as −Σ_d [|z_d| + 2·log(1 + exp(−|z_d|))], which never overflows. Its heavier tails
 * than a Gaussian's give better-behaved gradients far from the mode. Sampling: z = log u − log(1 − u),
 * u ~ U(0, 1). No parameters.
 */
import { np, type Array } from "../engine/jax.js";
import { floatDTypeOf, scalar, type FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import { log1p } from "../engine/math.js";
import { uniform, type Key } from "../engine/random.js";
import { dropContext } from "../bijectors/bijector.js";
import { temperedNoise, type Distribution, type SampleAndLogProb, type SampleOptions } from "./distribution.js";

export type StandardLogisticParams = Record<string, never>;

export class StandardLogistic implements Distribution<StandardLogisticParams> {
  readonly kind = "standard-logistic";
  readonly contextDim = 0;

  constructor(readonly dim: number) {
    if (!Number.isInteger(dim) || dim < 1) throw new ConfigError(`standard-logistic: expected dim ≥ 1, got ${dim}`);
  }

  init(key: Key): StandardLogisticParams {
    key.dispose();
    return {};
  }

  logProb(_p: StandardLogisticParams, x: Array, context?: Array): Array {
    dropContext(context);
    const a = np.abs(x);
    const two = scalar(2, a);
    return a.ref.add(log1p(np.exp(a.neg())).mul(two)).sum(1).neg();
  }

  sample(_p: StandardLogisticParams, key: Key, n: number, context?: Array, opts?: SampleOptions): Array {
    const dtype: FloatDType = opts?.dtype ?? (context ? (floatDTypeOf(context) ?? "float32") : "float32");
    dropContext(context);
    // u in (0, 1): a draw of exactly 0 would give −∞; the next float up is as good a sample.
    const tiny = dtype === "float32" ? 2 ** -24 : 2 ** -53;
    const u = uniform(key, [n, this.dim], dtype, tiny, 1 - tiny);
    return temperedNoise(np.log(u.ref).sub(log1p(u.neg())), opts, this.kind);
  }

  sampleAndLogProb(p: StandardLogisticParams, key: Key, n: number, context?: Array, opts?: SampleOptions): SampleAndLogProb {
    const x = this.sample(p, key, n, context, opts);
    return { x: x.ref, logProb: this.logProb(p, x) };
  }
}
