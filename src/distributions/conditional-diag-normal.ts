/**
 * Conditional diagonal normal, the base density of a conditional flow p(x | y):
 *     p(z | y) = N(z; μ(y), diag σ(y)²),   [μ, r] = MLP(y),   log σ = B·tanh(r/B),
 *     log p(z | y) = −½ Σ_d ((z_d − μ_d)/σ_d)² − Σ_d log σ_d − (D/2) log 2π.
 * The soft clamp (B = 5) keeps |log σ| < B, so σ and 1/σ can never overflow while training; near 0
 * it is the identity. The output layer of the MLP is zero-initialised, so a fresh distribution is
 * N(0, I) for every context (and a fresh conditional flow starts as an unconditional one).
 *
 * μ and r are the two column blocks of one MLP output, picked with takeColumns (one-hot matmuls):
 * slicing's gradient is wrong under jit in jax-js 0.1.25 (docs/reference/ENGINE-NOTES.md).
 *
 * The context is REQUIRED: logProb and sample throw ContextError without one.
 */
import { np, type Array } from "../engine/jax.js";
import { tanh } from "../engine/math.js";
import { floatDTypeOf, scalar, type FloatDType } from "../engine/dtype.js";
import { ConfigError, ContextError, ShapeError } from "../engine/errors.js";
import { normal, type Key } from "../engine/random.js";
import { takeColumns } from "../engine/select.js";
import { treeLeaves } from "../engine/tree.js";
import type { ActivationName } from "../nn/activation.js";
import { mlpApply, mlpInit, type MLPParams, type MLPSpec } from "../nn/mlp.js";
import { temperedNoise, type Distribution, type SampleAndLogProb, type SampleOptions } from "./distribution.js";

/** Params: the network y ([N, K]) → [μ, r] ([N, 2D]). */
export type ConditionalDiagNormalParams = { net: MLPParams };

export interface ConditionalDiagNormalOptions {
  /** Event dimension D. */
  dim: number;
  /** Context width K ≥ 1. */
  contextDim: number;
  /** Hidden layer widths of the network (may be empty: μ and r affine in y). Default [32]. */
  hidden?: readonly number[];
  /** Hidden activation. Default "relu". */
  activation?: ActivationName;
}

/** Bound B of the log-σ soft clamp. */
export const LOG_STD_BOUND = 5;

const LOG_2PI = Math.log(2 * Math.PI);

export class ConditionalDiagNormal implements Distribution<ConditionalDiagNormalParams> {
  readonly kind = "conditional-diag-normal";
  readonly dim: number;
  readonly contextDim: number;
  readonly hidden: readonly number[];
  readonly activation: ActivationName;
  /** The network: context [N, K] → [μ, r] [N, 2D]. */
  readonly net: MLPSpec;
  private readonly meanIdx: readonly number[];
  private readonly rawIdx: readonly number[];

  constructor({ dim, contextDim, hidden = [32], activation = "relu" }: ConditionalDiagNormalOptions) {
    if (!Number.isInteger(dim) || dim < 1) throw new ConfigError(`conditional-diag-normal: expected dim ≥ 1, got ${dim}`);
    if (!Number.isInteger(contextDim) || contextDim < 1)
      throw new ConfigError(`conditional-diag-normal: expected contextDim ≥ 1 (it is conditional), got ${contextDim}`);
    if (!globalThis.Array.isArray(hidden) || hidden.some((h) => !Number.isInteger(h) || h < 1))
      throw new ConfigError(`conditional-diag-normal: expected hidden widths to be positive integers, got ${JSON.stringify(hidden)}`);
    this.dim = dim;
    this.contextDim = contextDim;
    this.hidden = hidden.slice();
    this.activation = activation;
    this.net = { inputDim: contextDim, hidden: this.hidden, outputDim: 2 * dim, activation, zeroLast: true };
    this.meanIdx = globalThis.Array.from({ length: dim }, (_, d) => d);
    this.rawIdx = globalThis.Array.from({ length: dim }, (_, d) => dim + d);
  }

