/**
 * Scatter plots of 2-D point sets: the data, the model's samples, side by side on the same limits
 * so that they can be compared by eye.
 */
import { Axes, panelHeightFor } from "./axes.js";
import { FONT_SIZE, INK, figureTitle, newFigure, text, type CanvasFactory, type CanvasLike } from "./canvas.js";
import { categorical } from "./colormap.js";
import { drawLegend, type LegendEntry } from "./legend.js";
import { boundsOf, columns, type Bounds, type Points } from "./points.js";

export interface ScatterStyle {
  /** One colour, or one per point (e.g. from `wheelColor`). */
  color?: string | readonly string[];
  /** Dot radius in px (default 2). */
  radius?: number;
  /** Opacity (default 0.6). */
  alpha?: number;
}

/** Draws 2-D points (interleaved [N·2] or rows) as dots on the axes, clipped to them. */
export function drawScatter(ax: Axes, points: Points, style: ScatterStyle = {}): void {
  const [xs, ys] = columns(points, 2);
  const { ctx } = ax;
  const r = style.radius ?? 2;
  const colors = style.color;
  ax.clipped(() => {
    ctx.globalAlpha = style.alpha ?? 0.6;
    if (typeof colors === "string" || colors === undefined) {
      // One path for all dots: one fill call for the whole set.
      ctx.fillStyle = colors ?? categorical(0);
      ctx.beginPath();
      for (let i = 0; i < xs!.length; i++) {
        const [px, py] = [ax.px(xs![i]!), ax.py(ys![i]!)];
        if (!Number.isFinite(px) || !Number.isFinite(py)) continue;
        ctx.moveTo(px + r, py);
        ctx.arc(px, py, r, 0, 2 * Math.PI);
      }
      ctx.fill();
    } else {
      if (colors.length !== xs!.length) throw new RangeError(`scatter: expected ${xs!.length} colours (one per point), got ${colors.length}`);
      for (let i = 0; i < xs!.length; i++) {
        const [px, py] = [ax.px(xs![i]!), ax.py(ys![i]!)];
        if (!Number.isFinite(px) || !Number.isFinite(py)) continue;
        ctx.fillStyle = colors[i]!;
        ctx.beginPath();
        ctx.arc(px, py, r, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
  });
}

/** One set of points in a panel. */
export interface ScatterSeries extends ScatterStyle {
  points: Points;
  label?: string;
}

/** One panel of a scatter figure. */
export interface ScatterPanel {
  title?: string;
  series: readonly ScatterSeries[];
}

export interface ScatterFigureOptions {
  panels: readonly ScatterPanel[];
  title?: string;
  /** Shared limits (default: from all points). */
  bounds?: Bounds;
  width?: number;
  height?: number;
  xlabel?: string;
  ylabel?: string;
  /** A line of small print under the panels. */
  note?: string;
}

/**
 * A row of scatter panels on shared, equal-aspect limits (data | model samples ...). Each panel
 * shows the number of points of each series in its legend.
 */
export function scatterFigure<C extends CanvasLike>(factory: CanvasFactory<C>, opts: ScatterFigureOptions): C {
  const k = opts.panels.length;
  if (k === 0) throw new RangeError("scatterFigure: expected at least one panel, got 0");
  const width = opts.width ?? Math.max(800, 440 * k);
  const top = opts.title ? 44 : 8;
  const bottom = opts.note ? 30 : 8;
  const bounds = opts.bounds ?? boundsOf(opts.panels.flatMap((p) => p.series.map((s) => s.points)));
  const aspect = (bounds[1][1] - bounds[1][0]) / (bounds[0][1] - bounds[0][0]);
  const height = opts.height ?? top + panelHeightFor(width / k, aspect) + bottom;
  const { canvas, ctx } = newFigure(factory, width, height);
  if (opts.title) figureTitle(ctx, opts.title, width);
  const pw = width / k;
  opts.panels.forEach((panel, i) => {
    const ax = new Axes(ctx, { x: i * pw, y: top, w: pw, h: height - top - bottom }, {
      xlim: bounds[0],
      ylim: bounds[1],
      equal: true,
      title: panel.title,
      xlabel: opts.xlabel ?? "x₁",
      ylabel: opts.ylabel ?? "x₂",
    });
    ax.drawGrid();
    const legend: LegendEntry[] = [];
    panel.series.forEach((s, j) => {
      const color = s.color ?? categorical(j);
      drawScatter(ax, s.points, { ...s, color });
      if (s.label) legend.push({ label: s.label, color: typeof color === "string" ? color : INK.muted });
    });
    ax.drawFrame();
    drawLegend(ax, legend);
  });
  if (opts.note) text(ctx, opts.note, width / 2, height - 10, { size: FONT_SIZE.note, align: "center", color: INK.muted });
  return canvas;
}
