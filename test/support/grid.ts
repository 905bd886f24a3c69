/**
 * Numerical integration of a 2-D density on a grid (midpoint rule): Σ exp(log p(x_ij)) · h².
 * The grid is evaluated in a few large batches so that the engine runs few, large kernels.
 */
import type { Array } from "../../src/engine/jax.js";
import { fromValues, type FloatDType } from "../../src/engine/dtype.js";

export interface GridSpec {
  /** [xmin, xmax, ymin, ymax] */
  box: [number, number, number, number];
  /** Points per axis. */
  points: number;
  dtype: FloatDType;
  /** Rows per logProb call. */
  batch?: number;
}

/** Midpoints of the grid cells, row-major, as [x, y] pairs. */
export function gridPoints(spec: GridSpec): { pts: Float64Array; cellArea: number } {
  const [x0, x1, y0, y1] = spec.box;
  const G = spec.points;
  const hx = (x1 - x0) / G;
  const hy = (y1 - y0) / G;
  const pts = new Float64Array(2 * G * G);
  for (let i = 0; i < G; i++)
    for (let j = 0; j < G; j++) {
      pts[2 * (i * G + j)] = x0 + (i + 0.5) * hx;
      pts[2 * (i * G + j) + 1] = y0 + (j + 0.5) * hy;
    }
  return { pts, cellArea: hx * hy };
}

/**
 * ∫ p over the box by the midpoint rule. `logProb` receives an [B, 2] batch (it owns it) and
 * returns log p of each row. Also returns the largest log p seen (to catch NaN: it propagates).
 */
export function gridMass(logProb: (x: Array) => Array, spec: GridSpec): { mass: number; nonFinite: number } {
  const { pts, cellArea } = gridPoints(spec);
  const n = pts.length / 2;
  const B = spec.batch ?? n;
  let mass = 0;
  let nonFinite = 0;
  for (let start = 0; start < n; start += B) {
    const rows = Math.min(B, n - start);
    const x = fromValues(pts.slice(2 * start, 2 * (start + rows)), [rows, 2], spec.dtype);
    const lp = logProb(x).dataSync() as ArrayLike<number>;
    for (let i = 0; i < lp.length; i++) {
      const v = lp[i]!;
      if (Number.isNaN(v) || v === Infinity) nonFinite++;
      else mass += Math.exp(v);
    }
  }
  return { mass: mass * cellArea, nonFinite };
}
