/**
 * A density evaluated on a regular grid of nodes over a rectangle: what the heat map and the
 * contour lines draw. The density comes from a plain callback over interleaved points, so the
 * plot layer never touches the engine.
 */
import type { Bounds } from "./points.js";

/** log-density of interleaved 2-D points [x0, y0, x1, y1, …] → one value per point. */
export type LogDensityFn = (points: Float64Array) => Float64Array | Promise<Float64Array>;

/** Values at nodes (i, j), i along x (nx nodes), j along y (ny nodes), row-major by j. */
export interface Grid {
  bounds: Bounds;
  nx: number;
  ny: number;
  values: Float64Array;
}

/** The nodes of an nx × ny grid over the bounds, interleaved [x, y, …], row-major by y. */
export function gridPoints(bounds: Bounds, nx: number, ny: number): Float64Array {
  if (!(nx >= 2 && ny >= 2)) throw new RangeError(`grid: expected at least 2 × 2 nodes, got ${nx} × ${ny}`);
  const [[x0, x1], [y0, y1]] = bounds;
  const pts = new Float64Array(nx * ny * 2);
  for (let j = 0; j < ny; j++)
    for (let i = 0; i < nx; i++) {
      const k = 2 * (j * nx + i);
      pts[k] = x0 + ((x1 - x0) * i) / (nx - 1);
      pts[k + 1] = y0 + ((y1 - y0) * j) / (ny - 1);
    }
  return pts;
}

/**
 * exp(logDensity) on an nx × ny grid (default 160 × 160). Non-finite log-densities become 0
 * (a density can be −∞ outside its support, e.g. a uniform box).
 */
export async function densityGrid(logDensity: LogDensityFn, bounds: Bounds, nx = 160, ny = nx): Promise<Grid> {
  const lp = await logDensity(gridPoints(bounds, nx, ny));
  if (lp.length !== nx * ny) throw new RangeError(`densityGrid: the log-density returned ${lp.length} values for ${nx * ny} points`);
  const values = new Float64Array(nx * ny);
  for (let k = 0; k < values.length; k++) {
    const p = Math.exp(lp[k]!);
    values[k] = Number.isFinite(p) ? p : 0;
  }
  return { bounds, nx, ny, values };
}

/** Bilinear interpolation of the grid at data point (x, y); NaN outside. */
export function sampleGrid(g: Grid, x: number, y: number): number {
  const [[x0, x1], [y0, y1]] = g.bounds;
  const u = ((x - x0) / (x1 - x0)) * (g.nx - 1);
  const v = ((y - y0) / (y1 - y0)) * (g.ny - 1);
  if (!(u >= 0 && v >= 0 && u <= g.nx - 1 && v <= g.ny - 1)) return NaN;
  const i = Math.min(g.nx - 2, Math.floor(u));
  const j = Math.min(g.ny - 2, Math.floor(v));
  const [fu, fv] = [u - i, v - j];
  const at = (a: number, b: number): number => g.values[b * g.nx + a]!;
  return (1 - fv) * ((1 - fu) * at(i, j) + fu * at(i + 1, j)) + fv * ((1 - fu) * at(i, j + 1) + fu * at(i + 1, j + 1));
}
