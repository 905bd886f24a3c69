/**
 * Density estimation step by step (the lecture's "Generative Modeling Tasks: Density Estimation"
 * sequence): ① a few points x in data space; ② their latent vectors z = g(x) under the base
 * density; ③ the normalisation, log p(x) = log p_z(g(x)) + log|det J_g(x)|, as a table; ④ the
 * resulting density over the whole plane with the same points on it.
 */
import { Axes } from "./axes.js";
import { FONT_SIZE, INK, figureTitle, font, newFigure, text, type CanvasFactory, type CanvasLike, type Ctx2D, type Rect } from "./canvas.js";
import { categorical, colormap } from "./colormap.js";
import { massLevels } from "./contour.js";
import { densityGrid, type Grid, type LogDensityFn } from "./grid.js";
import { drawContours, drawHeatmap } from "./heatmap.js";
import { drawScatter } from "./scatter.js";
import { boundsOf, columns, type Bounds, type Points } from "./points.js";
import { formatNumber } from "./ticks.js";

export interface DensityStepsOptions {
  /** The K query points x_i (K ≤ 8 reads best). */
  queries: Points;
  /** Their latent vectors z_i = g(x_i). */
  latents: Points;
  /** log p_z(z_i) under the base. */
  logBase: ArrayLike<number>;
  /** log|det J_g(x_i)| of the normalising map g = f⁻¹. */
  logDet: ArrayLike<number>;
  /** Data drawn faintly in panels ① and ④, and its latent image in ②. */
  data?: Points;
  dataLatent?: Points;
  /** The base log-density for the contours of panel ② (default the standard normal). */
  baseLogDensity?: LogDensityFn;
  /** The model's log-density (or its grid) for panel ④. */
  modelLogDensity?: LogDensityFn;
  modelGrid?: Grid;
  bounds?: Bounds;
  latentBounds?: Bounds;
  title?: string;
  width?: number;
  height?: number;
}

const standardNormal2: LogDensityFn = (p) => Float64Array.from({ length: p.length / 2 }, (_, i) => -Math.log(2 * Math.PI) - (p[2 * i]! ** 2 + p[2 * i + 1]! ** 2) / 2);

/** Renders the four steps in a 2 × 2 grid. */
export async function densityStepsFigure<C extends CanvasLike>(factory: CanvasFactory<C>, opts: DensityStepsOptions): Promise<C> {
  const [qx, qy] = columns(opts.queries, 2, "queries");
  const [zx, zy] = columns(opts.latents, 2, "latents");
  const K = qx!.length;
  if (zx!.length !== K || opts.logBase.length !== K || opts.logDet.length !== K)
    throw new RangeError(`densitySteps: expected ${K} latents, logBase and logDet values (one per query), got ${zx!.length}, ${opts.logBase.length}, ${opts.logDet.length}`);
  const logP = Float64Array.from({ length: K }, (_, i) => opts.logBase[i]! + opts.logDet[i]!);
  const width = opts.width ?? 1000;
  const height = opts.height ?? 900;
  const { canvas, ctx } = newFigure(factory, width, height);
  figureTitle(ctx, opts.title ?? "Density estimation step by step: p(x) = p_z(g(x)) · |det J_g(x)|", width);
  const top = 44;
  const [cw, ch] = [width / 2, (height - top) / 2];
  const bounds = opts.bounds ?? withPoints(boundsOf([opts.queries, ...(opts.data ? [opts.data] : [])], { square: true }), qx!, qy!);
  const latentBounds = opts.latentBounds ?? withPoints(boundsOf([opts.latents, ...(opts.dataLatent ? [opts.dataLatent] : [])], { square: true, q: 0.002 }), zx!, zy!);

  // ① data space.
  const ax1 = new Axes(ctx, { x: 0, y: top, w: cw, h: ch }, { xlim: bounds[0], ylim: bounds[1], equal: true, title: "① points x in data space", xlabel: "x₁", ylabel: "x₂" });
  ax1.drawGrid();
  if (opts.data) drawScatter(ax1, opts.data, { color: "#9a9a9a", radius: 1.4, alpha: 0.35 });
  markers(ax1, qx!, qy!);
  ax1.drawFrame();

  // ② latent space with the base density's contours.
  const ax2 = new Axes(ctx, { x: cw, y: top, w: cw, h: ch }, { xlim: latentBounds[0], ylim: latentBounds[1], equal: true, title: "② z = g(x): run the flow backwards", xlabel: "z₁", ylabel: "z₂" });
  ax2.drawGrid();
  const baseGrid = await densityGrid(opts.baseLogDensity ?? standardNormal2, [ax2.xlim, ax2.ylim], 120);
  drawContours(ax2, baseGrid, massLevels(baseGrid.values, [0.5, 0.8, 0.95]), { color: "#7a7a7a", width: 1.2 });
  if (opts.dataLatent) drawScatter(ax2, opts.dataLatent, { color: "#9a9a9a", radius: 1.4, alpha: 0.35 });
  markers(ax2, zx!, zy!);
  ax2.drawFrame();
  text(ctx, "grey lines: base density p_z (50/80/95% of its mass)", ax2.plot.x + 8, ax2.plot.y + ax2.plot.h - 10, { size: FONT_SIZE.tick, color: INK.muted });

  // ③ the table.
  table(ctx, { x: 0, y: top + ch, w: cw, h: ch }, opts.logBase, opts.logDet, logP);

  // ④ the model density over the plane.
  const ax4 = new Axes(ctx, { x: cw, y: top + ch, w: cw, h: ch }, { xlim: bounds[0], ylim: bounds[1], equal: true, grid: false, title: "④ p(x) over the whole plane", xlabel: "x₁", ylabel: "x₂" });
  const grid = opts.modelGrid ?? (opts.modelLogDensity ? await densityGrid(opts.modelLogDensity, [ax4.xlim, ax4.ylim], 140) : undefined);
  if (grid) {
    let hi = 0;
    for (const v of grid.values) hi = Math.max(hi, v);
    const cmap = colormap("viridis");
    ax4.clipped(() => {
      ctx.fillStyle = cmap.css(0);
      ctx.fillRect(ax4.plot.x, ax4.plot.y, ax4.plot.w, ax4.plot.h);
    });
    drawHeatmap(ax4, grid, cmap, 0, hi || 1);
  } else ax4.drawGrid();
  markers(ax4, qx!, qy!, Array.from(logP, (l) => `p = ${formatNumber(Math.exp(l), 2)}`));
  ax4.drawFrame();
  return canvas;
}

