/**
 * Grey images [N, H, W] in a grid (samples of an image flow, data, inpainting results), scaled by
 * an integer factor so that every image pixel is a crisp square.
 */
import { FONT_SIZE, INK, figureTitle, newFigure, text, type CanvasFactory, type CanvasLike } from "./canvas.js";

export interface ImageGridOptions {
  /** N·H·W grey values, image after image, rows top to bottom. */
  images: ArrayLike<number>;
  /** Image height and width in pixels. */
  imageHeight: number;
  imageWidth: number;
  /** Columns of the grid (default ⌈√N⌉). */
  cols?: number;
  /** Value range mapped to black..white (default [0, 1]; values outside are clamped). */
  range?: readonly [number, number];
  /** Integer magnification (default: the largest that keeps the grid within ~800 px). */
  scale?: number;
  /** A caption under each image. */
  labels?: readonly string[];
  /** A label left of each row of the grid (e.g. "original", "restored", a mask or class name). */
  rowLabels?: readonly string[];
  title?: string;
  note?: string;
}

/** Renders the image grid (white gaps between images, black = range[0]). */
export function imageGridFigure<C extends CanvasLike>(factory: CanvasFactory<C>, opts: ImageGridOptions): C {
  const { imageHeight: h, imageWidth: w } = opts;
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0)) throw new RangeError(`imageGrid: expected positive integer image size, got ${h} × ${w}`);
  const n = opts.images.length / (h * w);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`imageGrid: expected N·${h}·${w} values, got ${opts.images.length}`);
  if (opts.labels && opts.labels.length !== n) throw new RangeError(`imageGrid: expected ${n} labels, got ${opts.labels.length}`);
  const cols = opts.cols ?? Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  if (opts.rowLabels && opts.rowLabels.length !== rows) throw new RangeError(`imageGrid: expected ${rows} row labels, got ${opts.rowLabels.length}`);
  // room for the longest row label at ~7 px per character of the tick font
  const labelW = opts.rowLabels ? 12 + 7 * Math.max(...opts.rowLabels.map((l) => l.length)) : 0;
  const gap = 4;
  const scale = opts.scale ?? Math.max(1, Math.floor((760 - labelW - gap * (cols - 1)) / (cols * w)));
  const labelH = opts.labels ? 20 : 0;
  const cellW = w * scale + gap;
  const cellH = h * scale + gap + labelH;
  const top = opts.title ? 44 : 10;
  const bottom = opts.note ? 30 : 10;
  const gridW = cols * cellW - gap;
  // room for the note (≈ 8 px per character at the note size, rounded up: a clipped note was seen at 7) when it is wider than the grid
  const width = Math.max(opts.title ? 420 : 0, gridW + labelW + 20, opts.note ? Math.ceil(8 * opts.note.length) + 20 : 0);
  const height = top + rows * cellH - gap + bottom;
  const { canvas, ctx } = newFigure(factory, width, height);
  if (opts.title) figureTitle(ctx, opts.title, width);
  const [lo, hi] = opts.range ?? [0, 1];
  const span = hi - lo || 1;
  const x0 = labelW + Math.round((width - labelW - gridW) / 2);
  opts.rowLabels?.forEach((label, r) =>
    text(ctx, label, x0 - 8, top + r * cellH + (h * scale) / 2, { size: FONT_SIZE.tick, align: "right", baseline: "middle" }),
  );
  for (let k = 0; k < n; k++) {
    const [r, c] = [Math.floor(k / cols), k % cols];
    const img = ctx.createImageData(w * scale, h * scale);
    for (let y = 0; y < h * scale; y++)
      for (let x = 0; x < w * scale; x++) {
        const v = opts.images[k * h * w + Math.floor(y / scale) * w + Math.floor(x / scale)]!;
        const g = Number.isFinite(v) ? Math.round(255 * Math.min(1, Math.max(0, (v - lo) / span))) : 0;
        const o = 4 * (y * w * scale + x);
        img.data[o] = img.data[o + 1] = img.data[o + 2] = g;
        img.data[o + 3] = 255;
      }
    ctx.putImageData(img, x0 + c * cellW, top + r * cellH);
    if (opts.labels)
      text(ctx, opts.labels[k]!, x0 + c * cellW + (w * scale) / 2, top + r * cellH + h * scale + 4, { size: FONT_SIZE.tick, align: "center", baseline: "top" });
  }
  if (opts.note) text(ctx, opts.note, width / 2, height - 10, { size: FONT_SIZE.note, align: "center", color: INK.muted });
  return canvas;
}
