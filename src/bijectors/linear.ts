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
 * Inverse: z = U⁻¹ L⁻¹ Pᵀ (x − b), the triangular inverses by block doubling with matmuls only
 * (bijectors/lu.ts, shared with Conv1x1).
 */
import { np, type Array } from "../engine/jax.js";
import type { FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import type { Key } from "../engine/random.js";
import { placeColumns, takeColumns } from "../engine/select.js";
import { zeros } from "../nn/init.js";
import { dropContext, type BijectionResult, type Bijector } from "./bijector.js";
import { validatePermutation } from "./permutation.js";
import { identityMatrix, strictPart, triangularInverse } from "./lu.js";

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
    const strictUpper = strictPart(p.upper, this.dim, dtype, "upper");
    const strictLower = strictPart(p.lower, this.dim, dtype, "lower");
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
    const eye = identityMatrix(D, dtype);
    const lowerInv = triangularInverse(eye.ref, p.lower, D, dtype, "lower");
    const diagInv = eye.div(np.exp(p.logDiag.ref)); // diag(1/exp(logDiag)) (columns scaled)
    const upperInv = triangularInverse(diagInv, p.upper, D, dtype, "upper");
    const z = np.matmul(np.matmul(v, lowerInv.transpose()), upperInv.transpose());
    return { y: z, logDet: np.broadcastTo(p.logDiag.sum().neg(), [n]) };
  }
}
