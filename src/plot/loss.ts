/**
 * Training curves: the training loss per step (faint, with an exponential moving average on top),
 * the validation loss at its evaluation steps, and an optional reference line (e.g. the toy's
 * entropy, the lowest NLL any model can reach: the gap to it is the KL divergence).
 */
import { Axes } from "./axes.js";
import { FONT_SIZE, INK, figureTitle, newFigure, text, type CanvasFactory, type CanvasLike } from "./canvas.js";
import { categorical } from "./colormap.js";
import { drawLegend, type LegendEntry } from "./legend.js";
import { quantile } from "./points.js";

/** A curve: values at steps (default steps 1, 2, …). */
export interface Curve {
  steps?: ArrayLike<number>;
  values: ArrayLike<number>;
}

export interface LossFigureOptions {
  train: Curve;
  validation?: Curve;
  /** A horizontal reference line. */
  reference?: { value: number; label: string };
  title?: string;
  xlabel?: string;
  ylabel?: string;
  /** Weight of the newest value in the moving average of the training curve (default 0.05). */
  smoothing?: number;
  width?: number;
  height?: number;
  note?: string;
}

/** Exponential moving average m_t = (1 − a)·m_{t−1} + a·v_t, bias-corrected like Adam's. */
export function movingAverage(values: ArrayLike<number>, a: number): Float64Array {
  const out = new Float64Array(values.length);
  let m = 0;
  let w = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) {
      m = (1 - a) * m + a * v;
      w = (1 - a) * w + a;
    }
    out[i] = w > 0 ? m / w : NaN;
  }
  return out;
}

/** Renders the loss curves. */
export function lossFigure<C extends CanvasLike>(factory: CanvasFactory<C>, opts: LossFigureOptions): C {
  const tr = curve(opts.train, "train");
  if (tr.values.length === 0) throw new RangeError("lossFigure: the training curve is empty");
  const va = opts.validation ? curve(opts.validation, "validation") : undefined;
  const width = opts.width ?? 800;
  const height = opts.height ?? 480;
  const { canvas, ctx } = newFigure(factory, width, height);
  const top = opts.title ? 44 : 8;
  const bottom = opts.note ? 30 : 8;
  if (opts.title) figureTitle(ctx, opts.title, width);
  const smooth = movingAverage(tr.values, opts.smoothing ?? 0.05);
  // The first steps are far above the rest: cap the view at the 2nd percentile from the top of
  // the smoothed curve after its first 5%, so the part worth reading fills the panel.
  const tail = smooth.subarray(Math.floor(smooth.length * 0.05));
  const all = [...tail, ...(va?.values ?? []), ...(opts.reference ? [opts.reference.value] : [])].filter(Number.isFinite);
  let lo = Math.min(...all, quantile(tr.values, 0.01));
  let hi = Math.max(quantile(tail, 0.98), ...(va?.values.filter(Number.isFinite) ?? []));
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  const pad = 0.08 * (hi - lo || 1);
  const xs = [...tr.steps, ...(va?.steps ?? [])];
  const ax = new Axes(ctx, { x: 0, y: top, w: width, h: height - top - bottom }, {
    xlim: [Math.min(...xs), Math.max(...xs)],
    ylim: [lo - pad, hi + pad],
    xlabel: opts.xlabel ?? "step",
    ylabel: opts.ylabel ?? "loss",
    margins: { right: 20, left: 80 },
  });
  ax.drawGrid();
  const legend: LegendEntry[] = [];
  ax.clipped(() => {
    ax.polyline(tr.steps, tr.values, { color: categorical(0), width: 1, alpha: 0.25 });
    ax.polyline(tr.steps, smooth, { color: categorical(0), width: 2.2 });
    if (va) {
      ax.polyline(va.steps, va.values, { color: categorical(1), width: 2.2 });
      ax.ctx.fillStyle = categorical(1);
      for (let i = 0; i < va.values.length; i++) {
        ax.ctx.beginPath();
        ax.ctx.arc(ax.px(va.steps[i]!), ax.py(va.values[i]!), 3, 0, 2 * Math.PI);
        ax.ctx.fill();
      }
    }
    if (opts.reference) ax.polyline([ax.xlim[0], ax.xlim[1]], [opts.reference.value, opts.reference.value], { color: INK.frame, width: 1.5, dash: [6, 5] });
  });
  legend.push({ label: "training (moving average)", color: categorical(0), kind: "line" });
  if (va) legend.push({ label: "validation", color: categorical(1), kind: "line" });
  if (opts.reference) legend.push({ label: opts.reference.label, color: INK.frame, kind: "dash" });
  ax.drawFrame();
  drawLegend(ax, legend);
  if (opts.note) text(ctx, opts.note, width / 2, height - 10, { size: FONT_SIZE.note, align: "center", color: INK.muted });
  return canvas;
}

function curve(c: Curve, what: string): { steps: Float64Array; values: Float64Array } {
  const values = Float64Array.from(c.values);
  const steps = c.steps ? Float64Array.from(c.steps) : Float64Array.from(values, (_, i) => i + 1);
  if (steps.length !== values.length) throw new RangeError(`lossFigure: ${what} has ${steps.length} steps but ${values.length} values`);
  return { steps, values };
}
