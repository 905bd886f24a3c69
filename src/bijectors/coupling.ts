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
 * Full width. When θ = 0 is exactly the identity of the transformer (affine, additive:
 * `identityAtZero`) and D is small (≤ FULL_WIDTH_MAX_DIM), the layer never picks columns out of
 * the data. The one-hot matrices that
 * would select z_id and place θ are folded into the conditioner's first and last weights instead:
 *     h_0 = [v, c]·(S W_0) + b_0                       S one-hot, (D+K)×(k_id+K): [v, c]·S = [v_id, c]
 *     θ   = h_{n−1}·(W_{n−1} Q) + b_{n−1} Q            Q one-hot, P·k×P·D: block j → head j's transformed columns
 *     y   = τ(v; θ_0, …, θ_{P−1})                       θ_j: block j of θ, by a one-hot sum over blocks
 * (with one passing column and no context, h_0 = v_c·W_0[0] + b_0, an outer product), so τ runs on all D columns with θ = 0 on the passing ones, where τ(v; 0) = v and log|τ'| = 0
 * bit for bit. Products with one-hot matrices and sums with exact zeros are exact: the values are
 * those of the select-and-place form, with fewer and cheaper kernels (jax-js spends most of a small
 * step on per-kernel overhead, docs/reference/ENGINE-NOTES.md "Speed"). Other layers split and join columns with
 * engine/select.ts columnSplit: O(N·D) one-hot sums for halves and even/odd masks, selection
 * matrices otherwise. Never slices: slicing's gradient is wrong under jit in jax-js 0.1.25.
 */
