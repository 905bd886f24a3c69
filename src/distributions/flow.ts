/**
 * A flow: a base density p(z) pushed through a bijection f (z → x). It is a Distribution:
 *     log p(x) = log p_base(g(x)) + log|det J_g(x)|,   g = f⁻¹ (the bijector's inverse);
 *     sampling: z ~ p_base, x = f(z), and log p(x) = log p_base(z) − log|det J_f(z)|.
 * A context (conditional flows p(x | y)) reaches every conditioner and a conditional base.
 *
 * Ownership: methods consume `p`, `x`, `key` and `context` (jax-js convention). `validate`
 * does not consume.
 */
import type { Array } from "../engine/jax.js";
import { floatDTypeOf, type FloatDType } from "../engine/dtype.js";
import { splitKey, type Key } from "../engine/random.js";
import { ConfigError } from "../engine/errors.js";
import { treeLeaves, type Params } from "../engine/tree.js";
import { checkBatch, checkContext, checkDType, checkFinite } from "../engine/validate.js";
import { prefixState, type BijectionResult, type Bijector, type CallOptions } from "../bijectors/bijector.js";
import type { Distribution, LogProbWithState, SampleAndLogProb, SampleOptions } from "./distribution.js";

/** Params of a flow: the base's and the bijector's. */
export type FlowParams = { base: Params; bijector: Params };

export class Flow implements Distribution<FlowParams> {
  readonly kind = "flow";
  readonly dim: number;
  readonly contextDim: number;
  readonly stateLeaves: readonly string[];

  constructor(readonly base: Distribution, readonly bijector: Bijector) {
    if (base.dim !== bijector.dim)
      throw new ConfigError(`flow: base has dim ${base.dim} but the bijector has dim ${bijector.dim}`);
    if (base.contextDim && bijector.contextDim && base.contextDim !== bijector.contextDim)
      throw new ConfigError(`flow: base takes context ${base.contextDim}, bijector ${bijector.contextDim}`);
    this.dim = base.dim;
    this.contextDim = Math.max(base.contextDim, bijector.contextDim);
    this.stateLeaves = [
      ...(base.stateLeaves ?? []).map((s) => `base.${s}`),
      ...(bijector.stateLeaves ?? []).map((s) => `bijector.${s}`),
    ];
  }

  init(key: Key, dtype: FloatDType = "float32"): FlowParams {
    const [kb, kf] = splitKey(key, 2);
    return { base: this.base.init(kb!, dtype), bijector: this.bijector.init(kf!, dtype) };
  }

  /** The float dtype of a params tree (float32 when it has no float leaves). */
  dtypeOf(p: FlowParams): FloatDType {
    for (const leaf of treeLeaves(p)) {
      const d = floatDTypeOf(leaf);
      if (d) return d;
    }
    return "float32";
  }

  /**
   * Public-boundary checks of a batch and its context: shape [N, D], dtype, context presence and
   * shape, finite values. Throws ShapeError, DTypeError, ContextError or NonFiniteError.
   */
  validate(x: Array, context: Array | undefined, dtype: FloatDType, what = "x"): void {
    checkBatch(x, this.dim, what);
    checkDType(x, dtype, what);
    checkContext(context, this.contextDim, x.shape[0]!, dtype);
    checkFinite(x, what);
    if (context) checkFinite(context, "context");
  }

  /** x → z: the normalising direction, with log|det J_g(x)| and optional intermediates. */
  inverse(p: FlowParams, x: Array, context?: Array, opts?: CallOptions): BijectionResult {
    disposeUnused(p.base);
    const r = this.bijector.inverse(p.bijector, x, this.bijector.contextDim ? context : drop(context), opts);
    return { ...r, state: prefixState(r.state, "bijector") };
  }

  /** z → x: the generative direction, with log|det J_f(z)| and optional intermediates. */
  forward(p: FlowParams, z: Array, context?: Array, opts?: CallOptions): BijectionResult {
    disposeUnused(p.base);
    const r = this.bijector.forward(p.bijector, z, this.bijector.contextDim ? context : drop(context), opts);
    return { ...r, state: prefixState(r.state, "bijector") };
  }

  logProb(p: FlowParams, x: Array, context?: Array, opts?: CallOptions): Array {
    const r = this.logProbAndState(p, x, context, opts);
    if (r.state) for (const v of Object.values(r.state)) v.dispose();
    return r.logProb;
  }

  /** logProb plus the new running statistics of batch-norm layers in training mode. */
  logProbAndState(p: FlowParams, x: Array, context?: Array, opts?: CallOptions): LogProbWithState {
    const baseCtx = this.base.contextDim ? context?.ref : undefined;
    const bijCtx = this.bijector.contextDim ? context?.ref : undefined;
    context?.dispose();
    const r = this.bijector.inverse(p.bijector, x, bijCtx, { training: opts?.training ?? false });
    const logProb = this.base.logProb(p.base, r.y, baseCtx).add(r.logDet);
    return { logProb, state: prefixState(r.state, "bijector") };
  }

  sample(p: FlowParams, key: Key, n: number, context?: Array, opts?: SampleOptions): Array {
    const r = this.sampleAndLogProb(p, key, n, context, opts);
    r.logProb.dispose();
    return r.x;
  }

  sampleAndLogProb(p: FlowParams, key: Key, n: number, context?: Array, opts?: SampleOptions): SampleAndLogProb {
    const dtype = opts?.dtype ?? this.dtypeOf(p);
    const baseCtx = this.base.contextDim ? context?.ref : undefined;
    const bijCtx = this.bijector.contextDim ? context?.ref : undefined;
    context?.dispose();
    const { x: z, logProb: lpz } = this.base.sampleAndLogProb(p.base, key, n, baseCtx, {
      dtype,
      ...(opts?.temperature !== undefined ? { temperature: opts.temperature } : {}),
    });
    const r = this.bijector.forward(p.bijector, z, bijCtx);
    return { x: r.y, logProb: lpz.sub(r.logDet) };
  }
}

function drop(context: Array | undefined): undefined {
  context?.dispose();
  return undefined;
}

function disposeUnused(p: Params): void {
  for (const leaf of treeLeaves(p)) leaf.dispose();
}
