/**
 * Affine coupling on images with a convolutional residual conditioner (RealNVP, Dinh et al. 2017
 * §3.3–3.5; docs/reference/CONFIGS-IMAGES.md C5 §2.2). Written in the NORMALISING direction (x → z), as the paper
 * writes it:
 *
 *  checkerboard, parity p:  b[i, j] = 1 where (i + j) mod 2 = p (the conditioning pixels, all
 *      channels), [s_raw, t_raw] = ResNet(b ⊙ x) (C → 2C channels),
 *      s = w ⊙ tanh(s_raw) ⊙ (1 − b),  t = t_raw ⊙ (1 − b),   z = x ⊙ exp(s) + t;
 *  channel, parity p:  x = [A | B] (channels [0, C/2) | [C/2, C)); p = 0: A conditions and B is
 *      transformed, p = 1 the reverse; [s_raw, t] = ResNet(conditioning half) (C/2 → C),
 *      s = w ⊙ tanh(s_raw),  z_trans = x_trans ⊙ exp(s) + t,  channel positions kept;
 *
 *  log|det ∂z/∂x| = Σ s,   and the generative direction x = (z − t) / exp(s) with s, t computed
 *  from the conditioning part, which z and x share. w (one learned entry per transformed channel,
 *  initialised to 1) bounds |s| ≤ |w| (RealNVP's "s = w·tanh"). The conditioner's last
 *  convolution is zero at initialisation, so a fresh coupling is the identity.
 *
 * A context (class-conditional flows) enters the conditioner as K extra input channels, each
 * constant over the image. The variable is the flat [N, C·H·W] vector (bijectors/image.ts).
 */
