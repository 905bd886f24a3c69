/**
 * Heat maps: a grid of values painted pixel by pixel (bilinear between nodes) with a colour map,
 * and contour lines over it.
 */
import type { Axes } from "./axes.js";
import type { Colormap } from "./colormap.js";
import { marchingSquares } from "./contour.js";
import type { Grid } from "./grid.js";

/**
 * Paints the grid into the plotting area: colour = cmap((v − lo)/(hi − lo)). Pixels outside the
 * grid's bounds are left as they are.
 */
export function drawHeatmap(ax: Axes, grid: Grid, cmap: Colormap, lo: number, hi: number): void {
  const { plot, ctx } = ax;
  const [x0, y0] = [Math.ceil(plot.x), Math.ceil(plot.y)];
  const [w, h] = [Math.floor(plot.x + plot.w) - x0, Math.floor(plot.y + plot.h) - y0];
  if (w <= 0 || h <= 0) return;
  const { nx, ny, values } = grid;
  const [[gx0, gx1], [gy0, gy1]] = grid.bounds;
  // Fractional node coordinates of every pixel column and row (separable: computed once each).
  const us = new Float64Array(w);
  const vs = new Float64Array(h);
  for (let c = 0; c < w; c++) us[c] = ((ax.toData(x0 + c + 0.5, 0)[0] - gx0) / (gx1 - gx0)) * (nx - 1);
  for (let r = 0; r < h; r++) vs[r] = ((ax.toData(0, y0 + r + 0.5)[1] - gy0) / (gy1 - gy0)) * (ny - 1);
  const LUT = 1024;
  const lut = new Uint8Array(3 * LUT);
  for (let k = 0; k < LUT; k++) lut.set(cmap.rgb(k / (LUT - 1)), 3 * k);
  const scale = (LUT - 1) / (hi - lo || 1);
  const img = ctx.createImageData(w, h);
  const data = img.data;
  for (let r = 0; r < h; r++) {
    const v = vs[r]!;
    const inV = v >= 0 && v <= ny - 1;
    const j = Math.min(ny - 2, Math.max(0, Math.floor(v)));
    const fv = v - j;
    for (let c = 0; c < w; c++) {
      const u = us[c]!;
      const k = 4 * (r * w + c);
      data[k + 3] = 255;
      if (!inV || !(u >= 0 && u <= nx - 1)) {
        data[k] = data[k + 1] = data[k + 2] = 255;
        continue;
      }
      const i = Math.min(nx - 2, Math.floor(u));
      const fu = u - i;
      const b = j * nx + i;
      const val =
        (1 - fv) * ((1 - fu) * values[b]! + fu * values[b + 1]!) + fv * ((1 - fu) * values[b + nx]! + fu * values[b + nx + 1]!);
      const t = Math.min(LUT - 1, Math.max(0, Math.round((val - lo) * scale))) || 0;
      data[k] = lut[3 * t]!;
      data[k + 1] = lut[3 * t + 1]!;
      data[k + 2] = lut[3 * t + 2]!;
    }
  }
  ctx.putImageData(img, x0, y0);
}

/** Draws the contour lines {v = level} of the grid. */
export function drawContours(ax: Axes, grid: Grid, levels: readonly number[], style: { color: string; width?: number }): void {
  const { ctx } = ax;
  const [[gx0, gx1], [gy0, gy1]] = grid.bounds;
  const sx = (gx1 - gx0) / (grid.nx - 1);
  const sy = (gy1 - gy0) / (grid.ny - 1);
  ax.clipped(() => {
    ctx.strokeStyle = style.color;
    ctx.lineWidth = style.width ?? 1.2;
    ctx.beginPath();
    for (const level of levels) {
      if (!Number.isFinite(level)) continue;
      const seg = marchingSquares(grid.values, grid.nx, grid.ny, level);
      for (let k = 0; k < seg.length; k += 4) {
        ctx.moveTo(ax.px(gx0 + seg[k]! * sx), ax.py(gy0 + seg[k + 1]! * sy));
        ctx.lineTo(ax.px(gx0 + seg[k + 2]! * sx), ax.py(gy0 + seg[k + 3]! * sy));
      }
    }
    ctx.stroke();
  });
}
