/**
 * A fixed (non-trainable) invertible matrix: x = A z + b, z = A⁻¹ (x − b), log|det J| = log|det A|.
 * The lecture's worked example is FixedLinear([[2, −1], [2, 1]]) on a uniform base over [0, 2]²:
 * det A = 4, so the density is (1/4)·(1/4) = 1/16 on the image parallelogram.
 * A⁻¹ and log|det A| are computed once, on the host, in float64.
 */
import { np, type Array } from "../engine/jax.js";
import { fromValues, type FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import type { Key } from "../engine/random.js";
import { dropContext, type BijectionResult, type Bijector } from "./bijector.js";

/** No trainable parameters. */
export type FixedLinearParams = Record<string, never>;

export class FixedLinear implements Bijector<FixedLinearParams> {
  readonly kind = "fixed-linear";
  readonly dim: number;
  readonly contextDim = 0;
  readonly forwardPass = "parallel" as const;
  readonly inversePass = "parallel" as const;
  /** log|det A|. */
  readonly logAbsDet: number;
  private readonly inv: number[][];

  /**
   * @param matrix A as rows (A[i][j] multiplies z_j into x_i).
   * @param shift b (default 0).
   */
  constructor(readonly matrix: number[][], readonly shift: number[] = []) {
    const D = matrix.length;
    if (D === 0 || matrix.some((r) => r.length !== D))
      throw new ConfigError(`fixed-linear: expected a square matrix, got ${D} rows of lengths ${matrix.map((r) => r.length).join(",")}`);
    if (shift.length !== 0 && shift.length !== D) throw new ConfigError(`fixed-linear: shift has length ${shift.length}, expected ${D}`);
    this.dim = D;
    const { inverse, logAbsDet } = invertHost(matrix);
    this.inv = inverse;
    this.logAbsDet = logAbsDet;
  }

  init(key: Key): FixedLinearParams {
    key.dispose();
    return {};
  }

  forward(_p: FixedLinearParams, z: Array, context?: Array): BijectionResult {
    dropContext(context);
    const dtype = String(z.dtype) as FloatDType;
    const n = z.shape[0]!;
    // x = z Aᵀ + b (rows of z are samples)
    let y = np.matmul(z, this.constant(transpose(this.matrix), dtype));
    if (this.shift.length) y = y.add(fromValues(this.shift, [this.dim], dtype));
    return { y, logDet: np.full([n], this.logAbsDet, { dtype: y.dtype }) };
  }

  inverse(_p: FixedLinearParams, x: Array, context?: Array): BijectionResult {
    dropContext(context);
    const dtype = String(x.dtype) as FloatDType;
    const n = x.shape[0]!;
    const centred = this.shift.length ? x.sub(fromValues(this.shift, [this.dim], dtype)) : x;
    const y = np.matmul(centred, this.constant(transpose(this.inv), dtype));
    return { y, logDet: np.full([n], -this.logAbsDet, { dtype: y.dtype }) };
  }

  private constant(m: number[][], dtype: FloatDType): Array {
    return fromValues(m.flat(), [this.dim, this.dim], dtype);
  }
}

function transpose(m: number[][]): number[][] {
  return m[0]!.map((_, j) => m.map((row) => row[j]!));
}

/** Gauss–Jordan inverse with partial pivoting, and log|det|, in float64. */
function invertHost(m: number[][]): { inverse: number[][]; logAbsDet: number } {
  const n = m.length;
  const a = m.map((row, i) => [...row, ...row.map((_, j) => (i === j ? 1 : 0))]);
  let logAbsDet = 0;
  for (let k = 0; k < n; k++) {
    let piv = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(a[i]![k]!) > Math.abs(a[piv]![k]!)) piv = i;
    if (a[piv]![k] === 0) throw new ConfigError("fixed-linear: the matrix is singular");
    [a[k], a[piv]] = [a[piv]!, a[k]!];
    const d = a[k]![k]!;
    logAbsDet += Math.log(Math.abs(d));
    for (let j = 0; j < 2 * n; j++) a[k]![j] = a[k]![j]! / d;
    for (let i = 0; i < n; i++) {
      if (i === k) continue;
      const f = a[i]![k]!;
      if (f !== 0) for (let j = 0; j < 2 * n; j++) a[i]![j] = a[i]![j]! - f * a[k]![j]!;
    }
  }
  return { inverse: a.map((row) => row.slice(n)), logAbsDet };
}
