import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { StandardLogistic } from "../../src/distributions/standard-logistic.js";
import { host } from "../support/checks.js";

test("standard logistic: log p = −Σ softplus(z) + softplus(−z), no overflow far out, integrates to 1", () => {
  defaultDevice("cpu");
  const d = new StandardLogistic(1);
  const zs = [-800, -30, -1, 0, 0.5, 3, 30, 800];
  const lp = host(d.logProb({}, fromValues(zs, [zs.length, 1], "float64")));
  zs.forEach((z, i) => {
    const want = Math.abs(z) > 700 ? -Math.abs(z) : -Math.log1p(Math.exp(z)) - Math.log1p(Math.exp(-z));
    assert.ok(Math.abs(lp[i]! - want) < 1e-12, `z = ${z}: ${lp[i]} vs ${want}`);
  });
  // midpoint rule on [−60, 60]
  const h = 0.01;
  const grid = Array.from({ length: 12000 }, (_, i) => -60 + (i + 0.5) * h);
  const mass = host(d.logProb({}, fromValues(grid, [grid.length, 1], "float64"))).reduce((s, v) => s + Math.exp(v) * h, 0);
  assert.ok(Math.abs(mass - 1) < 1e-6, `∫ p = ${mass}`);
});

test("standard logistic: samples have mean 0 and variance π²/3, and sampleAndLogProb agrees with logProb", () => {
  defaultDevice("wasm");
  const d = new StandardLogistic(4);
  const n = 20000;
  const xs = host(d.sample({}, keyFromSeed(1), n));
  assert.ok(xs.every(Number.isFinite));
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
  assert.ok(Math.abs(mean) < 0.05, `mean ${mean}`);
  assert.ok(Math.abs(variance - Math.PI ** 2 / 3) < 0.1, `variance ${variance}`);
  const r = d.sampleAndLogProb({}, keyFromSeed(2), 8);
  const x = host(r.x);
  const lp = host(r.logProb);
  const again = host(d.logProb({}, fromValues(x, [8, 4], "float32")));
  lp.forEach((v, i) => assert.ok(Math.abs(v - again[i]!) < 1e-5));
});
