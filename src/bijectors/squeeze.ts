/**
 * Squeeze (RealNVP's space-to-depth, Dinh et al. 2017 §3.6): each 2×2 block of pixels becomes 4
 * channels,
 *     [C, H, W] → [4C, H/2, W/2],   out[4c + 2di + dj, i, j] = in[c, 2i + di, 2j + dj],
 * (for C = 1: channels 0..3 are the top-left, top-right, bottom-left, bottom-right pixel of each
 * block). It is a permutation of the coordinates: log|det J| = 0, and both directions are one
 * reshape–transpose–reshape.
 *
 * The layer is named for the NORMALISING direction, as the RealNVP paper describes its
 * architecture: `inverse` (x → z) squeezes, `forward` (z → x, generative) unsqueezes. `shape`
 * is the layout on the data side, [C, H, W] with H and W even; `outShape` the squeezed one.
 */
import { np, type Array } from "../engine/jax.js";
import { ConfigError } from "../engine/errors.js";
import type { Key } from "../engine/random.js";
import { dropContext, type BijectionResult, type Bijector } from "./bijector.js";
import { checkImageBatch, checkImageShape, imageSize, showShape, type ImageShape } from "./image.js";

export type SqueezeParams = Record<string, never>;

export interface SqueezeOptions {
  /** Data-side layout [C, H, W]; H and W even. */
  shape: ImageShape;
}

export class Squeeze implements Bijector<SqueezeParams> {
  readonly kind = "squeeze";
  readonly dim: number;
  readonly contextDim = 0;
  readonly forwardPass = "parallel" as const;
  readonly inversePass = "parallel" as const;
  /** Data-side layout [C, H, W]. */
  readonly shape: ImageShape;
  /** Squeezed layout [4C, H/2, W/2]. */
  readonly outShape: ImageShape;

  constructor(o: SqueezeOptions) {
    const [C, H, W] = checkImageShape(o.shape, "squeeze: shape");
    if (H % 2 !== 0 || W % 2 !== 0)
      throw new ConfigError(`squeeze: height and width must be even, got ${showShape(o.shape)}`);
    this.shape = [C, H, W];
    this.outShape = [4 * C, H / 2, W / 2];
    this.dim = imageSize(this.shape);
  }

  init(key: Key): SqueezeParams {
    key.dispose();
    return {};
  }

  /** [4C, H/2, W/2] → [C, H, W] (depth to space). */
  forward(_p: SqueezeParams, z: Array, context?: Array): BijectionResult {
    dropContext(context);
    checkImageBatch(z, this.outShape, this.kind);
    const [C, H, W] = this.shape;
    const N = z.shape[0]!;
    // [N, c, di, dj, i, j] → [N, c, i, di, j, dj]
    const y = z.reshape([N, C, 2, 2, H / 2, W / 2]).transpose([0, 1, 4, 2, 5, 3]).reshape([N, this.dim]);
    return { y, logDet: np.zeros([N], { dtype: y.dtype }) };
  }

  /** [C, H, W] → [4C, H/2, W/2] (space to depth). */
  inverse(_p: SqueezeParams, x: Array, context?: Array): BijectionResult {
    dropContext(context);
    checkImageBatch(x, this.shape, this.kind);
    const [C, H, W] = this.shape;
    const N = x.shape[0]!;
    // [N, c, i, di, j, dj] → [N, c, di, dj, i, j]
    const y = x.reshape([N, C, H / 2, 2, W / 2, 2]).transpose([0, 1, 3, 5, 2, 4]).reshape([N, this.dim]);
    return { y, logDet: np.zeros([N], { dtype: y.dtype }) };
  }
}
