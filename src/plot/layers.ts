/**
 * The flow layer by layer (the lecture's "Transformation" and "Jacobian of Composite" figures):
 * a row of panels z(0) → z(1) → … → z(L) = x showing the SAME points after each layer, coloured by
 * where they started, so the eye can follow a region of the base through every bijection. An
 * optional set of lines (a square grid drawn in z(0)) shows how each layer bends space.
 *
 * Two directions, as the lecture draws them: generative (forward), z(0) ~ base → z(1) → … → z(L) = x,
 * each arrow a layer f_l; normalising (inverse, density estimation), x = z(L) → z(L−1) → … → z(0) = z,
 * each arrow an inverse layer f_l⁻¹, coloured by where the points start in x.
 */
import { Axes } from "./axes.js";
import { FONT_SIZE, INK, figureTitle, newFigure, text, type CanvasFactory, type CanvasLike, type Ctx2D } from "./canvas.js";
import { categorical, wheelColor } from "./colormap.js";
import { drawScatter } from "./scatter.js";
import { boundsOf, columns, type Points } from "./points.js";

/** How the points are coloured, always from their position in the first stage. */
export type ColorBy = "angle" | "quadrant" | "x1";

export interface LayersFigureOptions {
  /**
   * The same N points at each stage, in the order of `direction`: forward, stages[0] = z(0) (base
   * samples) … stages[L] = x; inverse, stages[0] = x = z(L) … stages[L] = z(0).
   */
  stages: readonly Points[];
  /** Which way the panels run (default "forward": z(0) → x; "inverse": x → z(0), the normalising direction). */
  direction?: "forward" | "inverse";
  /** Panel titles (default forward: z(0) ~ base, z(1) … z(L−1), x = z(L); inverse: x = z(L), z(L−1) … z = z(0)). */
  labels?: readonly string[];
  /**
   * Polylines through each stage: lines[l] holds, for stage l, M lines of `pointsPerLine` points
   * each, interleaved (the images of one grid drawn in stage 0).
   */
  lines?: { stages: readonly Points[]; pointsPerLine: number };
  colorBy?: ColorBy;
  /** At most this many panels (evenly spaced stages, first and last kept; default 6). */
  maxPanels?: number;
  /**
   * The stages that get a panel, in order (default: evenly spaced, see maxPanels). Colours still
   * come from stages[0], so one stage shown alone (a page's slider) keeps the colours of the others.
   */
  show?: readonly number[];
  /** Panels per row (default 3). */
  perRow?: number;
  title?: string;
  note?: string;
  width?: number;
  height?: number;
}

/** Colours of the points by where they start (angle and radius about the centroid, quadrant, or x₁). */
export function startColors(points: Points, by: ColorBy = "angle"): string[] {
  const [xs, ys] = columns(points, 2);
  const n = xs!.length;
  let [cx, cy] = [0, 0];
  for (let i = 0; i < n; i++) {
    cx += xs![i]! / n;
    cy += ys![i]! / n;
  }
  if (by === "quadrant") return Array.from({ length: n }, (_, i) => categorical((xs![i]! >= cx ? 0 : 1) + (ys![i]! >= cy ? 0 : 2)));
  if (by === "x1") {
    const order = rank(xs!);
    return Array.from({ length: n }, (_, i) => wheelColor((order[i]! * 1.5 * Math.PI) / Math.max(1, n - 1), 0.5));
  }
  // Radius as a rank in [0, 1] so that lightness spreads evenly whatever the base's scale.
  const radius = Float64Array.from({ length: n }, (_, i) => Math.hypot(xs![i]! - cx, ys![i]! - cy));
  const r = rank(radius);
  return Array.from({ length: n }, (_, i) => wheelColor(Math.atan2(ys![i]! - cy, xs![i]! - cx), r[i]! / Math.max(1, n - 1)));
}

/** Indices of the stages shown when at most `max` panels fit (first and last always). */
export function pickStages(count: number, max: number): number[] {
  if (count <= max) return Array.from({ length: count }, (_, i) => i);
  return Array.from({ length: max }, (_, k) => Math.round((k * (count - 1)) / (max - 1)));
}

