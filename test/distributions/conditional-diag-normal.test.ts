/**
 * The conditional diagonal normal p(z | y) = N(μ(y), diag σ(y)²), alone and as the base of a
 * conditional flow: normalisation per context, the closed form against a host MLP, sampling
 * moments, context errors, flow exactness and gradients, a short fit, and the model file.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultDevice, grad, jit, type Array } from "../../src/engine/jax.js";
import { fromValues, type FloatDType } from "../../src/engine/dtype.js";
import { ConfigError, ContextError, ShapeError } from "../../src/engine/errors.js";
import { keyFromSeed, normal } from "../../src/engine/random.js";
import { disposeTree, refTree, treeLeaves, treePaths, type Params } from "../../src/engine/tree.js";
import { ConditionalDiagNormal, type ConditionalDiagNormalParams } from "../../src/distributions/conditional-diag-normal.js";
import type { FlowParams } from "../../src/distributions/flow.js";
import { build, describe, normalizeConfig } from "../../src/flows/build.js";
import type { FlowConfig } from "../../src/flows/config.js";
import { fit } from "../../src/model/fit.js";
import { loadModel } from "../../src/model/load.js";
import { host, perturb } from "../support/checks.js";
import { gridMass } from "../support/grid.js";

const dir = mkdtempSync(join(tmpdir(), "nflow-cdn-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const K = 3;
const CONTEXTS = [
  [0.5, -1, 2],
  [-1.5, 0.3, -0.7],
];

/** μ(y) and σ(y) from the params, computed on the host in float64 (relu MLP, clamp 5·tanh(r/5)). */
function hostMoments(p: ConditionalDiagNormalParams, y: number[], D: number): { mu: number[]; sigma: number[] } {
  let h = y.slice();
  const L = p.net.W.length;
  for (let l = 0; l < L; l++) {
    const W = host(p.net.W[l]!);
    const b = host(p.net.b[l]!);
    const out = b.length;
    const next = b.slice();
    for (let j = 0; j < out; j++) for (let i = 0; i < h.length; i++) next[j]! += h[i]! * W[i * out + j]!;
    h = l < L - 1 ? next.map((v) => Math.max(v, 0)) : next;
  }
  return { mu: h.slice(0, D), sigma: h.slice(D, 2 * D).map((r) => Math.exp(5 * Math.tanh(r / 5))) };
}

function repeatRows(row: number[], n: number, dtype: FloatDType): Array {
  return fromValues(globalThis.Array.from({ length: n }, () => row).flat(), [n, row.length], dtype);
}

function perturbedBase(dtype: FloatDType): { dist: ConditionalDiagNormal; p: ConditionalDiagNormalParams } {
  const dist = new ConditionalDiagNormal({ dim: 2, contextDim: K, hidden: [8] });
  return { dist, p: perturb(dist.init(keyFromSeed(1), dtype), 50, 0.4) };
}

