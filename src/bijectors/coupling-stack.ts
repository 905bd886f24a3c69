/**
 * CouplingStack: L coupling layers with the same transformer and the same conditioner shape (the
 * RealNVP / NICE stacks with masks that flip every layer), run as ONE bijector whose conditioner
 * params are stacked on a leading layer axis. It is the same function as `new Chain(layers)`:
 * forward (z → x) applies layers[0] first, inverse (x → z) applies them in reverse, log-dets add,
 *     log|det J_f(z)| = Σ_l log|det J_{f_l}(z(l-1))|,
 * and `init` draws exactly the params the Chain would (layer l's conditioner from the l-th key
 * of splitKey(key, L)), stacked: params.net.W[i] is [L, in_i, out_i], params.net.b[i] is [L, out_i].
 *
 * Why it exists: speed. jax-js spends most of a small training step on per-kernel and per-leaf
 * overhead (docs/reference/ENGINE-NOTES.md "Speed"), and this form cuts both:
 *  1. stacked params: 2·(H+1) leaves instead of L·2·(H+1) (H hidden layers), so the optimiser
 *     gathers and updates a handful of arrays instead of dozens;
 *  2. full-width layers (coupling.ts): with a transformer for which θ = 0 is exactly the identity
 *     (affine, additive) and a small D, the one-hot selections are folded into the first and last conditioner
 *     weights, S_l·W_0 and W_{n−1}·Q_l, here for all L layers at once, in one batched matmul each;
 *     the data path then has no column selection at all. The values equal the Chain's (the
 *     log-dets up to rounding: they are summed over dimensions once, after all layers).
 *     Transformers without that property run layer by layer through the select-and-place path.
 *
 * Slicing: the per-layer weights are slices of the leading axis (`W.slice(l)`). jax-js 0.1.25
 * transposes a slice into a pad that drops the constant terms of an unmaterialised cotangent
 * (docs/reference/ENGINE-NOTES.md); here every slice feeds a matmul, a broadcast product or a broadcast bias add,
 * whose cotangents are materialised dot and sum results, so the gradients are exact
 * (test/bijectors/coupling-stack.test.ts checks them against the eager Chain under jit, in float64
 * on cpu and float32 on wasm). (A one-hot weighted sum over the layer axis instead of slices was
 * measured slower: its gradient kernel is not vectorised either, and it adds a kernel per layer.)
 *
 * Ownership (jax-js convention): forward/inverse consume p, the input and the context.
 */
