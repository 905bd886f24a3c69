/**
 * Plain point sets for the plots: the plot layer never sees jax arrays. A point set is either
 * interleaved numbers (row-major [N, D], as `dataSync()` of an [N, D] array gives them) or an
 * array of rows.
 */

/** N points of dimension D: interleaved [x0_0, x0_1, …, x1_0, …] or rows [[x0_0, x0_1], …]. */
export type Points = ArrayLike<number> | readonly (readonly number[])[];

/** Axis-aligned limits [[xlo, xhi], [ylo, yhi]]. */
export type Bounds = readonly [readonly [number, number], readonly [number, number]];

/** Row-major Float64Array [N·D] of a point set, with N. */
export function flatPoints(points: Points, dim: number, what = "points"): { data: Float64Array; n: number } {
  if (points.length > 0 && Array.isArray(points[0])) {
    const rows = points as readonly (readonly number[])[];
    const data = new Float64Array(rows.length * dim);
    rows.forEach((r, i) => {
      if (r.length !== dim) throw new RangeError(`${what}: expected rows of length ${dim}, row ${i} has ${r.length}`);
      for (let d = 0; d < dim; d++) data[i * dim + d] = r[d]!;
    });
    return { data, n: rows.length };
  }
  const flat = points as ArrayLike<number>;
  if (flat.length % dim !== 0) throw new RangeError(`${what}: expected a multiple of ${dim} numbers (N × ${dim}), got ${flat.length}`);
  return { data: Float64Array.from(flat), n: flat.length / dim };
}

/** The columns of a point set, one Float64Array per dimension. */
export function columns(points: Points, dim: number, what = "points"): Float64Array[] {
  const { data, n } = flatPoints(points, dim, what);
  return Array.from({ length: dim }, (_, d) => {
    const col = new Float64Array(n);
    for (let i = 0; i < n; i++) col[i] = data[i * dim + d]!;
    return col;
  });
}

/** The q-quantile of the finite values (linear interpolation). */
export function quantile(values: ArrayLike<number>, q: number): number {
  const v = Array.from(values).filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const u = Math.min(1, Math.max(0, q)) * (v.length - 1);
  const i = Math.floor(u);
  return i + 1 < v.length ? v[i]! + (u - i) * (v[i + 1]! - v[i]!) : v[i]!;
}

/**
 * Limits that hold the bulk of the points: the [q, 1 − q] quantiles of each coordinate widened by
 * `pad` of their span (q > 0 keeps a few outliers from squashing the picture).
 */
export function boundsOf(sets: readonly Points[], opts: { q?: number; pad?: number; square?: boolean } = {}): Bounds {
  const q = opts.q ?? 0.005;
  const pad = opts.pad ?? 0.08;
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of sets) {
    const [cx, cy] = columns(s, 2);
    xs.push(...cx!);
    ys.push(...cy!);
  }
  let [x0, x1] = [quantile(xs, q), quantile(xs, 1 - q)];
  let [y0, y1] = [quantile(ys, q), quantile(ys, 1 - q)];
  if (!Number.isFinite(x0) || !Number.isFinite(y0)) return [[-1, 1], [-1, 1]];
  const widen = (lo: number, hi: number): [number, number] => {
    const span = hi - lo || Math.max(1, Math.abs(lo));
    return [lo - pad * span, hi + pad * span];
  };
  [x0, x1] = widen(x0, x1);
  [y0, y1] = widen(y0, y1);
  if (opts.square) {
    const half = Math.max(x1 - x0, y1 - y0) / 2;
    const [cx, cy] = [(x0 + x1) / 2, (y0 + y1) / 2];
    return [[cx - half, cx + half], [cy - half, cy + half]];
  }
  return [[x0, x1], [y0, y1]];
}
