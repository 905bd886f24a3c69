/**
 * Images in a flow whose variable is a flat vector. A batch of images [N, C, H, W] travels through
 * every bijector as [N, D], D = C·H·W, flattened row-major (index c·H·W + h·W + w, PyTorch's
 * NCHW `reshape(N, -1)`). Image-aware layers (squeeze, factor-out, image couplings) know their
 * [C, H, W] layout and reshape inside; every vector layer works on images unchanged, and one
 * bijector contract serves both (the design of nflows' multi-scale composite; see
 * ARCHITECTURE.md "Images").
 */
import type { Array } from "../engine/jax.js";
import { ConfigError, ShapeError } from "../engine/errors.js";

/** The layout [C, H, W] of a flattened image. */
export type ImageShape = readonly [channels: number, height: number, width: number];

/** C·H·W. */
export function imageSize(shape: ImageShape): number {
  return shape[0] * shape[1] * shape[2];
}

/** Largest C·H·W accepted (a 4096×4096 RGB image is 50M; beyond this a config is a typo or hostile). */
export const MAX_IMAGE_SIZE = 2 ** 26;

/** Checks an image layout: three positive integers, C·H·W ≤ MAX_IMAGE_SIZE (ConfigError naming `what`). */
export function checkImageShape(shape: unknown, what = "image"): ImageShape {
  if (!Array.isArray(shape) || shape.length !== 3 || shape.some((v) => !Number.isInteger(v) || v < 1))
    throw new ConfigError(`${what}: expected [channels, height, width], three positive integers, got ${JSON.stringify(shape)}`);
  const size = shape[0] * shape[1] * shape[2];
  if (size > MAX_IMAGE_SIZE) throw new ConfigError(`${what}: C·H·W = ${size} values per image, more than the ${MAX_IMAGE_SIZE} accepted`);
  return [shape[0], shape[1], shape[2]] as const;
}

/** "[C, H, W]" for messages. */
export function showShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * Checks that a batch is [N, C·H·W] for the layer's layout; the message names both the image
 * layout expected and the shape given (an [N, C, H, W] batch is refused with the hint to flatten).
 */
export function checkImageBatch(x: Array, shape: ImageShape, kind: string): void {
  const D = imageSize(shape);
  if (x.ndim === 2 && x.shape[1] === D) return;
  const hint = x.ndim === 4 ? " (flatten images to [N, C·H·W] first)" : "";
  throw new ShapeError(`${kind}: expected images ${showShape(shape)} flattened to [N, ${D}], got [${x.shape.join(", ")}]${hint}`);
}
