/**
 * Generic coupling layer (NICE, RealNVP): a mask b splits the dimensions into a passing part and a
 * transformed part,
 *     x_id = z_id,     x_t = τ(z_t; θ),     θ = NN([z_id, context]),
 * and the inverse is z_id = x_id, z_t = τ⁻¹(x_t; θ(x_id, context)) — both directions are one
 * parallel pass because θ only sees the unchanged part. The Jacobian is block triangular, so
 *     log|det J| = Σ_{d transformed} log|∂τ/∂z_d|.
 * τ is a pluggable elementwise transformer (affine, additive, later splines). The conditioner is an
 * MLP whose output layer is zero-initialised, so a fresh coupling is the identity map (for
 * transformers whose θ = 0 is the identity, as affine and additive are).
 *
 * Columns are picked with takeColumns/placeColumns (one-hot matmuls): slicing's gradient is wrong
 * under jit in jax-js 0.1.25 (ENGINE-NOTES.md).
 */
import { np, type Array } from "../engine/jax.js";
import type { FloatDType } from "../engine/dtype.js";
import { ConfigError, ContextError } from "../engine/errors.js";
import type { Key } from "../engine/random.js";
import { placeColumns, takeColumns } from "../engine/select.js";
import type { ActivationName } from "../nn/activation.js";
import { mlpApply, mlpInit, type MLPParams, type MLPSpec } from "../nn/mlp.js";
import { dropContext, type BijectionResult, type Bijector } from "./bijector.js";
import { maskIndices, validateMask } from "./masks.js";
import type { ElementwiseTransformer, TransformerResult } from "./transformers/transformer.js";

/** Params of a coupling: its conditioner network. */
export type CouplingParams = { net: MLPParams };

export interface CouplingOptions {
  /** Event dimension D. */
  dim: number;
  /** mask[d] = true: d passes unchanged and feeds the conditioner; false: d is transformed. */
  mask: readonly boolean[];
  /** The elementwise map applied to the transformed dimensions. */
  transformer: ElementwiseTransformer;
  /** Hidden layer widths of the conditioner MLP. */
  hidden: readonly number[];
  /** Hidden activation of the conditioner. Default "relu". */
  activation?: ActivationName;
  /** Context width K (conditional flows); the context is appended to the conditioner input. Default 0. */
  contextDim?: number;
  /** Kind name reported by the layer. Default "coupling". */
  kind?: string;
}

export class Coupling implements Bijector<CouplingParams> {
  readonly kind: string;
  readonly dim: number;
  readonly contextDim: number;
  readonly forwardPass = "parallel" as const;
  readonly inversePass = "parallel" as const;
  readonly mask: readonly boolean[];
  readonly transformer: ElementwiseTransformer;
  readonly hidden: readonly number[];
  readonly activation: ActivationName;
  /** Passing (identity) and transformed dimension indices, in increasing order. */
  readonly identityIdx: readonly number[];
  readonly transformedIdx: readonly number[];
  /** The conditioner: [z_id, context] ([N, |id| + K]) → θ blocks ([N, paramCount·k]). */
  readonly net: MLPSpec;

  constructor(o: CouplingOptions) {
    this.kind = o.kind ?? "coupling";
    if (!Number.isInteger(o.dim) || o.dim < 2) throw new ConfigError(`${this.kind}: dim must be an integer ≥ 2, got ${o.dim}`);
    if (o.mask.length !== o.dim)
      throw new ConfigError(`${this.kind}: mask has length ${o.mask.length}, expected dim = ${o.dim}`);
    const contextDim = o.contextDim ?? 0;
    if (!Number.isInteger(contextDim) || contextDim < 0)
      throw new ConfigError(`${this.kind}: contextDim must be a non-negative integer, got ${contextDim}`);
    o.hidden.forEach((h) => {
      if (!Number.isInteger(h) || h < 1) throw new ConfigError(`${this.kind}: hidden widths must be positive integers, got [${o.hidden.join(", ")}]`);
    });
    this.dim = o.dim;
    this.contextDim = contextDim;
    this.mask = validateMask(o.mask, `${this.kind} mask`);
    this.transformer = o.transformer;
    this.hidden = o.hidden.slice();
    this.activation = o.activation ?? "relu";
    const { identity, transformed } = maskIndices(this.mask);
    this.identityIdx = identity;
    this.transformedIdx = transformed;
    this.net = {
      inputDim: identity.length + contextDim,
      hidden: this.hidden,
      outputDim: o.transformer.paramCount * transformed.length,
      activation: this.activation,
      zeroLast: true,
    };
  }

  init(key: Key, dtype: FloatDType = "float32"): CouplingParams {
    return { net: mlpInit(this.net, key, dtype) };
  }

  forward(p: CouplingParams, z: Array, context?: Array): BijectionResult {
    return this.apply(p, z, context, "forward");
  }

  inverse(p: CouplingParams, x: Array, context?: Array): BijectionResult {
    return this.apply(p, x, context, "inverse");
  }

  /** The per-parameter θ blocks for the passing part (consumes p, v_id, context). */
  private theta(p: CouplingParams, vId: Array, context: Array | undefined): Array[] {
    const input = context === undefined ? vId : np.concatenate([vId, context], 1);
    const out = mlpApply(this.net, p.net, input);
    const k = this.transformedIdx.length;
    const count = this.transformer.paramCount;
    const blocks: Array[] = [];
    for (let j = 0; j < count; j++) {
      const cols = globalThis.Array.from({ length: k }, (_, i) => j * k + i);
      blocks.push(takeColumns(j === count - 1 ? out : out.ref, cols));
    }
    return blocks;
  }

  private apply(p: CouplingParams, v: Array, context: Array | undefined, direction: "forward" | "inverse"): BijectionResult {
    let ctx: Array | undefined;
    if (this.contextDim > 0) {
      if (context === undefined)
        throw new ContextError(`${this.kind}: this layer is conditional and needs a context of shape [N, ${this.contextDim}], none was given`);
      ctx = context;
    } else dropContext(context);
    const D = this.dim;
    const vId = takeColumns(v.ref, this.identityIdx);
    const vT = takeColumns(v, this.transformedIdx);
    const theta = this.theta(p, vId.ref, ctx);
    const r: TransformerResult = this.transformer[direction](vT, theta);
    const y = placeColumns(vId, this.identityIdx, D).add(placeColumns(r.y, this.transformedIdx, D));
    return { y, logDet: r.logDet.sum(1) };
  }
}
