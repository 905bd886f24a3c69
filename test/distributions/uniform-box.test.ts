import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, grad, jit, type Array } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { ConfigError } from "../../src/engine/errors.js";
import { UniformBox } from "../../src/distributions/uniform-box.js";
import { host } from "../support/checks.js";
import { gridMass } from "../support/grid.js";

test("uniform box: −log volume inside the closed box, −Infinity outside, never NaN", () => {
  defaultDevice("cpu");
  const u = new UniformBox([0, -1], [2, 3]);
  const inside = -Math.log(2 * 4);
  const pts = [
    [0, -1], [2, 3], [1, 0], [0, 3], // inside, corners included (closed box)
    [-1e-9, 0], [2 + 1e-9, 0], [1, -1.000001], [1, 3.5], [-5, 10], // outside
    [Infinity, 0], [-Infinity, 0], [NaN, 0], [1, NaN], // non-finite input is outside, not NaN
  ];
  const lp = host(u.logProb({}, fromValues(pts.flat(), [pts.length, 2], "float64")));
  assert.deepEqual(lp.slice(0, 4).map((v) => Math.abs(v - inside) < 1e-15), [true, true, true, true]);
  for (const v of lp.slice(4)) assert.equal(v, -Infinity);
  // gradient with respect to x is 0 everywhere (constant on either side), not NaN
  const g = host(grad((x: Array) => u.logProb({}, x).sum())(fromValues(pts.slice(0, 9).flat(), [9, 2], "float64")));
  assert.ok(g.every((v) => v === 0), `gradient ${g}`);
});

test("uniform box: float32 on wasm under jit (≥128 rows, real kernels) agrees", () => {
  defaultDevice("wasm");
  const u = new UniformBox([0, 0], [2, 2]);
  const n = 256;
  const xs: number[] = [];
  for (let i = 0; i < n; i++) xs.push(-0.5 + (3 * i) / n, 1);
  const lp = host(jit((x: Array) => u.logProb({}, x))(fromValues(xs, [n, 2], "float32")));
  for (let i = 0; i < n; i++) {
    const x0 = Math.fround(-0.5 + (3 * i) / n);
    const expected = x0 >= 0 && x0 <= 2 ? Math.fround(-Math.log(4)) : -Infinity;
    assert.equal(lp[i], expected, `row ${i} at x=${x0}`);
  }
});

test("uniform box: integrates to 1 over a grid, samples lie in the box with the right moments", () => {
  defaultDevice("cpu");
  const u = new UniformBox([-1, 0.5], [1.5, 2]);
  // a grid that covers the box with a margin; cell edges fall on the box edges
  const { mass, nonFinite } = gridMass((x) => u.logProb({}, x), { box: [-2, 2, -0.5, 2.5], points: 120, dtype: "float64" });
  assert.equal(nonFinite, 0);
  assert.ok(Math.abs(mass - 1) < 1e-3, `mass ${mass}`);

  defaultDevice("wasm");
  for (const dtype of ["float32", "float64"] as const) {
    const n = 20000;
    const x = u.sample({}, keyFromSeed(7), n, undefined, { dtype });
    assert.equal(String(x.dtype), dtype);
    assert.deepEqual(x.shape, [n, 2]);
    const v = host(x);
    const low = [-1, 0.5];
    const high = [1.5, 2];
    for (let d = 0; d < 2; d++) {
      const col = v.filter((_, i) => i % 2 === d);
      assert.ok(col.every((c) => c >= low[d]! && c <= high[d]!), "sample outside the box");
      const mean = col.reduce((s, c) => s + c, 0) / n;
      const sd = Math.sqrt(col.reduce((s, c) => s + (c - mean) ** 2, 0) / n);
      const w = high[d]! - low[d]!;
      assert.ok(Math.abs(mean - (low[d]! + high[d]!) / 2) < (4 * w) / Math.sqrt(12 * n), `mean ${mean}`);
      assert.ok(Math.abs(sd - w / Math.sqrt(12)) < 0.02 * w, `sd ${sd}`);
    }
  }
});

test("uniform box: bad boxes are ConfigErrors", () => {
  assert.throws(() => new UniformBox([0, 0], [1]), ConfigError);
  assert.throws(() => new UniformBox([0, 1], [1, 1]), /low\[1\] < high\[1\]/);
  assert.throws(() => new UniformBox([0], [Infinity]), ConfigError);
});
