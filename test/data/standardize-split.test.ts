import { test } from "node:test";
import assert from "node:assert/strict";
import {
  applyStandardization,
  fitStandardization,
  invertStandardization,
  logDetStandardization,
} from "../../src/data/standardize.js";
import { splitIndices, splitRows, takeRows } from "../../src/data/split.js";
import { ConfigError, ShapeError } from "../../src/engine/errors.js";

test("standardisation: zero mean, unit std, exact inverse, constant column, log-det = −Σ log σ", () => {
  const x = Float64Array.from([1, 10, 7, 3, 10, 7, 5, 10, 7, 11, 10, 7]); // 4 rows × 3, columns 2 and 3 constant
  const s = fitStandardization(x, 4, 3);
  assert.deepEqual(s.mean, [5, 10, 7]);
  assert.ok(Math.abs(s.std[0]! - Math.sqrt(14)) < 1e-12); // population variance (16+4+0+36)/4
  assert.deepEqual(s.std.slice(1), [1, 1], "constant columns keep σ = 1");
  const u = applyStandardization(s, x);
  let m = 0, v = 0;
  for (let i = 0; i < 4; i++) m += u[3 * i]!;
  for (let i = 0; i < 4; i++) v += u[3 * i]! ** 2;
  assert.ok(Math.abs(m) < 1e-12 && Math.abs(v / 4 - 1) < 1e-12);
  const back = invertStandardization(s, u);
  back.forEach((b, i) => assert.ok(Math.abs(b - x[i]!) < 1e-12));
  assert.equal(logDetStandardization([2, 0.5, 4]), -Math.log(4));
  // change of variables: a N(0,1) model density in u units becomes N(μ, σ²) in x units
  const sigma = 3, mu = -1, x0 = 2.5;
  const logModel = -0.5 * ((x0 - mu) / sigma) ** 2 - 0.5 * Math.log(2 * Math.PI);
  const logData = logModel + logDetStandardization([sigma]);
  const exact = -0.5 * ((x0 - mu) / sigma) ** 2 - Math.log(sigma) - 0.5 * Math.log(2 * Math.PI);
  assert.ok(Math.abs(logData - exact) < 1e-15);
  assert.throws(() => fitStandardization(x, 5, 3), ShapeError);
  assert.throws(() => applyStandardization({ mean: [0], std: [0] }, x), ConfigError);
});

test("splits: seeded, disjoint, covering, sizes round(f·n), context rows follow their data rows", () => {
  const a = splitIndices(100, { validationFraction: 0.15, testFraction: 0.2, seed: 3 });
  assert.equal(a.validation.length, 15);
  assert.equal(a.test.length, 20);
  assert.equal(a.train.length, 65);
  assert.deepEqual([...a.train, ...a.validation, ...a.test].sort((p, q) => p - q), Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual(splitIndices(100, { validationFraction: 0.15, testFraction: 0.2, seed: 3 }), a);
  assert.notDeepEqual(splitIndices(100, { validationFraction: 0.15, testFraction: 0.2, seed: 4 }).train, a.train);
  const rows = { x: Float64Array.from({ length: 20 }, (_, i) => i), n: 10, dim: 2, context: Float64Array.from({ length: 10 }, (_, i) => 100 + i) };
  const s = splitRows(rows, { validationFraction: 0.3, seed: 1 });
  assert.equal(s.validation.n, 3);
  for (const part of [s.train, s.validation]) {
    for (let i = 0; i < part.n; i++) {
      const r = part.x[2 * i]! / 2;
      assert.equal(part.x[2 * i + 1], 2 * r + 1);
      assert.equal(part.context![i], 100 + r);
    }
  }
  assert.deepEqual([...takeRows(rows, [4, 1]).x], [8, 9, 2, 3]);
  assert.throws(() => splitIndices(10, { validationFraction: 1 }), ConfigError);
  assert.throws(() => splitIndices(2, { validationFraction: 0.5, testFraction: 0.4 }), ConfigError);
});
