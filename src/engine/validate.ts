/**
 * Checks at the public boundary: shapes, dtypes, context and finiteness, with messages naming the
 * expected and the actual value. Shape/dtype checks are static (they work on tracers inside jit);
 * the finiteness check reads the data and runs only on concrete arrays.
 */
import { jax, type Array } from "./jax.js";
import { floatDTypeOf, type FloatDType } from "./dtype.js";
import { ConfigError, ContextError, DTypeError, NonFiniteError, ShapeError } from "./errors.js";

/** Checks that x is [N, dim] (N ≥ 1). */
export function checkBatch(x: Array, dim: number, what = "input"): void {
  if (x.ndim !== 2 || x.shape[1] !== dim || x.shape[0]! < 1)
    throw new ShapeError(`${what}: expected shape [N, ${dim}], got [${x.shape.join(", ")}]`);
}

/** Checks that x has the model's float dtype. */
export function checkDType(x: Array, dtype: FloatDType, what = "input"): void {
  const actual = floatDTypeOf(x) ?? String(x.dtype);
  if (actual !== dtype) throw new DTypeError(`${what}: expected dtype ${dtype}, got ${actual}`);
}

/** Checks a context against a flow's context width and the batch size. */
export function checkContext(context: Array | undefined, contextDim: number, n: number, dtype: FloatDType): void {
  if (contextDim === 0) {
    if (context !== undefined)
      throw new ContextError(`context: this flow is unconditional (context size 0), but a context of shape [${context.shape.join(", ")}] was given`);
    return;
  }
  if (context === undefined)
    throw new ContextError(`context: this flow is conditional and needs a context of shape [${n}, ${contextDim}], none was given`);
  if (context.ndim !== 2 || context.shape[0] !== n || context.shape[1] !== contextDim)
    throw new ContextError(`context: expected shape [${n}, ${contextDim}], got [${context.shape.join(", ")}]`);
  checkDType(context, dtype, "context");
}

/** True for a concrete (non-traced) array whose values can be read. */
export function isConcrete(x: Array): boolean {
  return x instanceof jax.Array;
}

/** Throws NonFiniteError when a concrete array holds NaN or ±Infinity (does not consume x). */
export function checkFinite(x: Array, what = "input"): void {
  if (!isConcrete(x)) return;
  const data = x.ref.dataSync() as ArrayLike<number>;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) {
      const row = Math.floor(i / Math.max(1, x.shape[x.ndim - 1] ?? 1));
      throw new NonFiniteError(`${what}: expected finite numbers, got ${v} at row ${row}`);
    }
  }
}


/**
 * Refuses a key of a config or options object that is not in `known` (a misspelt option must not
 * silently fall back to its default): one ConfigError naming the key, the nearest known one (same
 * letters in another case, or at most two edits away) and every known key.
 */
export function rejectUnknownKeys(obj: object, known: readonly string[], field: string, noun: "key" | "option" = "key"): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const near = nearestKnown(key, known);
    throw new ConfigError(`${field}: unknown ${noun} ${JSON.stringify(key)}${near ? ` (did you mean ${near}?)` : ""}; expected one of ${known.join(", ")}`);
  }
}

/** The known name nearest to `key`: the same letters in another case, or at most two edits away. */
export function nearestKnown(key: string, known: readonly string[]): string | undefined {
  return known.find((k) => k.toLowerCase() === key.toLowerCase() || editDistance(k, key) <= 2);
}

/** Levenshtein distance (insertions, deletions, substitutions), one row at a time. */
function editDistance(a: string, b: string): number {
  const row = globalThis.Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}
