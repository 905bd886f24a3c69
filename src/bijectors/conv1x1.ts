/**
 * The invertible 1×1 convolution (Glow: Kingma & Dhariwal 2018 §3.2) on images [C, H, W]
 * flattened row-major to [N, C·H·W]: the same C×C matrix W mixes the channels of every pixel,
 *     x[:, h, w] = W z[:, h, w],        log|det J_f| =  H·W · log|det W| =  H·W · Σ_c logDiag_c,
 *     z[:, h, w] = W⁻¹ x[:, h, w],      log|det J_g| = −H·W · Σ_c logDiag_c,
 * with W LU-parametrised as Glow's "LU-decomposed" version, W = P·L·U (bijectors/lu.ts, shared
 * with the vector Linear layer): P a fixed permutation of the channels ((P v)_c = v[perm[c]],
 * reverse order by default), L unit lower-triangular, U upper-triangular with diagonal
 * exp(logDiag). Params: lower, upper [C, C] (strict parts used), logDiag [C]; no bias (the
 * ActNorm before it shifts). Init L = U = I: the layer starts as the channel permutation P (Glow's
 * "reverse" baseline) and learns from there; Glow starts from a random rotation, whose pivoting P
 * would make the layer's fixed structure depend on the seed.
 *
 * W and W⁻¹ are dense C×C (W⁻¹ = U⁻¹ L⁻¹ Pᵀ by block doubling, matmuls only), applied to the
 * [N, C, H·W] view of the batch by one batched matmul.
 */
import { np, type Array } from "../engine/jax.js";
import type { FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import type { Key } from "../engine/random.js";
import { zeros } from "../nn/init.js";
import { dropContext, type BijectionResult, type Bijector } from "./bijector.js";
import { checkImageBatch, checkImageShape, imageSize, type ImageShape } from "./image.js";
import { validatePermutation } from "./permutation.js";
import { luMask, luProduct, luProductInverse } from "./lu.js";

/** lower/upper [C, C] (strict parts used), logDiag [C] (U's diagonal is exp(logDiag)). */
export type Conv1x1Params = { lower: Array; upper: Array; logDiag: Array };

export interface Conv1x1Options {
  /** Image layout [C, H, W]. */
  shape: ImageShape;
  /** The fixed channel permutation P: (P v)_c = v[permutation[c]]. Default: reverse order. */
  permutation?: readonly number[];
}

export class Conv1x1 implements Bijector<Conv1x1Params> {
  readonly kind = "conv1x1";
  readonly dim: number;
  readonly contextDim = 0;
  readonly forwardPass = "parallel" as const;
  readonly inversePass = "parallel" as const;
  readonly shape: ImageShape;
  /** The permutation of P. */
  readonly permutation: readonly number[];
  private readonly channels: number;
  private readonly pixels: number;

  constructor(o: Conv1x1Options) {
    this.shape = checkImageShape(o.shape, "conv1x1: shape");
    const C = this.shape[0];
    this.channels = C;
    this.pixels = this.shape[1] * this.shape[2];
    this.dim = imageSize(this.shape);
    if (o.permutation !== undefined) {
      if (o.permutation.length !== C) throw new ConfigError(`conv1x1: permutation has length ${o.permutation.length}, expected ${C} (one entry per channel)`);
      this.permutation = validatePermutation(o.permutation, "conv1x1: permutation");
    } else {
      this.permutation = globalThis.Array.from({ length: C }, (_, c) => C - 1 - c);
    }
  }

  /** L = U = I: W = P. */
  init(key: Key, dtype: FloatDType = "float32"): Conv1x1Params {
    key.dispose();
    const C = this.channels;
    return { lower: zeros([C, C], dtype), upper: zeros([C, C], dtype), logDiag: zeros([C], dtype) };
  }

  forward(p: Conv1x1Params, z: Array, context?: Array): BijectionResult {
    dropContext(context);
    checkImageBatch(z, this.shape, this.kind);
    const dtype = String(z.dtype) as FloatDType;
    const logDet = p.logDiag.ref.sum().mul(this.pixels);
    const W = np.matmul(this.permutationMatrix(dtype), luProduct(p, this.channels, dtype)); // P·L·U
    return { y: this.mix(W, z), logDet: np.broadcastTo(logDet, [z.shape[0]!]) };
  }

  inverse(p: Conv1x1Params, x: Array, context?: Array): BijectionResult {
    dropContext(context);
    checkImageBatch(x, this.shape, this.kind);
    const dtype = String(x.dtype) as FloatDType;
    const logDet = p.logDiag.ref.sum().mul(-this.pixels);
    const Winv = np.matmul(luProductInverse(p, this.channels, dtype), this.permutationMatrix(dtype).transpose()); // U⁻¹L⁻¹Pᵀ
    return { y: this.mix(Winv, x), logDet: np.broadcastTo(logDet, [x.shape[0]!]) };
  }

  /**
   * M applied to the channel vector of every pixel: [N, C, C] @ [N, C, H·W] (consumes both). M is
   * broadcast to [N, C, C] explicitly: jax-js 0.1.25's matmul of [C, C] by [N, C, H·W] mixes rows
   * of different samples (measured).
   */
  private mix(M: Array, x: Array): Array {
    const n = x.shape[0]!;
    const C = this.channels;
    return np.matmul(np.broadcastTo(M, [n, C, C]), x.reshape([n, C, this.pixels])).reshape([n, this.dim]);
  }

  /** P with P[c][perm[c]] = 1. */
  private permutationMatrix(dtype: FloatDType): Array {
    return luMask(this.channels, dtype, (i, j) => this.permutation[i] === j);
  }
}
