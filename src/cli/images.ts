/**
 * What the image commands (inpaint, interpolate, sample --grid, demo images) share: the image
 * model check, `--images` lists, test images as pixels in [0, 1], the mean training image, and
 * grids written as PNG.
 */
import { extname } from "node:path";
import { UsageError, type FlagSpec } from "./args.js";
import { checkOutputPath, resolveData } from "./data.js";
import type { ImageShape } from "../bijectors/image.js";
import type { FlowModel } from "../model/model.js";
import type { MaskOutcome } from "../tasks/inpainting.js";
import { MASK_TITLES, type InpaintingMask } from "../tasks/inpainting-masks.js";
import { imageGridFigure, type ImageGridOptions } from "../plot/image-grid.js";
import { nodeCanvasFactory, savePng } from "../plot/node-canvas.js";

/** The `--data` flag of the commands that read test images. */
export const IMAGE_DATA_FLAG = {
  type: "string",
  default: "mnist",
  placeholder: "images",
  description: "the images (their test part): mnist, fashion-mnist:DIR or an …-idx3-ubyte[.gz] file",
} as const satisfies FlagSpec;

/** The [C, H, W] of an image model; a one-line UsageError naming the file for any other model. */
export function requireImageModel(model: FlowModel, path: string, what: string): ImageShape {
  const image = model.config.image;
  if (!image) throw new UsageError(`${what}: ${path} is not an image model (it models ${model.dim} columns; train one with --data mnist)`);
  return image;
}

/**
 * The [C, H, W] of an UNCONDITIONAL image model (inpainting, interpolation); a one-line UsageError
 * naming the file and the task otherwise.
 */
export function requireUnconditionalImageModel(model: FlowModel, path: string, what: string, task: string): ImageShape {
  const shape = requireImageModel(model, path, what);
  if (model.contextDim > 0) throw new UsageError(`${what}: ${path} is conditional (context size ${model.contextDim}); ${task} needs an unconditional image model`);
  return shape;
}

/** `--images 0,5,7` or ranges `0-99` (and mixtures `0-3,10`): distinct indices ≥ 0, in the order given. */
export function parseImageIndices(text: string, what = "--images"): number[] {
  const out: number[] = [];
  for (const part of text.split(",").map((s) => s.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new UsageError(`${what}: expected image indices such as 0,1,2 or 0-99, got ${JSON.stringify(text)}`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new UsageError(`${what}: range ${part} runs backwards`);
    if (b - a > 100_000) throw new UsageError(`${what}: range ${part} is too long (at most 100,000 images)`);
    for (let i = a; i <= b; i++) out.push(i);
  }
  if (new Set(out).size !== out.length) throw new UsageError(`${what}: an image is listed twice in ${JSON.stringify(text)}`);
  return out;
}

/** Test images picked by index, as pixels (b + ½)/levels in (0, 1) (the bin centres), and their labels. */
export interface PickedImages {
  pixels: Float64Array;
  labels?: number[];
  n: number;
  shape: ImageShape;
  source: string;
}

/** Loads the test part of `spec` (the whole file when it has no split) and picks `indices`, checked against the model's layout. */
export function pickTestImages(spec: string, indices: readonly number[], shape: ImageShape): PickedImages {
  const data = resolveData(spec, { n: 0, seed: 0, part: "test" });
  const image = data.image;
  if (!image) throw new UsageError(`--data ${spec}: not image data (expected mnist, fashion-mnist:DIR or an …-idx3-ubyte[.gz] file)`);
  if (image.shape.join() !== shape.join())
    throw new UsageError(`--data ${spec}: images [${image.shape.join(", ")}], the model's are [${shape.join(", ")}]`);
  const D = data.dim;
  const pixels = new Float64Array(indices.length * D);
  indices.forEach((idx, i) => {
    if (idx >= data.n) throw new UsageError(`--images: image ${idx} does not exist; ${data.source} has ${data.n} (0..${data.n - 1})`);
    for (let d = 0; d < D; d++) pixels[i * D + d] = (data.x[idx * D + d]! + 0.5) / image.levels;
  });
  return {
    pixels,
    n: indices.length,
    shape,
    source: data.source,
    ...(image.labels ? { labels: indices.map((i) => image.labels![i]!) } : {}),
  };
}

/**
 * The per-pixel mean of the training images of `spec` as bin centres (b + ½)/levels: the
 * mean-image fill baseline of inpainting. Data without a split give the mean of all their images
 * (then it includes the test images themselves; `source` says so).
 */
export function meanImage(spec: string): { mean: Float64Array; source: string } {
  const data = resolveData(spec, { n: 0, seed: 0, part: "train" });
  const levels = data.image?.levels ?? 256;
  const D = data.dim;
  const mean = new Float64Array(D);
  for (let i = 0; i < data.n; i++) for (let d = 0; d < D; d++) mean[d]! += data.x[i * D + d]!;
  for (let d = 0; d < D; d++) mean[d] = (mean[d]! / data.n + 0.5) / levels;
  const source = data.partMissing ? `${data.source} (all ${data.n} images: it has no training part)` : data.source;
  return { mean, source };
}

/** Checks an `--out` that must be a PNG file. */
export function checkPngOut(path: string, inputs: Record<string, string | undefined> = {}): void {
  checkOutputPath(path, "--out", inputs);
  if (path === "-") throw new UsageError("--out: a picture needs a file name, not -");
  if (extname(path).toLowerCase() !== ".png") throw new UsageError(`--out ${path}: pictures are PNG files; give a name ending in .png`);
}

/** Draws a grid of images and writes it as a PNG (atomically); returns its size. */
export async function writeImageGrid(path: string, opts: ImageGridOptions): Promise<{ width: number; height: number }> {
  const canvas = imageGridFigure(await nodeCanvasFactory(), opts);
  await savePng(canvas, path);
  return { width: canvas.width, height: canvas.height };
}

/**
 * The picture's rows: per mask, the originals, the corrupted images, and the restored ones (MAP,
 * posterior mean, or both), `show` images each.
 */
export function inpaintingGrid(
  outcomes: readonly MaskOutcome[],
  originals: Float64Array,
  D: number,
  show: number,
  method: "map" | "mean" | "both",
): { images: Float64Array; rowLabels: string[] } {
  const rows: Float64Array[] = [];
  const rowLabels: string[] = [];
  const head = (a: Float64Array): Float64Array => a.subarray(0, show * D);
  for (const o of outcomes) {
    rows.push(head(originals), head(o.corrupted));
    rowLabels.push(MASK_TITLES[o.report.mask as InpaintingMask] ?? o.report.mask, "corrupted");
    if (method !== "mean") {
      rows.push(head(o.map));
      rowLabels.push("MAP");
    }
    if (method !== "map") {
      rows.push(head(o.mean!));
      rowLabels.push("posterior mean");
    }
  }
  const images = new Float64Array(rows.length * show * D);
  rows.forEach((r, i) => images.set(r, i * show * D));
  return { images, rowLabels };
}