import { np, type Array } from "../engine/jax.js";
import { tanh } from "../engine/math.js";
import { floatDTypeOf, fromValues, jaxDType, type FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import type { Key } from "../engine/random.js";
import { splitColumnBlocks } from "../engine/select.js";
import { resnetApply, resnetInit, type ResNetParams, type ResNetSpec } from "../nn/resnet.js";
import { takeContext, type BijectionResult, type Bijector } from "./bijector.js";
import { checkImageBatch, checkImageShape, imageSize, showShape, type ImageShape } from "./image.js";

/** Which pixels condition: a spatial checkerboard or half of the channels. */
export type ImageMaskKind = "checkerboard" | "channel";

/** Params: the conditioner and the per-channel scale w of s = w·tanh(s_raw). */
export type ImageCouplingParams = { net: ResNetParams; scale: Array };

export interface ImageCouplingOptions {
  /** Image layout [C, H, W] (C even for a channel mask). */
  shape: ImageShape;
  mask: ImageMaskKind;
  /** 0 or 1: which checkerboard colour, or which channel half, conditions (see the file comment). */
  parity: 0 | 1;
  /** Feature maps of the residual conditioner. Default 32. */
  width?: number;
  /** Residual blocks of the conditioner. Default 2. */
  blocks?: number;
  /** Context width K (conditional flows). Default 0. */
  contextDim?: number;
}

export class ImageAffineCoupling implements Bijector<ImageCouplingParams> {
  readonly kind = "image-affine-coupling";
  readonly dim: number;
  readonly contextDim: number;
  readonly forwardPass = "parallel" as const;
  readonly inversePass = "parallel" as const;
  readonly shape: ImageShape;
  readonly mask: ImageMaskKind;
  readonly parity: 0 | 1;
  readonly net: ResNetSpec;
  /** Channels transformed (C for checkerboard, C/2 for channel). */
  readonly transformedChannels: number;
  /** Checkerboard only: b over the flat image (1 = conditioning pixel). */
  private readonly board: Float64Array | undefined;

  constructor(o: ImageCouplingOptions) {
    const [C, H, W] = checkImageShape(o.shape, "image-affine-coupling: shape");
    if (o.mask !== "checkerboard" && o.mask !== "channel")
      throw new ConfigError(`image-affine-coupling: mask must be "checkerboard" or "channel", got ${JSON.stringify(o.mask)}`);
    if (o.parity !== 0 && o.parity !== 1) throw new ConfigError(`image-affine-coupling: parity must be 0 or 1, got ${JSON.stringify(o.parity)}`);
    if (o.mask === "channel" && C % 2 !== 0)
      throw new ConfigError(`image-affine-coupling: a channel mask needs an even channel count, got ${showShape(o.shape)}`);
    if (o.mask === "checkerboard" && H * W < 2)
      throw new ConfigError(`image-affine-coupling: a checkerboard needs at least 2 pixels, got ${showShape(o.shape)}`);
    const contextDim = o.contextDim ?? 0;
    if (!Number.isInteger(contextDim) || contextDim < 0)
      throw new ConfigError(`image-affine-coupling: contextDim must be a non-negative integer, got ${contextDim}`);
    this.shape = [C, H, W];
    this.mask = o.mask;
    this.parity = o.parity;
    this.dim = imageSize(this.shape);
    this.contextDim = contextDim;
    this.transformedChannels = o.mask === "checkerboard" ? C : C / 2;
    const conditioning = o.mask === "checkerboard" ? C : C / 2;
    this.net = {
      inChannels: conditioning + contextDim,
      outChannels: 2 * this.transformedChannels,
      width: o.width ?? 32,
      blocks: o.blocks ?? 2,
    };
    if (o.mask === "checkerboard") {
      const b = new Float64Array(this.dim);
      for (let c = 0; c < C; c++)
        for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) b[(c * H + i) * W + j] = (i + j) % 2 === o.parity ? 1 : 0;
      this.board = b;
    }
  }

  init(key: Key, dtype: FloatDType = "float32"): ImageCouplingParams {
    return { net: resnetInit(this.net, key, dtype), scale: np.ones([this.transformedChannels], { dtype: jaxDType(dtype) }) };
  }

  /** z → x: x_trans = (z_trans − t) / exp(s). */
  forward(p: ImageCouplingParams, z: Array, context?: Array): BijectionResult {
    return this.apply(p, z, context, "forward");
  }

  /** x → z: z_trans = x_trans ⊙ exp(s) + t. */
  inverse(p: ImageCouplingParams, x: Array, context?: Array): BijectionResult {
    return this.apply(p, x, context, "inverse");
  }

  private apply(p: ImageCouplingParams, v: Array, context: Array | undefined, direction: "forward" | "inverse"): BijectionResult {
    checkImageBatch(v, this.shape, this.kind);
    const ctx = takeContext(this, context);
    const dtype = floatDTypeOf(v) ?? "float32";
    const C = this.shape[0];
    const N = v.shape[0]!;
    if (this.board) {
      const b = fromValues(this.board, [this.dim], dtype);
      const free = fromValues(this.board.map((m) => 1 - m), [this.dim], dtype);
      const cond = v.ref.mul(b);
      const [sRaw, tRaw] = this.conditioner(p.net, cond, C, ctx, N);
      const s = tanh(sRaw).mul(this.channelScale(p.scale, C)).mul(free.ref);
      const t = tRaw.mul(free);
      const y = direction === "inverse" ? v.mul(np.exp(s.ref)).add(t) : v.sub(t).div(np.exp(s.ref));
      const logDet = s.sum(1);
      return { y, logDet: direction === "inverse" ? logDet : logDet.neg() };
    }
    const [a, bHalf] = splitColumnBlocks(v, 2) as [Array, Array];
    const [cond, trans] = this.parity === 0 ? [a, bHalf] : [bHalf, a];
    const [sRaw, t] = this.conditioner(p.net, cond.ref, C / 2, ctx, N);
    const s = tanh(sRaw).mul(this.channelScale(p.scale, C / 2));
    const yT = direction === "inverse" ? trans.mul(np.exp(s.ref)).add(t) : trans.sub(t).div(np.exp(s.ref));
    const logDet = s.sum(1);
    const y = np.concatenate(this.parity === 0 ? [cond, yT] : [yT, cond], 1);
    return { y, logDet: direction === "inverse" ? logDet : logDet.neg() };
  }

  /**
   * [s_raw, t] over the transformed part, each [N, k·H·W] flat (consumes net, input, ctx): the
   * conditioner on the conditioning part (k channels) with the context as constant channels.
   */
  private conditioner(net: ResNetParams, input: Array, k: number, ctx: Array | undefined, N: number): [Array, Array] {
    const [, H, W] = this.shape;
    let h = input.reshape([N, k, H, W]);
    if (ctx) {
      const K = this.contextDim;
      h = np.concatenate([h, np.broadcastTo(ctx.reshape([N, K, 1, 1]), [N, K, H, W])], 1);
    }
    const out = resnetApply(this.net, net, h).reshape([N, 2 * this.transformedChannels * H * W]);
    return splitColumnBlocks(out, 2) as [Array, Array];
  }

  /** w [c] as a flat [c·H·W] vector, constant over each channel's pixels (consumes w). */
  private channelScale(w: Array, c: number): Array {
    const [, H, W] = this.shape;
    return np.broadcastTo(w.reshape([c, 1]), [c, H * W]).reshape([c * H * W]);
  }
}
