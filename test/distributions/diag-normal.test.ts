import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, grad, type Array } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { refTree, disposeTree, treeLeaves } from "../../src/engine/tree.js";
import { DiagNormal, type DiagNormalParams } from "../../src/distributions/diag-normal.js";
import { host } from "../support/checks.js";
import { gridMass } from "../support/grid.js";

const MEAN = [0.7, -1.2];
const STD = [0.5, 1.6];

function params(): DiagNormalParams {
  return { mean: fromValues(MEAN, [2], "float64"), logStd: fromValues(STD.map(Math.log), [2], "float64") };
}

test("diag normal: starts as N(0, I), matches the closed form, integrates to 1", () => {
  defaultDevice("cpu");
  const dist = new DiagNormal(2);
  const p0 = dist.init(keyFromSeed(0), "float64");
  assert.deepEqual(treeLeaves(p0).map((l) => host(l)), [[0, 0], [0, 0]]);
  disposeTree(p0);

  const p = params();
  const xs = [0, 0, 1, 2, -3, 0.5];
  const lp = host(dist.logProb(refTree(p), fromValues(xs, [3, 2], "float64")));
  for (let i = 0; i < 3; i++) {
    let ref = 0;
    for (let d = 0; d < 2; d++) {
      const u = (xs[2 * i + d]! - MEAN[d]!) / STD[d]!;
      ref += -0.5 * u * u - Math.log(STD[d]!) - 0.5 * Math.log(2 * Math.PI);
    }
    assert.ok(Math.abs(lp[i]! - ref) < 1e-12, `row ${i}: ${lp[i]} vs ${ref}`);
  }
  // ±7σ around the mean holds all but ~1e-11 of the mass
  const box: [number, number, number, number] = [MEAN[0]! - 7 * STD[0]!, MEAN[0]! + 7 * STD[0]!, MEAN[1]! - 7 * STD[1]!, MEAN[1]! + 7 * STD[1]!];
  const { mass, nonFinite } = gridMass((x) => dist.logProb(refTree(p), x), { box, points: 150, dtype: "float64" });
  assert.equal(nonFinite, 0);
  assert.ok(Math.abs(mass - 1) < 1e-3, `mass ${mass}`);

  // gradients: ∂/∂μ mean log p = mean((x − μ)/σ²), ∂/∂logσ = mean(u² − 1)
  const g = grad((q: DiagNormalParams) => dist.logProb(q, fromValues(xs, [3, 2], "float64")).mean())(refTree(p));
  for (let d = 0; d < 2; d++) {
    let gm = 0;
    let gs = 0;
    for (let i = 0; i < 3; i++) {
      const u = (xs[2 * i + d]! - MEAN[d]!) / STD[d]!;
      gm += u / STD[d]! / 3;
      gs += (u * u - 1) / 3;
    }
    assert.ok(Math.abs(host(g.mean)[d]! - gm) < 1e-12);
    assert.ok(Math.abs(host(g.logStd)[d]! - gs) < 1e-12);
  }
  disposeTree(g);
  disposeTree(p);
});

test("diag normal: samples have the right mean and std in the params' dtype; sampleAndLogProb agrees", () => {
  defaultDevice("wasm");
  const dist = new DiagNormal(2);
  const n = 20000;
  const x = dist.sample(params(), keyFromSeed(3), n);
  assert.equal(String(x.dtype), "float64");
  const v = host(x);
  for (let d = 0; d < 2; d++) {
    const col = v.filter((_, i) => i % 2 === d);
    const mean = col.reduce((s, c) => s + c, 0) / n;
    const sd = Math.sqrt(col.reduce((s, c) => s + (c - mean) ** 2, 0) / n);
    assert.ok(Math.abs(mean - MEAN[d]!) < (4 * STD[d]!) / Math.sqrt(n), `mean ${mean}`);
    assert.ok(Math.abs(sd / STD[d]! - 1) < 0.03, `sd ${sd}`);
  }
  defaultDevice("cpu");
  const r = dist.sampleAndLogProb(params(), keyFromSeed(4), 8);
  const again = host(dist.logProb(params(), r.x.ref as Array));
  const lp = host(r.logProb);
  r.x.dispose();
  lp.forEach((l, i) => assert.ok(Math.abs(l - again[i]!) < 1e-12));
});
