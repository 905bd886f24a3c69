/**
 * Density pictures: exp(log p) on a grid as a heat map with contour lines that enclose 50%, 80%
 * and 95% of the mass, a colour bar, and optionally points on top (the data: bright where the data
 * are is what a good fit looks like). Several panels (true density | model density) share one
 * colour scale so that their brightness compares.
 */
import { Axes, panelHeightFor } from "./axes.js";
import { FONT_SIZE, INK, figureTitle, newFigure, text, type CanvasFactory, type CanvasLike } from "./canvas.js";
import { drawColorbar } from "./colorbar.js";
import { colormap, type ColormapName } from "./colormap.js";
import { massLevels } from "./contour.js";
import { densityGrid, type Grid, type LogDensityFn } from "./grid.js";
import { drawContours, drawHeatmap } from "./heatmap.js";
import { drawScatter } from "./scatter.js";
import { boundsOf, type Bounds, type Points } from "./points.js";

/** One density panel: a precomputed grid, or a log-density to evaluate on the figure's grid. */
export interface DensityPanel {
  title?: string;
  grid?: Grid;
  logDensity?: LogDensityFn;
  /** Points drawn over the heat map (small white dots). */
  points?: Points;
}

export interface DensityFigureOptions {
  panels: readonly DensityPanel[];
  /** Limits (default: from the panels' points, else the first grid's bounds). */
  bounds?: Bounds;
  /** Grid nodes per axis when evaluating a log-density (default 160). */
  resolution?: number;
  title?: string;
  cmap?: ColormapName;
  /** Mass fractions whose contour lines are drawn (default [0.5, 0.8, 0.95]; [] for none). */
  contours?: readonly number[];
  width?: number;
  height?: number;
  note?: string;
  /** Receives each panel's Axes (the pixel ↔ data mapping), e.g. for hover read-outs in a page. */
  onAxes?: (axes: readonly Axes[]) => void;
}

/** Renders the density panels side by side with one shared colour bar. */
export async function densityFigure<C extends CanvasLike>(factory: CanvasFactory<C>, opts: DensityFigureOptions): Promise<C> {
  const k = opts.panels.length;
  if (k === 0) throw new RangeError("densityFigure: expected at least one panel, got 0");
  const withPoints = opts.panels.flatMap((p) => (p.points ? [p.points] : []));
  const bounds = opts.bounds ?? opts.panels.find((p) => p.grid)?.grid?.bounds ?? (withPoints.length ? boundsOf(withPoints, { square: true }) : undefined);
  if (!bounds) throw new RangeError("densityFigure: give bounds, a grid or points to fix the limits");
  const res = opts.resolution ?? 160;
  const barW = 96;
  const width = opts.width ?? Math.max(800, 450 * k + barW);
  const top = opts.title ? 44 : 8;
  const fractions = opts.contours ?? [0.5, 0.8, 0.95];
  const note = opts.note ?? (fractions.length ? `white lines enclose ${fractions.map((f) => `${Math.round(f * 100)}%`).join(", ")} of each density's mass` : undefined);
  const bottom = note ? 30 : 8;
  const aspect = (bounds[1][1] - bounds[1][0]) / (bounds[0][1] - bounds[0][0]);
  const height = opts.height ?? top + panelHeightFor((width - barW) / k, aspect, 300) + bottom;
  const { canvas, ctx } = newFigure(factory, width, height);
  if (opts.title) figureTitle(ctx, opts.title, width);
  const pw = (width - barW) / k;
  const axes = opts.panels.map(
    (panel, i) =>
      new Axes(ctx, { x: i * pw, y: top, w: pw, h: height - top - bottom }, {
        xlim: bounds[0],
        ylim: bounds[1],
        equal: true,
        grid: false,
        title: panel.title,
        xlabel: "x₁",
        ylabel: "x₂",
      }),
  );
  // Evaluate on the axes' final limits (equal aspect widens one of them) so the map fills the box.
  const grids: Grid[] = [];
  for (const [i, p] of opts.panels.entries()) {
    if (p.grid) grids.push(p.grid);
    else if (p.logDensity) grids.push(await densityGrid(p.logDensity, [axes[i]!.xlim, axes[i]!.ylim], res));
    else throw new RangeError(`densityFigure: panel ${i} has neither a grid nor a logDensity`);
  }
  const cmap = colormap(opts.cmap ?? "viridis");
  let hi = 0;
  for (const g of grids) for (const v of g.values) if (v > hi) hi = v;
  if (!(hi > 0)) hi = 1;
  opts.panels.forEach((panel, i) => {
    const ax = axes[i]!;
    ax.clipped(() => {
      // Outside a precomputed grid's bounds the density is unknown; paint it as zero.
      ctx.fillStyle = cmap.css(0);
      ctx.fillRect(ax.plot.x, ax.plot.y, ax.plot.w, ax.plot.h);
    });
    drawHeatmap(ax, grids[i]!, cmap, 0, hi);
    if (fractions.length) drawContours(ax, grids[i]!, massLevels(grids[i]!.values, fractions), { color: "rgba(255, 255, 255, 0.85)", width: 1.3 });
    if (panel.points) drawScatter(ax, panel.points, { color: "#ffffff", radius: 1.4, alpha: 0.45 });
    ax.drawFrame();
  });
  const { plot } = axes[0]!;
  drawColorbar(ctx, { x: width - barW + 14, y: plot.y + 24, w: 18, h: plot.h - 24 }, cmap, 0, hi, "p(x)");
  if (note) text(ctx, note, width / 2, height - 10, { size: FONT_SIZE.note, align: "center", color: INK.muted });
  opts.onAxes?.(axes);
  return canvas;
}
