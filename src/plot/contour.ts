/**
 * Contour lines by marching squares, and contour levels that enclose given fractions of the
 * probability mass (highest-density regions), which read better than evenly spaced levels:
 * "the 50% line holds half of the model's mass".
 */

/**
 * Segments of the level set {v = level} of a grid of values. `values[j·nx + i]` is the value at
 * node (i, j); segments come back in node coordinates as [x0, y0, x1, y1, …] (fractional i, j).
 * Saddle cells are resolved by the mean of their four corners.
 */
export function marchingSquares(values: ArrayLike<number>, nx: number, ny: number, level: number): Float64Array {
  if (values.length !== nx * ny) throw new RangeError(`marchingSquares: expected ${nx}·${ny} = ${nx * ny} values, got ${values.length}`);
  const out: number[] = [];
  const v = (i: number, j: number): number => values[j * nx + i]!;
  for (let j = 0; j + 1 < ny; j++) {
    for (let i = 0; i + 1 < nx; i++) {
      const bl = v(i, j), br = v(i + 1, j), tr = v(i + 1, j + 1), tl = v(i, j + 1);
      if (![bl, br, tr, tl].every(Number.isFinite)) continue;
      const c = (bl >= level ? 1 : 0) | (br >= level ? 2 : 0) | (tr >= level ? 4 : 0) | (tl >= level ? 8 : 0);
      if (c === 0 || c === 15) continue;
      // Crossing points on the four edges: bottom, right, top, left.
      const at = (a: number, b: number): number => (b === a ? 0.5 : (level - a) / (b - a));
      const edge = (e: number): [number, number] => {
        switch (e) {
          case 0: return [i + at(bl, br), j];
          case 1: return [i + 1, j + at(br, tr)];
          case 2: return [i + at(tl, tr), j + 1];
          default: return [i, j + at(bl, tl)];
        }
      };
      const seg = (a: number, b: number): void => {
        out.push(...edge(a), ...edge(b));
      };
      const centreHigh = (bl + br + tr + tl) / 4 >= level;
      switch (c) {
        case 1: case 14: seg(3, 0); break;
        case 2: case 13: seg(0, 1); break;
        case 3: case 12: seg(3, 1); break;
        case 4: case 11: seg(1, 2); break;
        case 6: case 9: seg(0, 2); break;
        case 7: case 8: seg(3, 2); break;
        case 5:
          if (centreHigh) { seg(0, 1); seg(2, 3); } else { seg(3, 0); seg(1, 2); }
          break;
        case 10:
          if (centreHigh) { seg(3, 0); seg(1, 2); } else { seg(0, 1); seg(2, 3); }
          break;
      }
    }
  }
  return Float64Array.from(out);
}

/**
 * Density levels whose super-level sets {p ≥ level} hold the given fractions of the mass on the
 * grid (cells of equal area, so mass ∝ Σ p): sort p descending and find where the running sum
 * reaches fraction × total. Returns one level per fraction (NaN when the grid holds no mass).
 */
export function massLevels(density: ArrayLike<number>, fractions: readonly number[]): number[] {
  const p = Array.from(density).filter((d) => Number.isFinite(d) && d > 0).sort((a, b) => b - a);
  const total = p.reduce((s, d) => s + d, 0);
  if (!(total > 0)) return fractions.map(() => NaN);
  return fractions.map((f) => {
    const target = f * total;
    let run = 0;
    for (const d of p) {
      run += d;
      if (run >= target) return d;
    }
    return p[p.length - 1]!;
  });
}
