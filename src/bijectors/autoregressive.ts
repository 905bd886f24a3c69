/**
 * Shared machinery of the autoregressive layers (MAF and IAF): an elementwise transformer whose
 * parameters come from a MADE, θ_i = MADE(v)_i depending only on v_j with deg[j] < deg[i].
 *   parallel pass:   out = τ^{±1}(v; θ(v))            — one MADE evaluation;
 *   sequential pass: w⁰ = 0, w^{p} = τ^{±1}(v; θ(w^{p−1})), p = 1..D — after pass p every dimension
 *                    of degree ≤ p is exact (its θ only reads dimensions of lower degree, exact
 *                    since pass p − 1), so w^D is the exact solution. w^D is the same FUNCTION of v
 *                    as the true map, so its autodiff derivatives are exact too, and the last pass's
 *                    log-det uses θ(w^{D−1}) = θ(w^D).
 * The D passes are a JS loop (jax-js has no scan under jit), each pass differentiable.
 */
import { jit, np, type Array } from "../engine/jax.js";
import type { FloatDType } from "../engine/dtype.js";
import type { Key } from "../engine/random.js";
import { refTree, treeLeaves } from "../engine/tree.js";
import { isConcrete } from "../engine/validate.js";
import type { ActivationName } from "../nn/activation.js";
import { madeApply, madeInit, madeSpec, type MADEDegrees, type MADEParams, type MADESpec } from "../nn/made.js";
import { takeContext, type BijectionResult, type Bijector, type PassKind } from "./bijector.js";
import { AffineTransformer } from "./transformers/affine.js";
import type { ElementwiseTransformer } from "./transformers/transformer.js";

/** Called after every eagerly run group of sequential passes, with their number (progress of MAF sampling / IAF density at large D). */
export type PassListener = (passes: number) => void;

/**
 * Sequential passes per compiled call when run eagerly: each call unrolls this many MADE passes,
 * so D = 784 costs 49 calls and host round trips per layer instead of 784 (jax-js's per-call
 * overhead dominates a pass of a small MADE).
 */
export const PASSES_PER_CALL = 16;
let passListener: PassListener | undefined;

/**
 * Runs `fn` with `listener` called after every eagerly run sequential pass of any autoregressive
 * layer (D per layer and call): 784 passes per layer make MAF sampling of MNIST a long job, and
 * this is how a caller shows its progress. Restores the previous listener afterwards.
 */
export function withPassListener<T>(listener: PassListener, fn: () => T): T {
  const previous = passListener;
  passListener = listener;
  try {
    return fn();
  } finally {
    passListener = previous;
  }
}

/** Params of an autoregressive layer: its MADE conditioner. */
export type AutoregressiveParams = { made: MADEParams };

export interface AutoregressiveOptions {
  /** Event dimension D. */
  dim: number;
  /** Hidden layer widths of the MADE (at least one). */
  hidden: readonly number[];
  /** Hidden activation. Default "relu". */
  activation?: ActivationName;
  /** Context width K (conditional flows). Default 0. */
  contextDim?: number;
  /** Elementwise map. Default AffineTransformer({ scaleBound }). */
  transformer?: ElementwiseTransformer;
  /** Soft-clamp bound of the default affine transformer's log-scale (ignored with `transformer`). Default 3. */
  scaleBound?: number;
  /** Autoregressive order: input degrees, a permutation of 1..D. Default [1, …, D]. */
  order?: readonly number[];
  /** MADE hidden degrees. Default "sequential". */
  degrees?: MADEDegrees;
}

/** Base class of MaskedAutoregressive and InverseAutoregressive. */
export abstract class Autoregressive implements Bijector<AutoregressiveParams> {
  abstract readonly kind: string;
  abstract readonly forwardPass: PassKind;
  abstract readonly inversePass: PassKind;
  readonly dim: number;
  readonly contextDim: number;
  readonly transformer: ElementwiseTransformer;
  /** The MADE conditioner (degrees included). */
  readonly made: MADESpec;

  constructor(o: AutoregressiveOptions) {
    this.transformer = o.transformer ?? new AffineTransformer({ scaleBound: o.scaleBound ?? 3 });
    this.made = madeSpec({
      dim: o.dim,
      hidden: o.hidden,
      contextDim: o.contextDim ?? 0,
      paramCount: this.transformer.paramCount,
      activation: o.activation ?? "relu",
      order: o.order,
      degrees: o.degrees ?? "sequential",
    });
    this.dim = this.made.dim;
    this.contextDim = this.made.contextDim;
  }

