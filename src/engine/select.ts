/**
 * Column selection by constant one-hot matrices.
 *
 * Why not `x.slice(...)` or `np.take`: in jax-js 0.1.25 the gradient of a slice is WRONG under
 * `jit` when the incoming cotangent is a broadcast constant (e.g. `x.slice([], [1, 3]).sum()`:
 * the pad that transposes the slice fills the constant everywhere), and gathers with index
 * arrays cannot be differentiated under jit at all (test/engine/conformance.test.ts pins both).
 * A product with a 0/1 matrix is exact (each output is one input times 1 plus zeros), has a
 * correct gradient everywhere, and costs nothing at the sizes of coupling splits.
 */
import { np, type Array, type DType } from "./jax.js";
import { floatDTypeOf, fromValues } from "./dtype.js";

/** The D×k matrix S with S[idx[j], j] = 1, so that x·S = x[:, idx]. */
export function selectionMatrix(dim: number, idx: readonly number[], dtype: DType): Array {
  const name = String(dtype);
  // built directly in a float dtype: a float64 constant cast under jit costs a kernel per use
  const Typed = name === "float32" ? Float32Array : Float64Array;
  const data = new Typed(dim * idx.length);
  idx.forEach((i, j) => {
    data[i * idx.length + j] = 1;
  });
  const m = np.array(data, { shape: [dim, idx.length], dtype: name === "float32" ? np.float32 : np.float64 });
  return name === "float32" || name === "float64" ? m : m.astype(dtype);
}

/** x[:, idx] for x of shape [N, D] (consumes x). */
export function takeColumns(x: Array, idx: readonly number[]): Array {
  const dim = x.shape[x.ndim - 1]!;
  const dtype = x.dtype;
  return np.matmul(x, selectionMatrix(dim, idx, dtype));
}

/**
 * Scatters the columns of y ([N, k]) into positions idx of a [N, dim] array of zeros:
 * out[:, idx[j]] = y[:, j]. (consumes y)
 */
export function placeColumns(y: Array, idx: readonly number[], dim: number): Array {
  return np.matmul(y, selectionMatrix(dim, idx, y.dtype).transpose());
}


/**
 * The P equal column blocks of x ([N, P·k] → P arrays [N, k], consumes x): block j is
 * Σ_i [i = j]·x3[:, i, :] with x3 = x as [N, P, k], a one-hot weighted sum over the block axis
 * (exact, O(N·P·k), correct gradients under jit), never a slice. Joining blocks back is
 * `np.concatenate(blocks, 1)`, whose gradient is right under jit (conformance test).
 */
export function splitColumnBlocks(x: Array, P: number): Array[] {
  if (P === 1) return [x];
  const N = x.shape[0]!;
  const k = x.shape[x.ndim - 1]! / P;
  const dtype = floatDTypeOf(x) ?? "float32";
  const x3 = x.reshape([N, P, k]);
  const out: Array[] = [];
  for (let j = 0; j < P; j++) {
    const e = new Float64Array(P);
    e[j] = 1;
    // the [P, 1] one-hot enters the kernel as a constant, with no copy per call
    out.push((j === P - 1 ? x3 : x3.ref).mul(fromValues(e, [P, 1], dtype)).sum(1));
  }
  return out;
}

/** Splitting the columns of [N, D] into two sets and joining them back (see columnSplit). */
export interface ColumnSplit {
  /** [x[:, first], x[:, second]] (consumes x). */
  split(x: Array): [Array, Array];
  /** The inverse: out[:, first] = a, out[:, second] = b (consumes a and b). */
  join(a: Array, b: Array): Array;
}

/**
 * The split of D columns into `first` and `second` (a partition of 0..D−1, each increasing), by
 * the cheapest exact form its pattern allows:
 *   - halves ([0, D/2) and [D/2, D)): splitColumnBlocks / concatenate, O(N·D);
 *   - interleaved (even and odd columns): x as [N, D/2, 2], a one-hot sum over the last axis;
 *     joined by concatenating [N, D/2, 1] parts on that axis, O(N·D);
 *   - anything else: selection matrices (takeColumns / placeColumns), O(N·D²) — at D = 784 these
 *     products were most of a NICE layer's time (measured: 80 ms for log p of 64 images under a
 *     2-coupling NICE with 32 hidden units).
 * All three are exact and have correct gradients under jit (no slices, see the file comment).
 */
export function columnSplit(dim: number, first: readonly number[], second: readonly number[]): ColumnSplit {
  const half = dim % 2 === 0 && first.length === dim / 2 && second.length === dim / 2;
  const isRange = (idx: readonly number[], start: number): boolean => idx.every((d, i) => d === start + i);
  const isParity = (idx: readonly number[], p: number): boolean => idx.every((d, i) => d === 2 * i + p);
  if (half && (isRange(first, 0) || isRange(first, dim / 2))) {
    const firstIsLow = first[0] === 0;
    return {
      split(x) {
        const [lo, hi] = splitColumnBlocks(x, 2) as [Array, Array];
        return firstIsLow ? [lo, hi] : [hi, lo];
      },
      join: (a, b) => np.concatenate(firstIsLow ? [a, b] : [b, a], 1),
    };
  }
  if (half && (isParity(first, 0) || isParity(first, 1))) {
    const p = first[0]!;
    const k = dim / 2;
    return {
      split(x) {
        const N = x.shape[0]!;
        const dtype = floatDTypeOf(x) ?? "float32";
        const x3 = x.reshape([N, k, 2]);
        const pick = (q: number, arr: Array): Array => arr.mul(fromValues(q === 0 ? [1, 0] : [0, 1], [2], dtype)).sum(2);
        return [pick(p, x3.ref), pick(1 - p, x3)];
      },
      join(a, b) {
        const N = a.shape[0]!;
        const [even, odd] = p === 0 ? [a, b] : [b, a];
        return np.concatenate([even.reshape([N, k, 1]), odd.reshape([N, k, 1])], 2).reshape([N, dim]);
      },
    };
  }
  return {
    split: (x) => [takeColumns(x.ref, first), takeColumns(x, second)],
    join: (a, b) => placeColumns(a, first, dim).add(placeColumns(b, second, dim)),
  };
}
