/**
 * The LU parametrisation of an invertible matrix shared by the trainable linear layers (Linear on
 * vectors, Conv1x1 on image channels; Glow's "LU-decomposed" weights, Kingma & Dhariwal 2018):
 *     A = P·L·U,
 * P a fixed permutation, L unit lower-triangular (free strictly-lower entries of `lower`), U
 * upper-triangular with POSITIVE diagonal exp(logDiag) (free strictly-upper entries of `upper`),
 * so that log|det A| = Σ_j logDiag_j and every parameter value is invertible.
 *
 * The triangular inverses are built with matmuls only (jax-js's triangularSolve has no gradient
 * under jit, docs/reference/ENGINE-NOTES.md), by block doubling: let X_s be the inverse of the
 * block-diagonal part of T with blocks of size s (X_1 is the inverse of the diagonal) and C_s the
 * entries of T coupling pairs of neighbouring size-s blocks inside each block of size 2s. Then
 *     X_2s = X_s − X_s C_s X_s
 * exactly, because C_s X_s C_s = 0 (the Neumann series of (X_s⁻¹ + C_s)⁻¹ stops after one
 * term). ⌈log₂ D⌉ steps of two D×D matmuls each: the recursive block inversion of a triangular
 * matrix, whose rounding errors are those of substitution (Du Croz & Higham 1992), unlike the
 * plain Neumann series Σ(−N)^k which cancels catastrophically. O(D³ log D) per call.
 */
import { np, type Array } from "../engine/jax.js";
import { fromValues, type FloatDType } from "../engine/dtype.js";

/** The LU leaves: lower/upper [D,D] (only their strict parts are used), logDiag [D]. */
export type LUParams = { lower: Array; upper: Array; logDiag: Array };

/** The constant D×D 0/1 matrix with ones where `keep(i, j)`. */
export function luMask(D: number, dtype: FloatDType, keep: (i: number, j: number) => boolean): Array {
  const m = new Float64Array(D * D);
  for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) if (keep(i, j)) m[i * D + j] = 1;
  return fromValues(m, [D, D], dtype);
}

/** The D×D identity. */
export function identityMatrix(D: number, dtype: FloatDType): Array {
  return luMask(D, dtype, (i, j) => i === j);
}

/** The strictly lower (i > j) or strictly upper (j > i) part of `entries` (consumes it). */
export function strictPart(entries: Array, D: number, dtype: FloatDType, which: "lower" | "upper"): Array {
  return entries.mul(luMask(D, dtype, which === "lower" ? (i, j) => i > j : (i, j) => j > i));
}

/**
 * Inverse of T = diag + strict part of `entries` (lower or upper), given the inverse of its
 * diagonal as a D×D matrix, by block doubling (file comment). Consumes its array arguments.
 */
export function triangularInverse(diagInv: Array, entries: Array, D: number, dtype: FloatDType, which: "lower" | "upper"): Array {
  let X = diagInv;
  for (let s = 1; s < D; s *= 2) {
    // C_s couples block 2k (columns for lower, rows for upper) with block 2k+1 of size s.
    const couples =
      which === "lower"
        ? (i: number, j: number) => Math.floor(j / s) % 2 === 0 && Math.floor(i / s) === Math.floor(j / s) + 1
        : (i: number, j: number) => Math.floor(i / s) % 2 === 0 && Math.floor(j / s) === Math.floor(i / s) + 1;
    const C = entries.ref.mul(luMask(D, dtype, couples));
    X = X.ref.sub(np.matmul(np.matmul(X.ref, C), X));
  }
  entries.dispose();
  return X;
}

/** L·U as a dense D×D matrix (P not applied). Consumes `p`. */
export function luProduct(p: LUParams, D: number, dtype: FloatDType): Array {
  const L = identityMatrix(D, dtype).add(strictPart(p.lower, D, dtype, "lower"));
  const U = identityMatrix(D, dtype).mul(np.exp(p.logDiag)).add(strictPart(p.upper, D, dtype, "upper"));
  return np.matmul(L, U);
}

/** (L·U)⁻¹ = U⁻¹·L⁻¹ as a dense D×D matrix (P not applied), by block doubling. Consumes `p`. */
export function luProductInverse(p: LUParams, D: number, dtype: FloatDType): Array {
  const eye = identityMatrix(D, dtype);
  const lowerInv = triangularInverse(eye.ref, p.lower, D, dtype, "lower");
  const diagInv = eye.div(np.exp(p.logDiag)); // diag(1/exp(logDiag)) (columns scaled)
  const upperInv = triangularInverse(diagInv, p.upper, D, dtype, "upper");
  return np.matmul(upperInv, lowerInv);
}
