/**
 * A pair plot for D > 2: for chosen dimensions d₁ … d_K, a K × K grid whose off-diagonal cells
 * scatter dimension d_c against d_r and whose diagonal holds the histograms of each dimension,
 * one series per colour (data and model samples overlaid).
 */
import { Axes } from "./axes.js";
import { FONT_SIZE, INK, figureTitle, font, newFigure, text, type CanvasFactory, type CanvasLike } from "./canvas.js";
import { categorical } from "./colormap.js";
import { drawScatter } from "./scatter.js";
import { flatPoints, quantile, type Points } from "./points.js";

export interface PairSeries {
  /** N points of dimension `dim` (interleaved or rows). */
  points: Points;
  label?: string;
  color?: string;
}

export interface PairPlotOptions {
  series: readonly PairSeries[];
  /** The dimension D of every series. */
  dim: number;
  /** The dimensions to show (default the first min(D, 4)). */
  dims?: readonly number[];
  /** Names of all D dimensions (default x₀ … x_{D−1}). */
  names?: readonly string[];
  bins?: number;
  title?: string;
  note?: string;
  /** Side of one cell in px (default: about 800 px for the whole grid). */
  cell?: number;
}

/** Renders the pair plot. */
export function pairPlotFigure<C extends CanvasLike>(factory: CanvasFactory<C>, opts: PairPlotOptions): C {
  const D = opts.dim;
  const dims = opts.dims ?? Array.from({ length: Math.min(D, 4) }, (_, i) => i);
  if (dims.length < 2) throw new RangeError(`pairPlot: expected at least 2 dimensions, got ${dims.length}`);
  for (const d of dims) if (!(Number.isInteger(d) && d >= 0 && d < D)) throw new RangeError(`pairPlot: dimension ${d} is outside 0..${D - 1}`);
  if (opts.series.length === 0) throw new RangeError("pairPlot: expected at least one series");
  const cols = opts.series.map((s, i) => {
    const { data, n } = flatPoints(s.points, D, `series ${i}`);
    return dims.map((d) => Float64Array.from({ length: n }, (_, k) => data[k * D + d]!));
  });
  const name = (d: number): string => opts.names?.[d] ?? `x${String(d).replace(/\d/g, (c) => "₀₁₂₃₄₅₆₇₈₉"[Number(c)]!)}`;
  const K = dims.length;
  const lims = dims.map((_, a) => {
    const vals = cols.flatMap((c) => Array.from(c[a]!));
    const [lo, hi] = [quantile(vals, 0.005), quantile(vals, 0.995)];
    const pad = 0.08 * (hi - lo || 1);
    return [lo - pad, hi + pad] as [number, number];
  });
  const cell = opts.cell ?? Math.max(170, Math.floor(760 / K));
  const top = opts.title ? 44 : 8;
  const legendH = 26;
  const bottom = opts.note ? 30 : 8;
  const width = K * cell + 20;
  const height = top + legendH + K * cell + bottom;
  const { canvas, ctx } = newFigure(factory, width, height);
  if (opts.title) figureTitle(ctx, opts.title, width);
  // Legend as one line under the title.
  let lx = 20;
  opts.series.forEach((s, i) => {
    const color = s.color ?? categorical(i);
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.arc(lx + 5, top + 12, 5, 0, 2 * Math.PI);
    ctx.fill();
    const label = s.label ?? `series ${i + 1}`;
    text(ctx, label, lx + 16, top + 12, { size: FONT_SIZE.note, baseline: "middle" });
    ctx.font = font(FONT_SIZE.note);
    lx += 40 + ctx.measureText(label).width;
  });
  const bins = opts.bins ?? 30;
  for (let r = 0; r < K; r++)
    for (let c = 0; c < K; c++) {
      const outer = { x: 10 + c * cell, y: top + legendH + r * cell, w: cell, h: cell };
      const showX = r === K - 1;
      const showY = c === 0;
      const margins = { left: showY ? 62 : 10, bottom: showX ? 46 : 8, top: 6, right: 6 };
      if (r === c) {
        const hist = cols.map((sc) => histogram(sc[c]!, lims[c]!, bins));
        const peak = Math.max(...hist.flatMap((h) => Array.from(h)), 1e-12);
        // The histogram's height has no axis of its own here: the row's variable is on the x axis.
        const ax = new Axes(ctx, outer, {
          xlim: lims[c]!,
          ylim: [0, peak * 1.08],
          ticks: 3,
          tickLabels: { x: showX, y: false },
          margins,
          xlabel: showX ? name(dims[c]!) : undefined,
          ylabel: showY ? name(dims[r]!) : undefined,
        });
        ax.drawGrid();
        hist.forEach((h, i) => {
          const xs: number[] = [];
          const ys: number[] = [];
          const [lo, hi] = lims[c]!;
          for (let b = 0; b < bins; b++) {
            xs.push(lo + ((hi - lo) * b) / bins, lo + ((hi - lo) * (b + 1)) / bins);
            ys.push(h[b]!, h[b]!);
          }
          ax.clipped(() => ax.polyline(xs, ys, { color: opts.series[i]!.color ?? categorical(i), width: 1.8 }));
        });
        ax.drawFrame();
      } else {
        const ax = new Axes(ctx, outer, {
          xlim: lims[c]!,
          ylim: lims[r]!,
          ticks: 3,
          tickLabels: { x: showX, y: showY },
          margins,
          xlabel: showX ? name(dims[c]!) : undefined,
          ylabel: showY ? name(dims[r]!) : undefined,
        });
        ax.drawGrid();
        opts.series.forEach((s, i) => {
          const pts = new Float64Array(2 * cols[i]![c]!.length);
          cols[i]![c]!.forEach((v, k) => {
            pts[2 * k] = v;
            pts[2 * k + 1] = cols[i]![r]![k]!;
          });
          drawScatter(ax, pts, { color: s.color ?? categorical(i), radius: 1.3, alpha: 0.4 });
        });
        ax.drawFrame();
      }
    }
  if (opts.note) text(ctx, opts.note, width / 2, height - 10, { size: FONT_SIZE.note, align: "center", color: INK.muted });
  return canvas;
}

/** Normalised histogram (a density: Σ h·binWidth = fraction of values inside the limits). */
export function histogram(values: ArrayLike<number>, lim: readonly [number, number], bins: number): Float64Array {
  const h = new Float64Array(bins);
  const [lo, hi] = lim;
  const width = (hi - lo) / bins;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    n++;
    const b = Math.floor((v - lo) / width);
    if (b >= 0 && b < bins) h[b]! += 1;
  }
  for (let b = 0; b < bins; b++) h[b] = n > 0 ? h[b]! / (n * width) : 0;
  return h;
}
