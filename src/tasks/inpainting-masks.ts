/**
 * The ten corruptions of the NICE paper's inpainting experiment (§5.2, after the authors' script
 * reconstruct_mnist_gif.py; docs/reference/CONFIGS-IMAGES.md §3.4). A mask marks the HIDDEN pixels (1 = hidden,
 * to be inpainted). Pixel (r, q) of an H×W image; the block masks hide half of every channel:
 *
 *   top        rows r < H/2                 bottom     rows r ≥ H/2
 *   left       columns q < W/2              right      columns q ≥ W/2
 *   odd        k = r·W + q odd              even       k even        (W even: odd / even columns)
 *   vband      columns W/4 ≤ q < W/4 + W/2  hband      rows H/4 ≤ r < H/4 + H/2
 *   random75   U < 0.75                     random90   U < 0.90
 *
 * The random masks draw one U per pixel of each image (seeded), so random90 ⊇ random75.
 */
import { hostRng } from "../engine/random.js";
import { checkImageShape, type ImageShape } from "../bijectors/image.js";
import { ConfigError } from "../engine/errors.js";

/** The mask names, in the order of the NICE paper's figure. */
export const INPAINTING_MASKS = ["top", "bottom", "odd", "even", "left", "right", "vband", "hband", "random75", "random90"] as const;
export type InpaintingMask = (typeof INPAINTING_MASKS)[number];

/** What each mask hides, in words (figure labels, reports). */
export const MASK_TITLES: Record<InpaintingMask, string> = {
  top: "top rows",
  bottom: "bottom rows",
  odd: "odd pixels",
  even: "even pixels",
  left: "left side",
  right: "right side",
  vband: "middle vertical",
  hband: "middle horizontal",
  random75: "75 % random",
  random90: "90 % random",
};

/** Default seed of the random masks' draw. */
export const MASK_SEED = 5;

/** Checks a mask name; the error lists the names. */
export function parseMaskName(name: string): InpaintingMask {
  if ((INPAINTING_MASKS as readonly string[]).includes(name)) return name as InpaintingMask;
  throw new ConfigError(`mask: unknown mask ${JSON.stringify(name)}; expected one of ${INPAINTING_MASKS.join(", ")} (or all)`);
}

/**
 * The hidden-pixel masks of `n` images of `shape` (n·C·H·W bytes, image after image, 1 = hidden).
 * Fixed masks are the same for every image; random ones differ per image, drawn from `seed`.
 */
export function inpaintingMask(name: InpaintingMask, shape: ImageShape, n: number, seed = MASK_SEED): Uint8Array {
  const [C, H, W] = checkImageShape(shape);
  if (!(Number.isInteger(n) && n >= 0)) throw new ConfigError(`mask: expected a whole number of images, got ${n}`);
  const D = C * H * W;
  const out = new Uint8Array(n * D);
  if (name === "random75" || name === "random90") {
    const p = name === "random75" ? 0.75 : 0.9;
    const u = hostRng(seed);
    for (let i = 0; i < n * D; i++) out[i] = u() < p ? 1 : 0;
    return out;
  }
  const hidden = fixedRule(name, H, W);
  const one = new Uint8Array(D);
  for (let c = 0; c < C; c++) for (let r = 0; r < H; r++) for (let q = 0; q < W; q++) one[(c * H + r) * W + q] = hidden(r, q) ? 1 : 0;
  for (let i = 0; i < n; i++) out.set(one, i * D);
  return out;
}

function fixedRule(name: Exclude<InpaintingMask, "random75" | "random90">, H: number, W: number): (r: number, q: number) => boolean {
  const h2 = Math.floor(H / 2);
  const w2 = Math.floor(W / 2);
  const h4 = Math.floor(H / 4);
  const w4 = Math.floor(W / 4);
  switch (name) {
    case "top":
      return (r) => r < h2;
    case "bottom":
      return (r) => r >= h2;
    case "left":
      return (_r, q) => q < w2;
    case "right":
      return (_r, q) => q >= w2;
    case "odd":
      return (r, q) => (r * W + q) % 2 === 1;
    case "even":
      return (r, q) => (r * W + q) % 2 === 0;
    case "vband":
      return (_r, q) => q >= w4 && q < w4 + w2;
    case "hband":
      return (r) => r >= h4 && r < h4 + h2;
  }
}
