/**
 * A trainable invertible linear map, LU-parametrised (Glow's "LU-decomposed" 1×1 convolution,
 * Kingma & Dhariwal 2018, on vectors):
 *     x = A z + b,   A = P·L·U,
 * with P a fixed permutation matrix (P[i][perm[i]] = 1, identity by default), L unit
 * lower-triangular (free strictly-lower entries) and U upper-triangular with POSITIVE diagonal
 * exp(logDiag) (free strictly-upper entries). Then
 *     log|det A| = Σ_j logDiag_j        (det P = ±1, det L = 1),
 * no determinant is ever computed, and every parameter value is invertible. The sign of det A
 * is that of P: a positive diagonal fixes the orientation, as Glow's sign·exp does.
 *
 * Params are plain dense arrays: lower [D,D] and upper [D,D] (only their strict lower/upper parts
 * are used: constant 0/1 masks are applied inside, so any perturbed leaf is still valid),
 * logDiag [D] and bias [D]. Init is the identity map.
 *
 * Inverse: z = U⁻¹ L⁻¹ Pᵀ (x − b). jax-js's triangularSolve has no gradient under jit
 * (docs/reference/ENGINE-NOTES.md), so the triangular inverses are built with matmuls only, by block doubling:
 * let X_s be the inverse of the block-diagonal part of T with blocks of size s (X_1 is the inverse
 * of the diagonal) and C_s the entries of T coupling pairs of neighbouring size-s blocks inside
 * each block of size 2s. Then
 *     X_2s = X_s − X_s C_s X_s
 * exactly, because C_s X_s C_s = 0 (the Neumann series of (X_s⁻¹ + C_s)⁻¹ stops after one
 * term). ⌈log₂ D⌉ steps of two D×D matmuls each: the recursive block inversion of a triangular
 * matrix, whose rounding errors are those of substitution (Du Croz & Higham 1992), unlike the
 * plain Neumann series Σ(−N)^k which cancels catastrophically. Costs O(D³ log D) per call: fine
 * for the dimensions where dense linear layers are used.
 */
import { np, type Array } from "../engine/jax.js";
import { fromValues, type FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import type { Key } from "../engine/random.js";
import { placeColumns, takeColumns } from "../engine/select.js";
import { zeros } from "../nn/init.js";
import { dropContext, type BijectionResult, type Bijector } from "./bijector.js";
import { validatePermutation } from "./permutation.js";

/** lower/upper [D,D] (strict parts used), logDiag [D] (U's diagonal is exp(logDiag)), bias [D]. */
export type LinearParams = { lower: Array; upper: Array; logDiag: Array; bias: Array };

export interface LinearOptions {
  /** Event dimension D. */
  dim: number;
  /** The fixed permutation P: (P v)_i = v[permutation[i]]. Default: identity. */
  permutation?: readonly number[];
}

export class Linear implements Bijector<LinearParams> {
  readonly kind = "linear";
  readonly dim: number;
  readonly contextDim = 0;
  readonly forwardPass = "parallel" as const;
  readonly inversePass = "parallel" as const;
  /** The permutation of P (identity unless given). */
  readonly permutation: readonly number[];
  private readonly identityPermutation: boolean;

  constructor(opts: LinearOptions) {
    const D = opts.dim;
    if (!Number.isInteger(D) || D < 1) throw new ConfigError(`linear: dim must be a positive integer, got ${D}`);
    if (opts.permutation !== undefined) {
      if (opts.permutation.length !== D)
        throw new ConfigError(`linear: permutation has length ${opts.permutation.length}, expected ${D}`);
      this.permutation = validatePermutation(opts.permutation, "linear: permutation");
    } else {
      this.permutation = globalThis.Array.from({ length: D }, (_, i) => i);
    }
    this.identityPermutation = this.permutation.every((v, i) => v === i);
    this.dim = D;
  }

  /** The identity map: all zeros (L = I, U = I, b = 0). */
  init(key: Key, dtype: FloatDType = "float32"): LinearParams {
    key.dispose();
    const D = this.dim;
    return { lower: zeros([D, D], dtype), upper: zeros([D, D], dtype), logDiag: zeros([D], dtype), bias: zeros([D], dtype) };
  }

  forward(p: LinearParams, z: Array, context?: Array): BijectionResult {
    dropContext(context);
    const n = z.shape[0]!;
    const dtype = String(z.dtype) as FloatDType;
    // Rows are samples: x = z Uᵀ Lᵀ Pᵀ + b.
    const strictUpper = p.upper.mul(this.mask(dtype, (i, j) => j > i));
    const strictLower = p.lower.mul(this.mask(dtype, (i, j) => i > j));
    const zu = z.ref.mul(np.exp(p.logDiag.ref)).add(np.matmul(z, strictUpper.transpose())); // z Uᵀ
    const zlu = zu.ref.add(np.matmul(zu, strictLower.transpose())); // (z Uᵀ) Lᵀ
    const x = this.identityPermutation ? zlu : takeColumns(zlu, this.permutation); // · Pᵀ
    return { y: x.add(p.bias), logDet: np.broadcastTo(p.logDiag.sum(), [n]) };
  }

  inverse(p: LinearParams, x: Array, context?: Array): BijectionResult {
    dropContext(context);
    const n = x.shape[0]!;
    const dtype = String(x.dtype) as FloatDType;
    const D = this.dim;
    // Rows are samples: z = (x − b) P L⁻ᵀ U⁻ᵀ.
    const centred = x.sub(p.bias);
    const v = this.identityPermutation ? centred : placeColumns(centred, this.permutation, D); // · P
    const eye = fromValues(identity(D), [D, D], dtype);
    const lowerInv = this.triangularInverse(eye.ref, p.lower, dtype, "lower");
    const diagInv = eye.div(np.exp(p.logDiag.ref)); // diag(1/exp(logDiag)) (columns scaled)
    const upperInv = this.triangularInverse(diagInv, p.upper, dtype, "upper");
    const z = np.matmul(np.matmul(v, lowerInv.transpose()), upperInv.transpose());
    return { y: z, logDet: np.broadcastTo(p.logDiag.sum().neg(), [n]) };
  }

  /**
   * Inverse of T = diag + strict part of `entries` (lower or upper), given the inverse of its
   * diagonal, by block doubling (file comment). Consumes its array arguments.
   */
  private triangularInverse(diagInv: Array, entries: Array, dtype: FloatDType, which: "lower" | "upper"): Array {
    let X = diagInv;
    for (let s = 1; s < this.dim; s *= 2) {
      // C_s couples block 2k (columns for lower, rows for upper) with block 2k+1 of size s.
      const couples =
        which === "lower"
          ? (i: number, j: number) => Math.floor(j / s) % 2 === 0 && Math.floor(i / s) === Math.floor(j / s) + 1
          : (i: number, j: number) => Math.floor(i / s) % 2 === 0 && Math.floor(j / s) === Math.floor(i / s) + 1;
      const C = entries.ref.mul(this.mask(dtype, couples));
      X = X.ref.sub(np.matmul(np.matmul(X.ref, C), X));
    }
    entries.dispose();
    return X;
  }

  /** The constant D×D 0/1 matrix with ones where `keep(i, j)`. */
  private mask(dtype: FloatDType, keep: (i: number, j: number) => boolean): Array {
    const D = this.dim;
    const m = new Float64Array(D * D);
    for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) if (keep(i, j)) m[i * D + j] = 1;
    return fromValues(m, [D, D], dtype);
  }
}

function identity(D: number): Float64Array {
  const m = new Float64Array(D * D);
  for (let i = 0; i < D; i++) m[i * D + i] = 1;
  return m;
}