import type { Array } from "../engine/jax.js";
import type { FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import { splitKey, type Key } from "../engine/random.js";
import { disposeTree, refTree } from "../engine/tree.js";
import type { ActivationName } from "../nn/activation.js";
import { mlpLayer, mlpStack, type MLPParams, type MLPSpec } from "../nn/mlp.js";
import { takeContext, type BijectionResult, type Bijector, type CallOptions } from "./bijector.js";
import { Coupling, type CouplingParams } from "./coupling.js";
import type { ElementwiseTransformer } from "./transformers/transformer.js";

/** Params of a coupling stack: the L conditioners' MLP params stacked on a leading layer axis. */
export type CouplingStackParams = { net: MLPParams };

export class CouplingStack implements Bijector<CouplingStackParams> {
  readonly kind = "coupling-stack";
  readonly dim: number;
  readonly contextDim: number;
  readonly forwardPass = "parallel" as const;
  readonly inversePass = "parallel" as const;
  /** The couplings, in forward order (what a Chain of them would hold); layer l uses slice l of the params. */
  readonly layers: readonly Coupling[];
  /** The shared transformer and conditioner shape. */
  readonly transformer: ElementwiseTransformer;
  readonly activation: ActivationName;
  readonly net: MLPSpec;
  /** Whether the layers run full width (see Coupling.fullWidth) or through Coupling's select-and-place path. */
  readonly fullWidth: boolean;
  // the layers' one-hot folds stacked, row-major: S [L, D+K, k_id+K] and Q [L, P·k, P·D]
  private readonly inputFold: Float64Array;
  private readonly outputFold: Float64Array;

  /** @param layers couplings in forward (generative) order, all of the same shape (see `mismatch`). */
  constructor(layers: readonly Coupling[]) {
    if (layers.length === 0) throw new ConfigError("coupling stack: needs at least one coupling");
    const first = layers[0]!;
    layers.forEach((l, i) => {
      const why = CouplingStack.mismatch(first, l);
      if (why) throw new ConfigError(`coupling stack: layer ${i} (${l.kind}) differs from layer 0: ${why}`);
    });
    this.layers = layers.slice();
    this.dim = first.dim;
    this.contextDim = first.contextDim;
    this.transformer = first.transformer;
    this.activation = first.activation;
    this.net = first.net;
    this.fullWidth = first.fullWidth;

    this.inputFold = concatHost(layers.map((l) => l.inputFold));
    this.outputFold = concatHost(layers.map((l) => l.outputFold));
  }

  /**
   * Why two couplings cannot share a stack (different dim, context, conditioner, transformer or
   * split sizes), or undefined when they can.
   */
  static mismatch(a: Coupling, b: Coupling): string | undefined {
    if (a.dim !== b.dim) return `dim ${b.dim}, expected ${a.dim}`;
    if (a.contextDim !== b.contextDim) return `contextDim ${b.contextDim}, expected ${a.contextDim}`;
    if (a.hidden.length !== b.hidden.length || a.hidden.some((h, i) => h !== b.hidden[i]))
      return `hidden [${b.hidden.join(", ")}], expected [${a.hidden.join(", ")}]`;
    if (a.activation !== b.activation) return `activation ${b.activation}, expected ${a.activation}`;
    const ta = a.transformer;
    const tb = b.transformer;
    if (ta !== tb && (ta.constructor !== tb.constructor || JSON.stringify(ta) !== JSON.stringify(tb)))
      return `transformer ${JSON.stringify(tb)}, expected ${JSON.stringify(ta)}`;
    if (a.identityIdx.length !== b.identityIdx.length)
      return `${b.identityIdx.length} passing dimensions, expected ${a.identityIdx.length}`;
    return undefined;
  }

  init(key: Key, dtype: FloatDType = "float32"): CouplingStackParams {
    const keys = splitKey(key, this.layers.length);
    return { net: mlpStack(this.layers.map((l, i) => l.init(keys[i]!, dtype).net)) };
  }

  /** Stacks per-layer coupling params (a Chain's `layers`) into this layout (consumes them). */
  stack(params: readonly CouplingParams[]): CouplingStackParams {
    if (params.length !== this.layers.length)
      throw new ConfigError(`coupling stack: expected params of ${this.layers.length} layers, got ${params.length}`);
    return { net: mlpStack(params.map((p) => p.net)) };
  }

  /** The per-layer coupling params (what a Chain of `layers` takes), from stacked ones (consumes p). */
  unstack(p: CouplingStackParams): CouplingParams[] {
    const out = this.layers.map((_, l) => ({ net: mlpLayer(refTree(p.net), l) }));
    disposeTree(p);
    return out;
  }

  forward(p: CouplingStackParams, z: Array, context?: Array, opts?: CallOptions): BijectionResult {
    return this.run(p, z, context, opts, "forward");
  }

  inverse(p: CouplingStackParams, x: Array, context?: Array, opts?: CallOptions): BijectionResult {
    return this.run(p, x, context, opts, "inverse");
  }

  private run(
    p: CouplingStackParams,
    input: Array,
    context: Array | undefined,
    opts: CallOptions | undefined,
    direction: "forward" | "inverse",
  ): BijectionResult {
    const ctx = takeContext(this, context);
    const L = this.layers.length;
    const order = this.layers.map((_, i) => (direction === "forward" ? i : L - 1 - i));
    const keep = opts?.intermediates === true;
    const intermediates: Array[] = [];
    if (keep) intermediates.push(input.ref);
    let y = input;
    let logDet: Array | undefined;
    const step = (r: BijectionResult): void => {
      y = r.y;
      logDet = logDet === undefined ? r.logDet : logDet.add(r.logDet);
      if (keep) intermediates.push(y.ref);
    };
    if (this.fullWidth) {
      // elementwise log-dets [N, D] are added up and summed over D once at the end (the adds fuse
      // into one kernel): Σ_l Σ_d in another order than the Chain's, equal up to rounding
      const w = this.fold(p.net);
      for (const l of order) step(this.layers[l]!.applyFolded(mlpLayer(refTree(w), l), y, ctx?.ref, direction, true));
      disposeTree(w);
      logDet = logDet!.sum(1);
    } else {
      for (const l of order) step(this.layers[l]![direction]({ net: mlpLayer(refTree(p.net), l) }, y, ctx?.ref));
      disposeTree(p);
    }
    ctx?.dispose();
    return keep ? { y, logDet: logDet!, intermediates } : { y, logDet: logDet! };
  }

  /** The stacked conditioner with every layer's one-hot folds applied at once (consumes net). */
  private fold(net: MLPParams): MLPParams {
    return this.layers[0]!.fold(net, [this.layers.length], this.inputFold, this.outputFold);
  }
}

/** Concatenates host arrays. */
function concatHost(parts: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of parts) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}