/** Renders the row of layer panels. */
export function layersFigure<C extends CanvasLike>(factory: CanvasFactory<C>, opts: LayersFigureOptions): C {
  const L = opts.stages.length - 1;
  if (L < 1) throw new RangeError(`layersFigure: expected at least 2 stages (z(0) and x), got ${opts.stages.length}`);
  if (opts.labels && opts.labels.length !== opts.stages.length)
    throw new RangeError(`layersFigure: expected ${opts.stages.length} labels (one per stage), got ${opts.labels.length}`);
  if (opts.lines && opts.lines.stages.length !== opts.stages.length)
    throw new RangeError(`layersFigure: expected lines for ${opts.stages.length} stages, got ${opts.lines.stages.length}`);
  if (opts.show && (opts.show.length === 0 || opts.show.some((s) => !Number.isInteger(s) || s < 0 || s > L)))
    throw new RangeError(`layersFigure: show: expected stage numbers in 0…${L}, got [${opts.show.join(", ")}]`);
  const shown = opts.show ? opts.show.slice() : pickStages(opts.stages.length, opts.maxPanels ?? 6);
  const k = shown.length;
  // At most 3 panels per row keeps the figure ~950 px wide, legible when shown 800 px wide.
  const perRow = opts.perRow ?? Math.ceil(k / Math.ceil(k / 3));
  const rows = Math.ceil(k / perRow);
  const gap = 56;
  const panel = 280;
  const width = opts.width ?? Math.max(800, perRow * panel + (perRow - 1) * gap);
  const rowH = 330;
  const top = opts.title ? 44 : 8;
  const bottom = opts.note ? 30 : 8;
  const height = opts.height ?? top + rows * rowH + bottom;
  const { canvas, ctx } = newFigure(factory, width, height);
  if (opts.title) figureTitle(ctx, opts.title, width);
  const colors = startColors(opts.stages[0]!, opts.colorBy ?? "angle");
  const pw = (width - (perRow - 1) * gap) / perRow;
  const ph = (height - top - bottom) / rows;
  const inverse = opts.direction === "inverse";
  // Stage s is z(s) forward and z(L − s) inverse; the arrow from stage `from` to stage `to` is the
  // composition of the layers between them (inverse: f_l⁻¹ for l from L − from down to L − to + 1).
  const step = (from: number, to: number): string =>
    inverse
      ? to === from + 1
        ? `f${sub(L - from)}⁻¹`
        : `f${sub(L - to + 1)}⁻¹∘…∘f${sub(L - from)}⁻¹`
      : to === from + 1
        ? `f${sub(to)}`
        : `f${sub(to)}∘…∘f${sub(from + 1)}`;
  const defaultLabel = (s: number): string =>
    inverse ? (s === 0 ? `x = z(${L})` : s === L ? "z = z(0)" : `z(${L - s})`) : s === 0 ? "z(0) ~ base" : s === L ? `x = z(${L})` : `z(${s})`;
  shown.forEach((s, idx) => {
    const [r, c] = [Math.floor(idx / perRow), idx % perRow];
    let label = opts.labels?.[s] ?? defaultLabel(s);
    // The first panel of a later row names the map that leads to it (no arrow crosses rows).
    if (c === 0 && idx > 0) label = `${step(shown[idx - 1]!, s)} → ${label}`;
    const b = boundsOf([opts.stages[s]!], { q: 0.01, pad: 0.1, square: true });
    const ax = new Axes(ctx, { x: c * (pw + gap), y: top + r * ph, w: pw, h: ph }, {
      xlim: b[0],
      ylim: b[1],
      equal: true,
      title: label,
      ticks: 4,
      margins: { left: 44 },
    });
    ax.drawGrid();
    if (opts.lines) drawLines(ax, opts.lines.stages[s]!, opts.lines.pointsPerLine);
    drawScatter(ax, opts.stages[s]!, { color: colors, radius: 1.8, alpha: 0.75 });
    ax.drawFrame();
    if (idx + 1 < k && c + 1 < perRow) arrow(ctx, ax.plot.x + ax.plot.w + 4, ax.plot.x + ax.plot.w + gap + 8, ax.plot.y + ax.plot.h / 2, step(s, shown[idx + 1]!));
  });
  if (opts.note) text(ctx, opts.note, width / 2, height - 10, { size: FONT_SIZE.note, align: "center", color: INK.muted });
  return canvas;
}

function drawLines(ax: Axes, pts: Points, perLine: number): void {
  const [xs, ys] = columns(pts, 2);
  if (xs!.length % perLine !== 0) throw new RangeError(`layersFigure: ${xs!.length} line points is not a multiple of ${perLine} per line`);
  ax.clipped(() => {
    for (let start = 0; start < xs!.length; start += perLine)
      ax.polyline(xs!.subarray(start, start + perLine), ys!.subarray(start, start + perLine), { color: "#9a9a9a", width: 1, alpha: 0.8 });
  });
}

function arrow(ctx: Ctx2D, x0: number, x1: number, y: number, label: string): void {
  ctx.save();
  ctx.strokeStyle = INK.frame;
  ctx.fillStyle = INK.frame;
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(x0, y);
  ctx.lineTo(x1 - 8, y);
  ctx.stroke();
  ctx.beginPath();
  ctx.moveTo(x1, y);
  ctx.lineTo(x1 - 9, y - 5);
  ctx.lineTo(x1 - 9, y + 5);
  ctx.closePath();
  ctx.fill();
  ctx.restore();
  text(ctx, label, (x0 + x1) / 2, y - 8, { size: FONT_SIZE.tick, align: "center", weight: "bold" });
}

const SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉";

function sub(n: number): string {
  return String(n).replace(/\d/g, (d) => SUBSCRIPTS[Number(d)]!);
}

function rank(values: ArrayLike<number>): Float64Array {
  const idx = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const r = new Float64Array(values.length);
  idx.forEach((i, k) => (r[i] = k));
  return r;
}
