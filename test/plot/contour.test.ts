import { test } from "node:test";
import assert from "node:assert/strict";
import { marchingSquares, massLevels } from "../../src/plot/contour.js";
import { densityGrid, gridPoints, sampleGrid } from "../../src/plot/grid.js";

test("marching squares: the level set of x² + y² = 1 lies on the unit circle and closes", () => {
  const n = 81;
  const bounds = [[-2, 2], [-2, 2]] as const;
  const pts = gridPoints(bounds, n, n);
  const values = Float64Array.from({ length: n * n }, (_, k) => pts[2 * k]! ** 2 + pts[2 * k + 1]! ** 2);
  const seg = marchingSquares(values, n, n, 1);
  assert.ok(seg.length / 4 > 50, `expected many segments, got ${seg.length / 4}`);
  const h = 4 / (n - 1);
  const toData = (i: number): number => -2 + i * h;
  let length = 0;
  for (let k = 0; k < seg.length; k += 4) {
    for (const e of [0, 2]) {
      const r = Math.hypot(toData(seg[k + e]!), toData(seg[k + e + 1]!));
      assert.ok(Math.abs(r - 1) < h * h, `endpoint at radius ${r}`);
    }
    length += Math.hypot((seg[k + 2]! - seg[k]!) * h, (seg[k + 3]! - seg[k + 1]!) * h);
  }
  assert.ok(Math.abs(length - 2 * Math.PI) < 0.01, `contour length ${length}, expected 2π`);
  assert.equal(marchingSquares(values, n, n, 100).length, 0, "a level above every value has no contour");
  assert.throws(() => marchingSquares(values, n, n - 1, 1), /values/);
});

test("mass levels: the 50% region of a 2-D standard normal is the disk where p ≥ 1/(4π)", async () => {
  // 1 − exp(−r²/2) = 1/2 at r² = 2 ln 2, where p = exp(−ln 2)/(2π) = 1/(4π).
  const grid = await densityGrid((p) => Float64Array.from({ length: p.length / 2 }, (_, i) => -Math.log(2 * Math.PI) - (p[2 * i]! ** 2 + p[2 * i + 1]! ** 2) / 2), [[-6, 6], [-6, 6]], 241);
  const [l50, l95] = massLevels(grid.values, [0.5, 0.95]);
  assert.ok(Math.abs(l50! / (1 / (4 * Math.PI)) - 1) < 0.02, `50% level ${l50}`);
  // 95%: r² = −2 ln 0.05, p = 0.05/(2π).
  assert.ok(Math.abs(l95! / (0.05 / (2 * Math.PI)) - 1) < 0.03, `95% level ${l95}`);
  assert.ok(Math.abs(sampleGrid(grid, 0, 0) - 1 / (2 * Math.PI)) < 1e-9);
  assert.ok(Number.isNaN(sampleGrid(grid, 7, 0)));
});

test("density grid: −∞ log-densities become zero density", async () => {
  const g = await densityGrid((p) => Float64Array.from({ length: p.length / 2 }, (_, i) => (p[2 * i]! > 0 ? 0 : -Infinity)), [[-1, 1], [0, 1]], 5, 3);
  assert.deepEqual(Array.from(g.values.subarray(0, 5)), [0, 0, 0, 1, 1]);
  await assert.rejects(densityGrid(() => new Float64Array(3), [[0, 1], [0, 1]], 4), /returned 3 values/);
});
