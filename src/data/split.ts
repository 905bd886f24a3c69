/**
 * Seeded train / validation / test splits of row-major tables. Rows are shuffled by a host
 * permutation (engine/random.ts hostPermutation), so a split is reproducible from its seed and
 * independent of the compute device.
 */
import { ConfigError, ShapeError } from "../engine/errors.js";
import { hostPermutation } from "../engine/random.js";
import { typedArrayFor, type FloatDType } from "../engine/dtype.js";

/** A table of n rows of dim values (row-major), with an optional context of K values per row. */
export interface Rows {
  x: Float64Array;
  n: number;
  dim: number;
  /** Context rows (row-major n×K), for conditional flows. */
  context?: Float64Array;
}

/** Checks that the arrays of a table have the sizes n and dim claim. */
export function checkRows(rows: Rows, what = "data"): void {
  if (!Number.isInteger(rows.n) || rows.n < 0 || !Number.isInteger(rows.dim) || rows.dim < 1)
    throw new ShapeError(`${what}: expected integer n ≥ 0 and dim ≥ 1, got n = ${rows.n}, dim = ${rows.dim}`);
  if (rows.x.length !== rows.n * rows.dim)
    throw new ShapeError(`${what}: x has ${rows.x.length} values, expected n·dim = ${rows.n}·${rows.dim} = ${rows.n * rows.dim}`);
  if (rows.context !== undefined && (rows.n === 0 ? rows.context.length !== 0 : rows.context.length % rows.n !== 0))
    throw new ShapeError(`${what}: context has ${rows.context.length} values, not a multiple of n = ${rows.n}`);
}

/** Context width K of a table (0 without a context). */
export function contextWidth(rows: Rows): number {
  return rows.context === undefined || rows.n === 0 ? 0 : rows.context.length / rows.n;
}

/** The rows `idx` of a table, in that order. */
export function takeRows(rows: Rows, idx: readonly number[]): Rows {
  const { dim } = rows;
  const x = new Float64Array(idx.length * dim);
  idx.forEach((r, i) => x.set(rows.x.subarray(r * dim, (r + 1) * dim), i * dim));
  const K = contextWidth(rows);
  let context: Float64Array | undefined;
  if (rows.context !== undefined) {
    context = new Float64Array(idx.length * K);
    idx.forEach((r, i) => context!.set(rows.context!.subarray(r * K, (r + 1) * K), i * K));
  }
  return context === undefined ? { x, n: idx.length, dim } : { x, n: idx.length, dim, context };
}

export interface SplitOptions {
  /** Share of rows for validation, in [0, 1). Default 0.1. */
  validationFraction?: number;
  /** Share of rows for testing, in [0, 1). Default 0. */
  testFraction?: number;
  /** Seed of the shuffle. Default 0. */
  seed?: number;
}

/** Row indices of a seeded split: sizes round(f·n), the rest is training. */
export function splitIndices(n: number, o: SplitOptions = {}): { train: number[]; validation: number[]; test: number[] } {
  const fv = o.validationFraction ?? 0.1;
  const ft = o.testFraction ?? 0;
  for (const [name, f] of [["validationFraction", fv], ["testFraction", ft]] as const)
    if (!(f >= 0 && f < 1)) throw new ConfigError(`split: ${name} must be in [0, 1), got ${f}`);
  if (fv + ft >= 1) throw new ConfigError(`split: validationFraction + testFraction must be < 1, got ${fv + ft}`);
  const perm = hostPermutation(n, o.seed ?? 0);
  const nTest = Math.round(ft * n);
  const nVal = Math.round(fv * n);
  if (n - nTest - nVal < 1) throw new ConfigError(`split: no training rows left from ${n} rows (validation ${nVal}, test ${nTest})`);
  return {
    test: perm.slice(0, nTest),
    validation: perm.slice(nTest, nTest + nVal),
    train: perm.slice(nTest + nVal),
  };
}

/** A seeded train / validation / test split of a table. */
export function splitRows(rows: Rows, o: SplitOptions = {}): { train: Rows; validation: Rows; test: Rows } {
  checkRows(rows);
  const idx = splitIndices(rows.n, o);
  return { train: takeRows(rows, idx.train), validation: takeRows(rows, idx.validation), test: takeRows(rows, idx.test) };
}

/**
 * Rows start..start+m of a flat row-major array, padded to B rows with copies of row `start`, in
 * the model's dtype: fixed-shape chunks for compiled evaluation (a new batch size would retrace),
 * whose padded results the caller drops.
 */
export function padRows(values: ArrayLike<number>, start: number, m: number, B: number, width: number, dtype: FloatDType): Float32Array | Float64Array {
  const out = new (typedArrayFor(dtype))(B * width);
  for (let i = 0; i < B; i++) {
    const r = start + (i < m ? i : 0);
    for (let d = 0; d < width; d++) out[i * width + d] = values[r * width + d]!;
  }
  return out;
}