  init(key: Key, dtype: FloatDType = "float32"): AutoregressiveParams {
    return { made: madeInit(this.made, key, dtype) };
  }

  abstract forward(p: AutoregressiveParams, z: Array, context?: Array): BijectionResult;
  abstract inverse(p: AutoregressiveParams, x: Array, context?: Array): BijectionResult;

  /** One pass: τ^{±1}(v; θ(v)). Consumes p, v and context. */
  protected parallel(p: AutoregressiveParams, v: Array, context: Array | undefined, direction: "forward" | "inverse"): BijectionResult {
    const ctx = takeContext(this, context);
    const theta = madeApply(this.made, p.made, v.ref, ctx);
    const r = this.transformer[direction](v, theta);
    return { y: r.y, logDet: r.logDet.sum(1) };
  }

  /**
   * D passes: w ← τ^{±1}(v; θ(w)) from w = 0. Consumes p, v and context.
   * Traced (inside jit or grad), the passes are unrolled into the caller's graph. Called eagerly on
   * concrete arrays, each pass runs one cached jitted MADE pass instead: eager jax-js ops are lazy
   * and would keep every pass's mask constants alive until the end (D = 784 MAF sampling ran out of
   * wasm memory that way), and one compiled pass is also much faster than D·layers eager ops.
   */
  protected sequential(p: AutoregressiveParams, v: Array, context: Array | undefined, direction: "forward" | "inverse"): BijectionResult {
    const ctx = takeContext(this, context);
    const D = this.dim;
    if (isConcrete(v) && (!ctx || isConcrete(ctx)) && treeLeaves(p).every(isConcrete)) {
      let w = np.zeros(v.shape, { dtype: v.dtype });
      // the remainder first, then full groups: at most two compiled shapes per layer
      for (let done = 0; done < D; ) {
        const k = done === 0 && D % PASSES_PER_CALL !== 0 ? D % PASSES_PER_CALL : Math.min(PASSES_PER_CALL, D - done);
        done += k;
        const last = done === D;
        const pass = this.compiledPass(direction, ctx !== undefined, k);
        const args = [last ? p.made : refTree(p.made), w, last ? v : v.ref, ...(ctx ? [last ? ctx : ctx.ref] : [])];
        const [y, logDet] = pass(...args);
        if (last) {
          passListener?.(k);
          return { y, logDet };
        }
        logDet.dispose();
        // Realise the group now: jax-js executes lazily, and a queue of pending passes keeps all
        // their buffers alive at once (4 GiB wasm limit at D = 784).
        y.ref.dataSync();
        passListener?.(k);
        w = y;
      }
    }
    let w = np.zeros(v.shape, { dtype: v.dtype });
    for (let pass = 1; pass < D; pass++) {
      const theta = madeApply(this.made, refTree(p.made), w, ctx?.ref);
      const r = this.transformer[direction](v.ref, theta);
      r.logDet.dispose();
      w = r.y;
    }
    const theta = madeApply(this.made, p.made, w, ctx);
    const r = this.transformer[direction](v, theta);
    return { y: r.y, logDet: r.logDet.sum(1) };
  }

  private readonly passes = new Map<string, (...args: unknown[]) => [Array, Array]>();

  /**
   * k jitted passes (made, w, v[, context]) → [w_k, Σ log-det of the last pass], w_{j+1} = τ^{±1}(v; θ(w_j)),
   * cached per signature.
   */
  private compiledPass(direction: "forward" | "inverse", withContext: boolean, k: number): (...args: unknown[]) => [Array, Array] {
    const key = `${direction}:${withContext}:${k}`;
    let pass = this.passes.get(key);
    if (!pass) {
      const body = (made: MADEParams, w: Array, v: Array, ctx?: Array): [Array, Array] => {
        for (let j = 1; j < k; j++) {
          const r = this.transformer[direction](v.ref, madeApply(this.made, refTree(made), w, ctx?.ref));
          r.logDet.dispose();
          w = r.y;
        }
        const r = this.transformer[direction](v, madeApply(this.made, made, w, ctx));
        return [r.y, r.logDet.sum(1)];
      };
      // jit arguments must be arrays: "no context" is a different arity.
      const traced = withContext
        ? jit((made: MADEParams, w: Array, v: Array, ctx: Array) => body(made, w, v, ctx))
        : jit((made: MADEParams, w: Array, v: Array) => body(made, w, v));
      pass = traced as unknown as (...args: unknown[]) => [Array, Array];
      this.passes.set(key, pass);
    }
    return pass;
  }
}
