/**
 * Exact log-probabilities of a whole data set under a flow, in evaluation mode, with ONE compiled
 * shape: the rows are cut into chunks of a fixed size B and the last chunk is padded with copies
 * of a real row (so that the padding is as finite as the data); the padded values are dropped on
 * the host. Every row is evaluated exactly once, whatever n is, and nothing retraces.
 */
import { jit, type Array, type JsTree } from "../engine/jax.js";
import { fromValues, type FloatDType } from "../engine/dtype.js";
import { ConfigError, ContextError, ShapeError } from "../engine/errors.js";
import { refTree } from "../engine/tree.js";
import type { Flow, FlowParams } from "../distributions/flow.js";
import { checkRows, contextWidth, padRows, type Rows } from "../data/split.js";

type EvalFn = ((p: FlowParams, x: Array, c?: Array) => Array) & { dispose(): void };

/** Default rows per evaluation call. */
export const DEFAULT_EVAL_BATCH = 2048;

/** A compiled evaluator of log p(x) (and log p(x | context)) for one flow and one dtype. */
export interface LogProbEvaluator {
  /**
   * log p of every row (float64 host values, n of them). Does NOT consume `params`.
   * Rows are read in order; `rows.context` is required for a conditional flow.
   */
  logProbs(params: FlowParams, rows: Rows): Promise<Float64Array>;
  /** Frees the compiled function. */
  dispose(): void;
}

export interface EvaluatorOptions {
  /** Rows per call (fixed shape; the last chunk is padded). Default 2048. */
  batchSize?: number;
  /** Float dtype the rows are cast to (the params' dtype). Default float32. */
  dtype?: FloatDType;
}

/** Builds a jitted evaluator (eval mode: batch-norm layers use their running statistics). */
export function makeEvaluator(flow: Flow, o: EvaluatorOptions = {}): LogProbEvaluator {
  const batchSize = o.batchSize ?? DEFAULT_EVAL_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError(`evaluate: batchSize must be an integer ≥ 1, got ${batchSize}`);
  const dtype = o.dtype ?? "float32";
  const K = flow.contextDim;
  type Traced = (...args: any[]) => JsTree<Array>;
  const fn = (K > 0
    ? jit(((p: FlowParams, x: Array, c: Array) => flow.logProb(p, x, c, { training: false })) as unknown as Traced)
    : jit(((p: FlowParams, x: Array) => flow.logProb(p, x, undefined, { training: false })) as unknown as Traced)) as unknown as EvalFn;

  return {
    async logProbs(params: FlowParams, rows: Rows): Promise<Float64Array> {
      checkRows(rows, "evaluate");
      if (rows.dim !== flow.dim) throw new ShapeError(`evaluate: the flow has dim ${flow.dim}, the data has ${rows.dim} columns`);
      const Kd = contextWidth(rows);
      if (K > 0 && (rows.context === undefined || Kd !== K))
        throw new ContextError(`evaluate: this flow needs a context of ${K} columns per row, got ${rows.context === undefined ? "none" : Kd}`);
      if (K === 0 && rows.context !== undefined && Kd > 0)
        throw new ContextError(`evaluate: this flow is unconditional but the data has a context of ${Kd} columns`);
      const { n, dim } = rows;
      const out = new Float64Array(n);
      if (n === 0) return out;
      const B = Math.min(batchSize, n);
      for (let start = 0; start < n; start += B) {
        const m = Math.min(B, n - start);
        const x = fromValues(padRows(rows.x, start, m, B, dim, dtype), [B, dim], dtype);
        const lp = K > 0 ? fn(refTree(params), x, fromValues(padRows(rows.context!, start, m, B, K, dtype), [B, K], dtype)) : fn(refTree(params), x);
        const values = (await lp.data()) as Float32Array | Float64Array;
        for (let i = 0; i < m; i++) out[start + i] = values[i]!;
      }
      return out;
    },
    dispose(): void {
      fn.dispose();
    },
  };
}

/** Mean and standard error of host values (NaN/∞ propagate into the mean). */
export function meanAndStdError(values: Float64Array): { mean: number; se: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, se: NaN };
  let s = 0;
  for (const v of values) s += v;
  const mean = s / n;
  let ss = 0;
  for (const v of values) ss += (v - mean) * (v - mean);
  return { mean, se: n > 1 ? Math.sqrt(ss / (n - 1) / n) : 0 };
}