test("conditional diag normal: N(0, I) at init; closed form against a host MLP; integrates to 1 for each context", () => {
  defaultDevice("cpu");
  const dist = new ConditionalDiagNormal({ dim: 2, contextDim: K, hidden: [8] });
  const p0 = dist.init(keyFromSeed(0), "float64");
  const x0 = [0.3, -1.1, 2, 0.5];
  const lp0 = host(dist.logProb(refTree(p0), fromValues(x0, [2, 2], "float64"), fromValues(CONTEXTS.flat(), [2, K], "float64")));
  for (let i = 0; i < 2; i++) {
    const ref = -0.5 * (x0[2 * i]! ** 2 + x0[2 * i + 1]! ** 2) - Math.log(2 * Math.PI);
    assert.ok(Math.abs(lp0[i]! - ref) < 1e-12, `init is N(0, I): ${lp0[i]} vs ${ref}`);
  }
  disposeTree(p0);

  const { p } = perturbedBase("float64");
  const xs = [0.2, -0.4, 1.3, 0.9, -2, 0.1, 0.7, -1.6];
  const ys = [...CONTEXTS[0]!, ...CONTEXTS[1]!, ...CONTEXTS[1]!, ...CONTEXTS[0]!];
  const lp = host(dist.logProb(refTree(p), fromValues(xs, [4, 2], "float64"), fromValues(ys, [4, K], "float64")));
  const moments = CONTEXTS.map((y) => hostMoments(p, y, 2));
  assert.ok(Math.abs(moments[0]!.mu[0]! - moments[1]!.mu[0]!) > 0.05, "the two contexts give different means");
  for (let i = 0; i < 4; i++) {
    const { mu, sigma } = moments[i === 0 || i === 3 ? 0 : 1]!;
    let ref = 0;
    for (let d = 0; d < 2; d++) {
      const u = (xs[2 * i + d]! - mu[d]!) / sigma[d]!;
      ref += -0.5 * u * u - Math.log(sigma[d]!) - 0.5 * Math.log(2 * Math.PI);
    }
    assert.ok(Math.abs(lp[i]! - ref) < 1e-12, `row ${i}: ${lp[i]} vs host ${ref}`);
  }

  // ±7σ around μ(y) holds all but ~1e-11 of the mass, for each fixed context
  for (const [c, y] of CONTEXTS.entries()) {
    const { mu, sigma } = moments[c]!;
    const box: [number, number, number, number] = [mu[0]! - 7 * sigma[0]!, mu[0]! + 7 * sigma[0]!, mu[1]! - 7 * sigma[1]!, mu[1]! + 7 * sigma[1]!];
    const { mass, nonFinite } = gridMass((x) => dist.logProb(refTree(p), x, repeatRows(y, x.shape[0]!, "float64")), {
      box,
      points: 100,
      dtype: "float64",
    });
    assert.equal(nonFinite, 0);
    assert.ok(Math.abs(mass - 1) < 2e-3, `context ${c}: mass ${mass}`);
  }
  disposeTree(p);
});

test("conditional diag normal: samples have mean μ(y) and std σ(y) for two contexts; sampleAndLogProb agrees with logProb", () => {
  defaultDevice("wasm");
  const { dist, p } = perturbedBase("float64");
  const n = 20000;
  for (const [c, y] of CONTEXTS.entries()) {
    const { mu, sigma } = hostMoments(p, y, 2);
    const x = dist.sample(refTree(p), keyFromSeed(10 + c), n, repeatRows(y, n, "float64"));
    assert.equal(String(x.dtype), "float64");
    const v = host(x);
    x.dispose();
    for (let d = 0; d < 2; d++) {
      const col = v.filter((_, i) => i % 2 === d);
      const mean = col.reduce((s, e) => s + e, 0) / n;
      const sd = Math.sqrt(col.reduce((s, e) => s + (e - mean) ** 2, 0) / n);
      assert.ok(Math.abs(mean - mu[d]!) < (4 * sigma[d]!) / Math.sqrt(n), `context ${c}, dim ${d}: mean ${mean} vs ${mu[d]}`);
      assert.ok(Math.abs(sd / sigma[d]! - 1) < 0.03, `context ${c}, dim ${d}: sd ${sd} vs ${sigma[d]}`);
    }
  }
  disposeTree(p);
  // exactness on the cpu device (wasm computes exp/tanh in float32)
  defaultDevice("cpu");
  const { p: pc } = perturbedBase("float64");
  const ctx = () => fromValues([...CONTEXTS[0]!, ...CONTEXTS[1]!, ...CONTEXTS[0]!], [3, K], "float64");
  const r = dist.sampleAndLogProb(refTree(pc), keyFromSeed(4), 3, ctx());
  const again = host(dist.logProb(pc, r.x, ctx()));
  host(r.logProb).forEach((l, i) => assert.ok(Math.abs(l - again[i]!) < 1e-12, `${l} vs ${again[i]}`));
  r.logProb.dispose();
});