/** The bounds widened to hold every marked point with a margin (the quantile bounds may drop one). */
function withPoints(b: Bounds, xs: ArrayLike<number>, ys: ArrayLike<number>): Bounds {
  let [[x0, x1], [y0, y1]] = b;
  const m = 0.06 * Math.max(x1 - x0, y1 - y0);
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(xs[i]!) || !Number.isFinite(ys[i]!)) continue;
    x0 = Math.min(x0, xs[i]! - m);
    x1 = Math.max(x1, xs[i]! + m);
    y0 = Math.min(y0, ys[i]! - m);
    y1 = Math.max(y1, ys[i]! + m);
  }
  return [[x0, x1], [y0, y1]];
}

/** Numbered, coloured markers (1 … K) with optional labels beside them. */
function markers(ax: Axes, xs: ArrayLike<number>, ys: ArrayLike<number>, labels?: readonly string[]): void {
  const { ctx } = ax;
  ax.clipped(() => {
    for (let i = 0; i < xs.length; i++) {
      const [px, py] = [ax.px(xs[i]!), ax.py(ys[i]!)];
      ctx.fillStyle = categorical(i);
      ctx.strokeStyle = "#ffffff";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(px, py, 10, 0, 2 * Math.PI);
      ctx.fill();
      ctx.stroke();
      text(ctx, String(i + 1), px, py + 1, { size: FONT_SIZE.tick, weight: "bold", align: "center", baseline: "middle", color: "#ffffff" });
      if (labels) {
        ctx.font = font(FONT_SIZE.tick, "bold");
        const w = ctx.measureText(labels[i]!).width;
        ctx.fillStyle = "rgba(255, 255, 255, 0.85)";
        ctx.fillRect(px + 13, py - 10, w + 8, 20);
        text(ctx, labels[i]!, px + 17, py, { size: FONT_SIZE.tick, weight: "bold", baseline: "middle", color: INK.text });
      }
    }
  });
}

function table(ctx: Ctx2D, r: Rect, logBase: ArrayLike<number>, logDet: ArrayLike<number>, logP: Float64Array): void {
  const x0 = r.x + 40;
  text(ctx, "③ normalise: log p(x) = log p_z(z) + log|det J_g(x)|", r.x + r.w / 2, r.y + 26, { size: FONT_SIZE.panelTitle, weight: "bold", align: "center" });
  const cols = [x0 + 20, x0 + 150, x0 + 290, x0 + 400];
  const head = ["log p_z(z)", "+ log|det J_g|", "= log p(x)", "p(x)"];
  const y0 = r.y + 70;
  head.forEach((h, k) => text(ctx, h, cols[k]! + 60, y0, { size: FONT_SIZE.label, weight: "bold", align: "right" }));
  ctx.save();
  ctx.strokeStyle = INK.frame;
  ctx.beginPath();
  ctx.moveTo(x0 - 20, y0 + 10);
  ctx.lineTo(cols[3]! + 70, y0 + 10);
  ctx.stroke();
  ctx.restore();
  const rowH = Math.min(34, (r.h - 150) / Math.max(1, logP.length));
  for (let i = 0; i < logP.length; i++) {
    const y = y0 + 34 + i * rowH;
    ctx.fillStyle = categorical(i);
    ctx.beginPath();
    ctx.arc(x0 - 8, y - 5, 10, 0, 2 * Math.PI);
    ctx.fill();
    text(ctx, String(i + 1), x0 - 8, y - 4, { size: FONT_SIZE.tick, weight: "bold", align: "center", baseline: "middle", color: "#ffffff" });
    const cells = [formatNumber(logBase[i]!), formatNumber(logDet[i]!), formatNumber(logP[i]!), formatNumber(Math.exp(logP[i]!), 3)];
    cells.forEach((c, k) => text(ctx, c, cols[k]! + 60, y, { size: FONT_SIZE.label, align: "right", weight: k === 2 ? "bold" : "normal" }));
  }
  const noteY = y0 + 34 + logP.length * rowH + 14;
  const notes = [
    "log p_z(z): how typical z is under the base (Gaussian).",
    "log|det J_g(x)|: how much g stretches space near x; it is",
    "what makes p(x) integrate to 1 (the change of variables).",
  ];
  notes.forEach((n, k) => text(ctx, n, x0 - 20, noteY + 22 * k, { size: FONT_SIZE.note, color: INK.muted }));
}
