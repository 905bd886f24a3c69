/**
 * Activation normalisation (ActNorm, Glow: Kingma & Dhariwal 2018 §3.1): a per-dimension (vectors
 * [N, D]) or per-channel (images [C, H, W], rows flattened row-major) affine map whose params are
 * set from data once, before training, so that the first batch leaves it with zero mean and unit
 * variance in every dimension or channel. Generative direction (z → x), for channel c of a
 * pixel (or dimension c of a vector):
 *     x = z · exp(s_c) + μ_c,        log|det J_f| =  H·W · Σ_c s_c,
 * normalising direction (x → z):
 *     z = (x − μ_c) / exp(s_c),      log|det J_g| = −H·W · Σ_c s_c
 * (H·W = 1 on vectors). Unlike batch normalisation it uses no batch statistics after its
 * initialisation: in training and evaluation alike it is a fixed affine map of its params.
 *
 * Data-dependent initialisation (bijectors/data-init.ts): μ_c and s_c = ½ log(σ²_c + ε) from the
 * mean and biased variance σ²_c of the first batch reaching the layer (per channel: over the rows
 * and the pixels), ε = 1e-6 so that a constant dimension gets a finite scale. The `initialized`
 * flag [1] records that it happened; it is state (not trained), saved with the model, and a
 * training-mode call reports it unchanged so that weight decay, which the optimiser applies to
 * every leaf, never erodes it. Before its initialisation (flag 0) the layer is the identity.
 */
import { lax, np, type Array } from "../engine/jax.js";
import { scalar, type FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import type { Key } from "../engine/random.js";
import { zeros } from "../nn/init.js";
import { dropContext, type BijectionResult, type Bijector, type CallOptions } from "./bijector.js";
import { checkImageBatch, checkImageShape, imageSize, type ImageShape } from "./image.js";
import { DATA_INIT_FLAG, dataInitializationActive } from "./data-init.js";

/** loc μ and logScale s, [D] on vectors or [C] on images; the state flag initialized [1] (0 or 1). */
export type ActNormParams = { loc: Array; logScale: Array; initialized: Array };

export interface ActNormOptions {
  /** Per-dimension ActNorm on vectors [N, dim]. Give this or `shape`. */
  dim?: number;
  /** Per-channel ActNorm on images [C, H, W] flattened row-major to [N, C·H·W]. */
  shape?: ImageShape;
}

/** ε added to the variance of the initialisation batch. */
export const ACTNORM_EPS = 1e-6;

export class ActNorm implements Bijector<ActNormParams> {
  readonly kind = "actnorm";
  readonly dim: number;
  readonly contextDim = 0;
  readonly forwardPass = "parallel" as const;
  readonly inversePass = "parallel" as const;
  readonly stateLeaves = [DATA_INIT_FLAG] as const;
  /** The image layout (per-channel params), or null on vectors (per-dimension params). */
  readonly shape: ImageShape | null;
  /** Number of scale/shift pairs: D on vectors, C on images. */
  readonly channels: number;
  /** Pixels per channel, H·W (1 on vectors): the log-det multiplier. */
  private readonly pixels: number;

  constructor(o: ActNormOptions) {
    if ((o.dim === undefined) === (o.shape === undefined))
      throw new ConfigError(`actnorm: give dim (vectors) or shape (images [C, H, W]), not ${o.dim === undefined ? "neither" : "both"}`);
    if (o.shape !== undefined) {
      this.shape = checkImageShape(o.shape, "actnorm: shape");
      this.channels = this.shape[0];
      this.pixels = this.shape[1] * this.shape[2];
      this.dim = imageSize(this.shape);
    } else {
      if (!Number.isInteger(o.dim) || o.dim! < 1) throw new ConfigError(`actnorm: dim must be a positive integer, got ${o.dim}`);
      this.shape = null;
      this.channels = o.dim!;
      this.pixels = 1;
      this.dim = o.dim!;
    }
  }

  /** The identity (μ = 0, s = 0), not yet initialised (flag 0). */
  init(key: Key, dtype: FloatDType = "float32"): ActNormParams {
    key.dispose();
    return { loc: zeros([this.channels], dtype), logScale: zeros([this.channels], dtype), initialized: zeros([1], dtype) };
  }

  forward(p: ActNormParams, z: Array, context?: Array, _opts?: CallOptions): BijectionResult {
    dropContext(context);
    this.check(z);
    p.initialized.dispose();
    const n = z.shape[0]!;
    const logDet = p.logScale.ref.sum().mul(scalar(this.pixels, z.dtype));
    const x = this.perChannel(z, (v) => v.mul(this.column(np.exp(p.logScale))).add(this.column(p.loc)));
    return { y: x, logDet: np.broadcastTo(logDet, [n]) };
  }

  /** x → z; in a data-initialisation pass (training mode) from the batch's statistics first. */
  inverse(p: ActNormParams, x: Array, context?: Array, opts?: CallOptions): BijectionResult {
    dropContext(context);
    this.check(x);
    const n = x.shape[0]!;
    const training = opts?.training === true;
    let { loc, logScale } = p;
    let state: BijectionResult["state"];
    if (training && dataInitializationActive()) {
      // μ, s from the batch where the flag is 0, kept where it is 1: f·old + (1 − f)·new
      const [mean, variance] = this.moments(x.ref);
      const fromData = np.log(variance.add(scalar(ACTNORM_EPS, x.dtype))).mul(scalar(0.5, x.dtype));
      const f = p.initialized;
      const keep = (old: Array, fresh: Array): Array => old.mul(f.ref).add(fresh.mul(scalar(1, x.dtype).sub(f.ref)));
      loc = keep(loc, mean);
      logScale = keep(logScale, fromData);
      f.dispose();
      state = { loc: lax.stopGradient(loc.ref), logScale: lax.stopGradient(logScale.ref), [DATA_INIT_FLAG]: np.ones([1], { dtype: x.dtype }) };
    } else if (training) {
      state = { [DATA_INIT_FLAG]: lax.stopGradient(p.initialized) };
    } else {
      p.initialized.dispose();
    }
    const logDet = logScale.ref.sum().mul(scalar(-this.pixels, x.dtype));
    const z = this.perChannel(x, (v) => v.sub(this.column(loc)).div(this.column(np.exp(logScale))));
    const out: BijectionResult = { y: z, logDet: np.broadcastTo(logDet, [n]) };
    if (state) out.state = state;
    return out;
  }

  /** Mean and biased variance per dimension (vectors) or per channel over rows and pixels (images). */
  private moments(x: Array): [Array, Array] {
    const axes = this.shape ? [0, 2] : [0];
    const v = this.shape ? x.reshape([x.shape[0]!, this.channels, this.pixels]) : x;
    const mean = np.mean(v.ref, axes);
    const variance = np.mean(np.square(v.sub(this.column(mean.ref))), axes);
    return [mean, variance];
  }

  /** A [K] vector shaped to broadcast against the per-channel view ([K, 1] on images). */
  private column(v: Array): Array {
    return this.shape ? v.reshape([this.channels, 1]) : v;
  }

  /** Applies `fn` to the per-channel view [N, C, H·W] of an image batch (vectors as they are). */
  private perChannel(x: Array, fn: (v: Array) => Array): Array {
    if (!this.shape) return fn(x);
    const n = x.shape[0]!;
    return fn(x.reshape([n, this.channels, this.pixels])).reshape([n, this.dim]);
  }

  private check(x: Array): void {
    if (this.shape) checkImageBatch(x, this.shape, this.kind);
  }
}