test("conditional diag normal: the context is required, with the expected shape; config validation", () => {
  defaultDevice("cpu");
  const { dist, p } = perturbedBase("float64");
  const x = () => fromValues([0, 1, 2, 3], [2, 2], "float64");
  assert.throws(() => dist.logProb(refTree(p), x()), (e: unknown) => e instanceof ContextError && /\[2, 3\]/.test(e.message));
  assert.throws(() => dist.sample(refTree(p), keyFromSeed(0), 5), (e: unknown) => e instanceof ContextError && /\[5, 3\]/.test(e.message));
  assert.throws(
    () => dist.logProb(refTree(p), x(), fromValues([0, 0, 0, 0], [2, 2], "float64")),
    (e: unknown) => e instanceof ContextError && /expected a context of shape \[2, 3\], got \[2, 2\]/.test(e.message),
  );
  assert.throws(
    () => dist.sample(refTree(p), keyFromSeed(0), 4, repeatRows([1, 2, 3], 2, "float64")),
    (e: unknown) => e instanceof ShapeError && /expected 4 context rows .* got 2/.test(e.message),
  );
  disposeTree(p);
  assert.throws(() => new ConditionalDiagNormal({ dim: 2, contextDim: 0 }), ConfigError);

  const base = { kind: "conditional-diag-normal" } as const;
  assert.throws(
    () => normalizeConfig({ flow: "realnvp", dim: 2, layers: 1, hidden: [4], base }),
    (e: unknown) => e instanceof ConfigError && /contextDim ≥ 1/.test(e.message),
  );
  const c = normalizeConfig({ flow: "maf", dim: 2, layers: 1, hidden: [4], contextDim: 2, base });
  assert.deepEqual(c.base, { kind: "conditional-diag-normal", hidden: [32] });
  assert.deepEqual(normalizeConfig(JSON.parse(JSON.stringify(c))), c);
  assert.throws(() => normalizeConfig({ ...c, base: { ...base, hidden: [0] } }), /base\.hidden\[0\]/);
  assert.throws(() => normalizeConfig({ ...c, base: { ...base, components: 2 } }), /unknown key "components"/);
  assert.match(describe(c), /base: conditional-diag-normal \(hidden \[32\], relu\); conditional \(context size 2\)/);
});

const FLOW_CONFIG: FlowConfig = {
  flow: "realnvp",
  dim: 2,
  layers: 2,
  hidden: [8],
  contextDim: K,
  base: { kind: "conditional-diag-normal" },
  dtype: "float64",
};

