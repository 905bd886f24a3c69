/**
 * Learnable mixture of K diagonal Gaussians (the base density of MAF's "MoG" variants):
 *     log p(z) = logsumexp_k [ log π_k + log N(z; μ_k, diag σ_k²) ],   π = softmax(logits),
 *     log N(z; μ, σ) = −½ Σ_d ((z_d − μ_d)/σ_d)² − Σ_d log σ_d − (D/2) log 2π.
 * Init: logits 0 (equal weights), log σ = 0, means drawn N(0, 1) from the init key so that the
 * components start apart (identical components would receive identical gradients forever).
 *
 * Sampling draws a component k ~ Categorical(π) with the key from outside, then selects μ_k and
 * σ_k by a one-hot matrix product (no gather: gathers cannot be differentiated under jit), and
 * returns μ_k + σ_k·ε, reparameterised in μ and σ.
 */
import { nn, np, random, type Array } from "../engine/jax.js";
import { floatDTypeOf, jaxDType, scalar, type FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import { normal, splitKey, type Key } from "../engine/random.js";
import { refTree } from "../engine/tree.js";
import { dropContext } from "../bijectors/bijector.js";
import { sampleTemperature, type Distribution, type SampleAndLogProb, type SampleOptions } from "./distribution.js";

/** logits [K], means [K, D], logStds [K, D]. */
export type MixtureOfGaussiansParams = { logits: Array; means: Array; logStds: Array };

const LOG_2PI = Math.log(2 * Math.PI);

export class MixtureOfGaussians implements Distribution<MixtureOfGaussiansParams> {
  readonly kind = "mixture-of-gaussians";
  readonly contextDim = 0;

  /**
   * @param dim event dimension D.
   * @param components number of components K.
   */
  constructor(readonly dim: number, readonly components: number) {
    if (!Number.isInteger(dim) || dim < 1) throw new ConfigError(`mixture-of-gaussians: expected dim ≥ 1, got ${dim}`);
    if (!Number.isInteger(components) || components < 1)
      throw new ConfigError(`mixture-of-gaussians: expected components ≥ 1, got ${components}`);
  }

  init(key: Key, dtype: FloatDType = "float32"): MixtureOfGaussiansParams {
    const K = this.components;
    const dt = jaxDType(dtype);
    return {
      logits: np.zeros([K], { dtype: dt }),
      means: normal(key, [K, this.dim], dtype),
      logStds: np.zeros([K, this.dim], { dtype: dt }),
    };
  }

  logProb(p: MixtureOfGaussiansParams, x: Array, context?: Array): Array {
    dropContext(context);
    const [n, D] = [x.shape[0]!, this.dim];
    const K = this.components;
    const c = scalar(0.5 * D * LOG_2PI, x);
    // u[n, k, d] = (x_nd − μ_kd) / σ_kd, broadcast over [N, K, D].
    const u = x
      .reshape([n, 1, D])
      .sub(p.means.reshape([1, K, D]))
      .mul(np.exp(p.logStds.ref.neg()).reshape([1, K, D]));
    const logNormal = np
      .square(u)
      .sum(2)
      .mul(-0.5)
      .sub(p.logStds.sum(1).reshape([1, K]))
      .sub(c);
    const logWeights = nn.logSoftmax(p.logits).reshape([1, K]);
    return nn.logsumexp(logNormal.add(logWeights), 1);
  }

  sample(p: MixtureOfGaussiansParams, key: Key, n: number, context?: Array, opts?: SampleOptions): Array {
    dropContext(context);
    sampleTemperature(opts, this.kind, false);
    const K = this.components;
    const dtype: FloatDType = floatDTypeOf(p.means) ?? opts?.dtype ?? "float32";
    const [kc, kz] = splitKey(key, 2);
    // The component index is discrete: no gradient flows through the choice.
    const k = random.categorical(kc!, p.logits.astype(np.float32), { shape: [n] });
    const oneHot = np.equal(k.reshape([n, 1]), np.arange(K).reshape([1, K])).astype(jaxDType(dtype));
    const mean = np.matmul(oneHot.ref, p.means);
    const std = np.exp(np.matmul(oneHot, p.logStds));
    return normal(kz!, [n, this.dim], dtype).mul(std).add(mean);
  }

  sampleAndLogProb(
    p: MixtureOfGaussiansParams,
    key: Key,
    n: number,
    context?: Array,
    opts?: SampleOptions,
  ): SampleAndLogProb {
    const x = this.sample(refTree(p), key, n, context, opts);
    return { x: x.ref, logProb: this.logProb(p, x) };
  }
}
