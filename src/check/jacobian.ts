/**
 * Jacobians of a bijector at one point by forward-mode autodiff, as host matrices. Column j of J
 * is the JVP J·e_j; jax-js's jacfwd pushes all D basis vectors at once (and returns Jᵀ), which at
 * D = 784 holds D copies of every activation, so the columns are pushed in chunks here and the
 * result is transposed back to J[i][j] = ∂y_i/∂v_j.
 */
import { jvp, vmap, type Array } from "../engine/jax.js";
import { fromValues, type FloatDType } from "../engine/dtype.js";
import { refTree, type Params } from "../engine/tree.js";
import type { Bijector } from "../bijectors/bijector.js";

/** Basis vectors pushed per JVP batch: about 2^16 tangent values. */
const TANGENT_VALUES = 2 ** 16;

/**
 * Columns `columns` (default all) of the Jacobian of `bijector[direction]` at `point`, as a row-major
 * D × columns.length host matrix: out[i·k + c] = ∂y_i/∂v_{columns[c]}. Does not consume `p`.
 */
export function jacobianColumns<P extends Params>(
  bijector: Bijector<P>,
  p: P,
  point: readonly number[],
  context: readonly number[] | undefined,
  dtype: FloatDType,
  direction: "forward" | "inverse",
  columns?: readonly number[],
): Float64Array {
  const D = bijector.dim;
  const cols = columns ?? globalThis.Array.from({ length: D }, (_, j) => j);
  const k = cols.length;
  const f = (v: Array): Array => {
    const ctx = context ? fromValues(context, [1, context.length], dtype) : undefined;
    const r = bijector[direction](refTree(p), v.reshape([1, D]), ctx);
    r.logDet.dispose();
    return r.y.reshape([D]);
  };
  const out = new Float64Array(D * k);
  const chunk = Math.max(1, Math.floor(TANGENT_VALUES / D));
  const x = fromValues(point, [D], dtype);
  for (let start = 0; start < k; start += chunk) {
    const m = Math.min(chunk, k - start);
    const basis = new Float64Array(m * D);
    for (let c = 0; c < m; c++) basis[c * D + cols[start + c]!] = 1;
    const pushed = vmap((t: Array) => jvp(f, [x.ref], [t])[1] as Array, [0])(fromValues(basis, [m, D], dtype));
    const rows = pushed.dataSync() as ArrayLike<number>; // row c = J·e_{cols[start + c]}
    for (let c = 0; c < m; c++) for (let i = 0; i < D; i++) out[i * k + start + c] = rows[c * D + i]!;
  }
  x.dispose();
  return out;
}

/** The full Jacobian J[i][j] = ∂y_i/∂v_j of `bijector[direction]` at `point` (row-major D×D). Does not consume `p`. */
export function jacobian<P extends Params>(
  bijector: Bijector<P>,
  p: P,
  point: readonly number[],
  context: readonly number[] | undefined,
  dtype: FloatDType,
  direction: "forward" | "inverse" = "forward",
): Float64Array {
  return jacobianColumns(bijector, p, point, context, dtype, direction);
}