test("conditional realnvp with a conditional base: round trip, sampleAndLogProb exact, every parameter gets a gradient", () => {
  defaultDevice("cpu");
  const { flow } = build(FLOW_CONFIG);
  assert.equal(flow.base.contextDim, K);
  assert.equal(flow.contextDim, K);
  const p = perturb(flow.init(keyFromSeed(2), "float64"), 70, 0.3);
  const n = 16;
  const ctxValues = host(normal(keyFromSeed(3), [n, K], "float64"));
  const ctx = () => fromValues(ctxValues, [n, K], "float64");

  // round trip z → x → z through the conditional bijector
  const zValues = host(normal(keyFromSeed(5), [n, 2], "float64"));
  const f = flow.forward(refTree(p), fromValues(zValues, [n, 2], "float64"), ctx());
  const b = flow.inverse(refTree(p), f.y, ctx());
  const zBack = host(b.y);
  const ldSum = host(f.logDet.add(b.logDet));
  zBack.forEach((v, i) => assert.ok(Math.abs(v - zValues[i]!) < 1e-12, `round trip ${v} vs ${zValues[i]}`));
  ldSum.forEach((v) => assert.ok(Math.abs(v) < 1e-12, `forward + inverse logDet ${v}`));

  // the log density of the samples, two ways; and the base really sees the context
  const r = flow.sampleAndLogProb(refTree(p), keyFromSeed(6), n, ctx());
  const xs = host(r.x);
  const again = host(flow.logProb(refTree(p), r.x, ctx()));
  host(r.logProb).forEach((l, i) => assert.ok(Math.abs(l - again[i]!) < 1e-9, `sampleAndLogProb ${l} vs logProb ${again[i]}`));
  r.logProb.dispose();
  const other = host(flow.logProb(refTree(p), fromValues(xs, [n, 2], "float64"), fromValues(ctxValues.map((v) => -v), [n, K], "float64")));
  assert.ok(other.some((v, i) => Math.abs(v - again[i]!) > 1e-3), "the density depends on the context");

  // every leaf (base network included) gets a non-zero gradient, and jit agrees with eager. The
  // loss is −mean log p (a loss ending in a bare mean has a wrong float64 jit gradient: conformance).
  const loss = (q: FlowParams, x: Array, c: Array): Array => flow.logProb(q, x, c).mean().neg();
  const g = grad(loss)(refTree(p), fromValues(xs, [n, 2], "float64"), ctx());
  const gj = jit(grad(loss))(refTree(p), fromValues(xs, [n, 2], "float64"), ctx());
  const paths = treePaths(g);
  assert.ok(paths.some((s) => s.startsWith("base.")), `base params present: ${paths.join(", ")}`);
  const eager = treeLeaves(g).map((l) => host(l));
  const traced = treeLeaves(gj).map((l) => host(l));
  eager.forEach((leaf, i) => {
    assert.ok(leaf.some((v) => v !== 0), `parameter ${paths[i]} gets a non-zero gradient`);
    leaf.forEach((v, j) => assert.ok(Math.abs(v - traced[i]![j]!) < 1e-9, `${paths[i]}[${j}]: eager ${v} vs jit ${traced[i]![j]}`));
  });
  disposeTree(g);
  disposeTree(gj as Params);
  disposeTree(p);
});

test("fit: class-conditional generation with a conditional base; the model file round-trips its config", async () => {
  defaultDevice("wasm");
  // x = y·(1, 1) + 0.3·noise, y ∈ {−2, 2}
  let s = 12345;
  const rand = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) + 0.5) / 2 ** 31;
  const gauss = (): number => Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
  const n = 512;
  const context: number[][] = [];
  const x: number[][] = [];
  for (let i = 0; i < n; i++) {
    const y = i % 2 === 0 ? 2 : -2;
    context.push([y]);
    x.push([y + 0.3 * gauss(), y + 0.3 * gauss()]);
  }
  const model = await fit(
    { flow: "realnvp", layers: 2, hidden: [16], base: { kind: "conditional-diag-normal", hidden: [16] } },
    x,
    { context, steps: 250, lr: 1e-2, batchSize: 128, seed: 1 },
  );
  try {
    assert.deepEqual(model.config.base, { kind: "conditional-diag-normal", hidden: [16] });
    // the base's zero-initialised output layer was trained (the base takes part in the fit)
    const baseNet = (model.params.base as ConditionalDiagNormalParams).net;
    assert.ok(host(baseNet.W[baseNet.W.length - 1]!).some((v) => Math.abs(v) > 1e-3), "the base's output layer moved");
    for (const y of [2, -2]) {
      const samples = model.sample(400, { seed: 3, context: [y] });
      for (let d = 0; d < 2; d++) {
        const mean = samples.reduce((a, r) => a + r[d]!, 0) / samples.length;
        assert.ok(Math.abs(mean - y) < 0.4, `y = ${y}, dim ${d}: sample mean ${mean}`);
      }
    }
    const path = join(dir, "cond.nflow");
    await model.save(path);
    const loaded = await loadModel(path);
    try {
      assert.deepEqual(loaded.config, model.config);
      const X = x.slice(0, 20);
      const C = context.slice(0, 20);
      assert.deepEqual(globalThis.Array.from(loaded.logProb(X, C)), globalThis.Array.from(model.logProb(X, C)));
      assert.deepEqual(loaded.sample(10, { seed: 5, context: [2] }), model.sample(10, { seed: 5, context: [2] }));
    } finally {
      loaded.dispose();
    }
  } finally {
    model.dispose();
  }
});