import { np, type Array } from "../engine/jax.js";
import { floatDTypeOf, fromValues, type FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import type { Key } from "../engine/random.js";
import { columnSplit, splitColumnBlocks, type ColumnSplit } from "../engine/select.js";
import { activation, type ActivationName } from "../nn/activation.js";
import { mlpApply, mlpInit, type MLPParams, type MLPSpec } from "../nn/mlp.js";
import { takeContext, type BijectionResult, type Bijector } from "./bijector.js";
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
  /** [v_id, v_T] from v and back, by the cheapest exact form the mask allows (engine/select.ts). */
  private readonly columns: ColumnSplit;
  /** The conditioner: [z_id, context] ([N, |id| + K]) → θ blocks ([N, paramCount·k]). */
  readonly net: MLPSpec;
  /** Whether the layer runs full width (transformer.identityAtZero), see the file comment. */
  readonly fullWidth: boolean;
  /** S, row-major [D+K, k_id+K]: [v, c]·S = [v_id, c]. */
  readonly inputFold: Float64Array;
  /**
   * The one passing dimension when the conditioner input is that single column (k_id = 1, no
   * context, e.g. every 2-D coupling): the first layer is then the outer product v_c·W_0[0], an
   * elementwise kernel, and S is not folded into W_0.
   */
  readonly inputColumn: number | undefined;
  /** Q, row-major [P·k, P·D]: column block j of the conditioner output → head j's transformed columns. */
  readonly outputFold: Float64Array;

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
    this.columns = columnSplit(o.dim, identity, transformed);
    this.net = {
      inputDim: identity.length + contextDim,
      hidden: this.hidden,
      outputDim: o.transformer.paramCount * transformed.length,
      activation: this.activation,
      zeroLast: true,
    };
    this.fullWidth = o.transformer.identityAtZero === true && this.dim <= FULL_WIDTH_MAX_DIM;
    const D = this.dim;
    const K = contextDim;
    const cols = identity.length + K;
    this.inputFold = new Float64Array((D + K) * cols);
    identity.forEach((d, j) => (this.inputFold[d * cols + j] = 1));
    for (let c = 0; c < K; c++) this.inputFold[(D + c) * cols + identity.length + c] = 1;
    this.inputColumn = identity.length === 1 && K === 0 ? identity[0] : undefined;
    const P = o.transformer.paramCount;
    const k = transformed.length;
    this.outputFold = new Float64Array(P * k * P * D);
    for (let j = 0; j < P; j++) transformed.forEach((d, i) => (this.outputFold[(j * k + i) * P * D + j * D + d] = 1));
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
    return splitColumnBlocks(out, this.transformer.paramCount);
  }

  private apply(p: CouplingParams, v: Array, context: Array | undefined, direction: "forward" | "inverse"): BijectionResult {
    const ctx = takeContext(this, context);
    if (this.fullWidth) return this.applyFolded(this.fold(p.net), v, ctx, direction);
    const [vId, vT] = this.columns.split(v);
    const theta = this.theta(p, vId.ref, ctx);
    const r: TransformerResult = this.transformer[direction](vT, theta);
    const y = this.columns.join(vId, r.y);
    return { y, logDet: r.logDet.sum(1) };
  }

  /**
   * The conditioner weights with the one-hot folds applied (consumes net): W[0] ← S·W[0] ([D+K, ·],
   * unless the input is one column, `inputColumn`), W[n−1] ← W[n−1]·Q and b[n−1] ← b[n−1]·Q
   * ([·, P·D]). Only for a full-width layer. A CouplingStack folds all its layers at once: its
   * weights carry the leading axes `lead` ([L]) and its folds are the layers' folds concatenated.
   */
  fold(net: MLPParams, lead: readonly number[] = [], inputFold = this.inputFold, outputFold = this.outputFold): MLPParams {
    const dtype = floatDTypeOf(net.W[0]!) ?? "float32";
    const [D, K, P] = [this.dim, this.contextDim, this.transformer.paramCount];
    const [kId, kT] = [this.identityIdx.length, this.transformedIdx.length];
    const n = net.W.length;
    const W = net.W.slice();
    const b = net.b.slice();
    if (this.inputColumn === undefined) W[0] = np.matmul(fromValues(inputFold, [...lead, D + K, kId + K], dtype), W[0]!);
    const Q = fromValues(outputFold, [...lead, P * kT, P * D], dtype);
    W[n - 1] = np.matmul(W[n - 1]!, Q.ref);
    b[n - 1] = np.matmul(b[n - 1]!.reshape([...lead, 1, P * kT]), Q).reshape([...lead, P * D]);
    return { W, b };
  }

  /**
   * One full-width pass (consumes the folded weights, v and ctx): θ = conditioner([v, c]) with the
   * folded weights of `fold`, then τ on all D columns. The context must already be checked. With
   * `elementwiseLogDet` the log-det is returned per element, [N, D] (a caller summing over several
   * layers adds these first and sums once: one kernel instead of one per layer).
   */
  applyFolded(net: MLPParams, v: Array, ctx: Array | undefined, direction: "forward" | "inverse", elementwiseLogDet = false): BijectionResult {
    const act = activation(this.activation);
    const n = net.W.length;
    let h: Array;
    if (this.inputColumn !== undefined) {
      // v_c as [N, 1] by a one-hot weighted sum (never a slice), then h_0 = v_c·W_0[0] + b_0
      // (broadcast [N, 1]·[1, width]) in one elementwise kernel
      const e = new Float64Array(this.dim);
      e[this.inputColumn] = 1;
      h = v.ref.mul(fromValues(e, [this.dim], floatDTypeOf(v) ?? "float32")).sum(1, { keepdims: true });
    } else h = ctx === undefined ? v.ref : np.concatenate([v.ref, ctx], 1);
    for (let i = 0; i < n; i++) {
      const W = net.W[i]!;
      const fanIn = W.shape[0]!;
      const hW = i > 0 || fanIn > NARROW_FAN_IN ? np.matmul(h, W) : fanIn === 1 ? h.mul(W) : narrowMatmul(h, W);
      h = hW.add(net.b[i]!);
      if (i < n - 1) h = act(h);
    }
    const r = this.transformer[direction](v, splitColumnBlocks(h, this.transformer.paramCount));
    return { y: r.y, logDet: elementwiseLogDet ? r.logDet : r.logDet.sum(1) };
  }
}

/**
 * Largest D run full width. The folds cost O(D·k·width) per call on the weights and full width
 * doubles the first and last conditioner products; selecting and placing columns costs O(N·D²)
 * on the data. Full width wins where per-kernel overhead dominates (small D, the 2-D toys and
 * small tables); for images (D in the hundreds) the folds would cost more than the layer.
 */
export const FULL_WIDTH_MAX_DIM = 64;

/** Fan-in up to which the first conditioner layer is computed by `narrowMatmul` (fan-in 1: h·W broadcast). */
const NARROW_FAN_IN = 4;

/**
 * x·W for a narrow x ([N, k], k small) as the broadcast product x[:, :, None]·W[None] summed over
 * k (consumes both): the same numbers as np.matmul, but jax-js 0.1.25's wasm backend then reads W
 * along its output axis and vectorises it, where np.matmul on a k = 1..4 input runs scalar
 * (measured on the C1 flow: ≈ 3× faster for the product and its two gradients together).
 */
function narrowMatmul(x: Array, W: Array): Array {
  return x.reshape([x.shape[0]!, x.shape[1]!, 1]).mul(W).sum(1);
}