  init(key: Key, dtype: FloatDType = "float32"): ConditionalDiagNormalParams {
    return { net: mlpInit(this.net, key, dtype) };
  }

  logProb(p: ConditionalDiagNormalParams, x: Array, context?: Array): Array {
    const ctx = this.requireContext(context, x.shape[0]!);
    const { mean, logStd } = this.moments(p, ctx);
    const c = scalar(0.5 * this.dim * LOG_2PI, x);
    const u = x.sub(mean).mul(np.exp(logStd.ref.neg()));
    return np.square(u).sum(1).mul(-0.5).sub(logStd.sum(1)).sub(c);
  }

  /** n samples for a context of n rows (row i of the context conditions sample i). */
  sample(p: ConditionalDiagNormalParams, key: Key, n: number, context?: Array, opts?: SampleOptions): Array {
    const r = this.sampleAndLogProb(p, key, n, context, opts);
    r.logProb.dispose();
    return r.x;
  }

  /**
   * Reparameterised: x = μ(y) + σ(y)·ε, ε ~ N(0, I), so gradients reach the network; and
   * log p(x | y) = −½ Σ ε² − Σ log σ − (D/2) log 2π, from ε directly.
   */
  sampleAndLogProb(
    p: ConditionalDiagNormalParams,
    key: Key,
    n: number,
    context?: Array,
    opts?: SampleOptions,
  ): SampleAndLogProb {
    const ctx = this.requireContext(context, n, key);
    const dtype: FloatDType = this.dtypeOf(p) ?? floatDTypeOf(ctx) ?? opts?.dtype ?? "float32";
    const { mean, logStd } = this.moments(p, ctx);
    const eps = temperedNoise(normal(key, [n, this.dim], dtype), opts, this.kind);
    const c = scalar(0.5 * this.dim * LOG_2PI, eps);
    const logProb = np.square(eps.ref).sum(1).mul(-0.5).sub(logStd.ref.sum(1)).sub(c);
    return { x: eps.mul(np.exp(logStd)).add(mean), logProb };
  }

  /** μ(y) and log σ(y), each [N, D] (consumes p and the context). */
  moments(p: ConditionalDiagNormalParams, context: Array): { mean: Array; logStd: Array } {
    const out = mlpApply(this.net, p.net, context);
    const mean = takeColumns(out.ref, this.meanIdx);
    const raw = takeColumns(out, this.rawIdx);
    // B as an array of the input's dtype: under jit a JS number would be a float32 constant.
    const B = scalar(LOG_STD_BOUND, raw);
    return { mean, logStd: tanh(raw.div(B.ref)).mul(B) };
  }

  private dtypeOf(p: ConditionalDiagNormalParams): FloatDType | undefined {
    // Reading a dtype does not consume the leaves.
    for (const leaf of treeLeaves(p)) {
      const d = floatDTypeOf(leaf);
      if (d) return d;
    }
    return undefined;
  }

  /** Checks that a context of shape [n, K] is given (disposes the key on failure). */
  private requireContext(context: Array | undefined, n: number, key?: Key): Array {
    const K = this.contextDim;
    if (context === undefined) {
      key?.dispose();
      throw new ContextError(`${this.kind}: this base is conditional and needs a context of shape [${n}, ${K}], none was given`);
    }
    if (context.ndim !== 2 || context.shape[1] !== K) {
      const got = context.shape.join(", ");
      context.dispose();
      key?.dispose();
      throw new ContextError(`${this.kind}: expected a context of shape [${n}, ${K}], got [${got}]`);
    }
    if (context.shape[0] !== n) {
      const got = context.shape[0];
      context.dispose();
      key?.dispose();
      throw new ShapeError(`${this.kind}: expected ${n} context rows (one per ${key ? "sample" : "row of x"}), got ${got}`);
    }
    return context;
  }
}
