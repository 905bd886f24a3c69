import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, grad, jit } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { refTree, disposeTree, treeLeaves } from "../../src/engine/tree.js";
import {
  MixtureOfGaussians,
  type MixtureOfGaussiansParams,
} from "../../src/distributions/mixture-of-gaussians.js";
import { host, perturb } from "../support/checks.js";
import { gridMass } from "../support/grid.js";

const K = 3;
const LOGITS = [0.3, -1, 0.8];
const MEANS = [[-2, 1], [1.5, 0.5], [0, -2]];
const LOG_STDS = [[-0.3, 0.2], [0.1, -0.5], [0.4, 0]];

function params(dtype: "float32" | "float64" = "float64"): MixtureOfGaussiansParams {
  return {
    logits: fromValues(LOGITS, [K], dtype),
    means: fromValues(MEANS.flat(), [K, 2], dtype),
    logStds: fromValues(LOG_STDS.flat(), [K, 2], dtype),
  };
}

/** log p(x) on the host, straight from the definition (sum of weighted densities). */
function hostLogProb(x: number[]): number {
  const z = LOGITS.reduce((s, l) => s + Math.exp(l), 0);
  let p = 0;
  for (let k = 0; k < K; k++) {
    let dens = Math.exp(LOGITS[k]!) / z;
    for (let d = 0; d < 2; d++) {
      const s = Math.exp(LOG_STDS[k]![d]!);
      dens *= Math.exp(-0.5 * ((x[d]! - MEANS[k]![d]!) / s) ** 2) / (s * Math.sqrt(2 * Math.PI));
    }
    p += dens;
  }
  return Math.log(p);
}

test("mixture of gaussians: logProb equals a host reference; integrates to 1", () => {
  defaultDevice("cpu");
  const mog = new MixtureOfGaussians(2, K);
  const xs = [[0, 0], [-2, 1], [1.5, 0.4], [3, -3], [-6, 5]];
  const lp = host(mog.logProb(params(), fromValues(xs.flat(), [xs.length, 2], "float64")));
  xs.forEach((x, i) => assert.ok(Math.abs(lp[i]! - hostLogProb(x)) < 1e-12, `row ${i}: ${lp[i]} vs ${hostLogProb(x)}`));
  // far from every component the logsumexp stays finite (no underflow to −Infinity)
  const far = host(mog.logProb(params(), fromValues([40, -40], [1, 2], "float64")));
  assert.ok(Number.isFinite(far[0]!) && far[0]! < -100, `far ${far[0]}`);

  const p = params();
  const { mass, nonFinite } = gridMass((x) => mog.logProb(refTree(p), x), { box: [-8, 8, -10, 8], points: 200, dtype: "float64" });
  assert.equal(nonFinite, 0);
  assert.ok(Math.abs(mass - 1) < 1e-3, `mass ${mass}`);
  disposeTree(p);
});

test("mixture of gaussians: init spreads the means, every parameter gets a gradient (also under jit)", () => {
  defaultDevice("cpu");
  const mog = new MixtureOfGaussians(2, 4);
  const p0 = mog.init(keyFromSeed(5), "float64");
  const means = host(p0.means);
  assert.ok(new Set(means).size === means.length, "components start apart");
  assert.deepEqual(host(p0.logits), [0, 0, 0, 0]);
  assert.ok(host(p0.logStds).every((v) => v === 0));
  const p = perturb(p0, 11);
  const x = [0.3, -0.2, 1, 1, -1, 0.5, 2, -1];
  const loss = (q: MixtureOfGaussiansParams) => mog.logProb(q, fromValues(x, [4, 2], "float64")).mean();
  const g1 = grad(loss)(refTree(p));
  const g2 = jit(grad(loss))(refTree(p));
  treeLeaves(g1).forEach((leaf, i) => {
    const a = host(leaf);
    const b = host(treeLeaves(g2)[i]!);
    assert.ok(a.every((v) => Number.isFinite(v)) && a.some((v) => v !== 0), `leaf ${i} has no gradient`);
    a.forEach((v, j) => assert.ok(Math.abs(v - b[j]!) < 1e-12, "jit and eager gradients agree"));
  });
  // the gradient of the weights sums to zero (softmax is shift-invariant)
  assert.ok(Math.abs(host(g1.logits).reduce((s, v) => s + v, 0)) < 1e-12);
  disposeTree([g1, g2, p]);
});

test("mixture of gaussians: samples have the mixture's mean and covariance; sampleAndLogProb agrees", () => {
  defaultDevice("wasm");
  const mog = new MixtureOfGaussians(2, K);
  const n = 40000;
  const x = mog.sample(params("float32"), keyFromSeed(9), n);
  assert.equal(String(x.dtype), "float32");
  const v = host(x);
  const z = LOGITS.reduce((s, l) => s + Math.exp(l), 0);
  const w = LOGITS.map((l) => Math.exp(l) / z);
  for (let d = 0; d < 2; d++) {
    const m = w.reduce((s, wk, k) => s + wk * MEANS[k]![d]!, 0);
    const second = w.reduce((s, wk, k) => s + wk * (Math.exp(2 * LOG_STDS[k]![d]!) + MEANS[k]![d]! ** 2), 0);
    const sd = Math.sqrt(second - m * m);
    const col = v.filter((_, i) => i % 2 === d);
    const mean = col.reduce((s, c) => s + c, 0) / n;
    const sdHat = Math.sqrt(col.reduce((s, c) => s + (c - mean) ** 2, 0) / n);
    assert.ok(Math.abs(mean - m) < (4 * sd) / Math.sqrt(n), `dim ${d}: mean ${mean} vs ${m}`);
    assert.ok(Math.abs(sdHat / sd - 1) < 0.03, `dim ${d}: sd ${sdHat} vs ${sd}`);
  }
  defaultDevice("cpu");
  const r = mog.sampleAndLogProb(params(), keyFromSeed(4), 8);
  assert.equal(String(r.x.dtype), "float64");
  const xs = host(r.x);
  host(r.logProb).forEach((l, i) => assert.ok(Math.abs(l - hostLogProb(xs.slice(2 * i, 2 * i + 2))) < 1e-12));
  r.x.dispose();
});
