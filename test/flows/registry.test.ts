/**
 * Every ready-made flow, checked the same way on RANDOM params (every leaf perturbed except
 * batch-norm running statistics):
 *  - round trip flow.inverse(flow.forward(z)) = z and back, float64 on cpu and float32 on wasm;
 *  - log-det of the whole bijector against log|det| of its autodiff Jacobian (checkBijector);
 *  - the sampling path's log-density, log p_base(z) − log|det J_f(z)|, equals the density path's,
 *    log p_base(g(x)) + log|det J_g(x)|, at the sampled x;
 *  - in 2-D, exp(logProb) integrates to 1 over a grid covering the mass;
 *  - every trainable leaf gets a non-zero gradient from mean logProb;
 *  - conditional flows: logProb and samples depend on the context.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, grad, jit, type Array } from "../../src/engine/jax.js";
import { fromValues, type FloatDType } from "../../src/engine/dtype.js";
import { keyFromSeed, normal } from "../../src/engine/random.js";
import { disposeTree, refTree, treeLeaves, treePaths } from "../../src/engine/tree.js";
import type { Flow, FlowParams } from "../../src/distributions/flow.js";
import { build } from "../../src/flows/build.js";
import type { FlowConfig } from "../../src/flows/config.js";
import { checkBijector, host, perturb } from "../support/checks.js";
import { gridMass } from "../support/grid.js";

type Variant = Omit<FlowConfig, "dim">;

// Two layers still put a permutation / batch norm between layers; sizes are small because the
// float64 checks run on the exact but slow cpu device.
const SMALL = { layers: 2, hidden: [8, 8] };
const VARIANTS: Record<string, Variant> = {
  nice: { flow: "nice", ...SMALL },
  realnvp: { flow: "realnvp", ...SMALL },
  "realnvp+batchNorm": { flow: "realnvp", ...SMALL, batchNorm: true },
  maf: { flow: "maf", ...SMALL },
  "maf+MoG": { flow: "maf", ...SMALL, base: { kind: "mixture-of-gaussians", components: 3 } },
  iaf: { flow: "iaf", ...SMALL },
  "conditional realnvp": { flow: "realnvp", ...SMALL, contextDim: 2, mask: "alternating", permutation: "random" },
  "conditional maf": { flow: "maf", ...SMALL, contextDim: 2, batchNorm: true },
  "conditional iaf": { flow: "iaf", ...SMALL, contextDim: 2, permutation: "random" },
  "realnvp+LU mixing": { flow: "realnvp", ...SMALL, permutation: "lu" },
  "conditional maf+LU mixing": { flow: "maf", ...SMALL, contextDim: 2, permutation: "lu" },
  // bound 2: the random inputs fall both inside the spline's interval and in its identity tails
  "realnvp+spline": { flow: "realnvp", ...SMALL, transformer: "spline", bins: 4, bound: 2 },
  "maf+spline": { flow: "maf", ...SMALL, transformer: "spline", bins: 3, bound: 2 },
  "conditional iaf+spline": { flow: "iaf", ...SMALL, contextDim: 2, transformer: "spline", bins: 3, bound: 2 },
  // Glow's step: actnorm → mixing → coupling (random ActNorm params: its data initialisation is tested in glow-flows)
  "realnvp+actnorm+LU mixing": { flow: "realnvp", ...SMALL, actnorm: true, mixing: "lu" },
  "maf+actnorm": { flow: "maf", ...SMALL, actnorm: true },
  "conditional iaf+actnorm": { flow: "iaf", ...SMALL, contextDim: 2, actnorm: true },
};

/** Random params of a flow: every leaf perturbed except the state (batch-norm running stats). */
function randomParams(flow: Flow, dtype: FloatDType, seed: number, scale = 0.3): FlowParams {
  return perturb(flow.init(keyFromSeed(seed), dtype), seed + 1000, scale, (path) => flow.stateLeaves.includes(path));
}

function randn(shape: number[], dtype: FloatDType, seed: number): number[] {
  return host(normal(keyFromSeed(seed), shape, dtype));
}

function maxAbsDiff(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

/** z → x → z and x → z → x through the Flow's own forward/inverse (full params tree). */
function checkRoundTrip(flow: Flow, dtype: FloatDType, tol: number, seed: number): void {
  const n = 16;
  const D = flow.dim;
  const K = flow.contextDim;
  const p = randomParams(flow, dtype, seed);
  const zs = randn([n, D], dtype, seed + 1);
  const cs = K ? randn([n, K], dtype, seed + 2) : undefined;
  const ctx = () => (cs ? fromValues(cs, [n, K], dtype) : undefined);
  const fwd = flow.forward(refTree(p), fromValues(zs, [n, D], dtype), ctx());
  const xs = host(fwd.y);
  const inv = flow.inverse(refTree(p), fwd.y, ctx());
  const zBack = host(inv.y);
  const ldSum = host(fwd.logDet.add(inv.logDet));
  inv.y.dispose();
  assert.ok(maxAbsDiff(zBack, zs) <= tol, `${flow.bijector.kind} ${dtype}: z→x→z error ${maxAbsDiff(zBack, zs)}`);
  assert.ok(ldSum.every((v) => Math.abs(v) <= tol * 10), `forward + inverse log-dets not 0: ${ldSum}`);
  const inv2 = flow.inverse(refTree(p), fromValues(xs, [n, D], dtype), ctx());
  inv2.logDet.dispose();
  const fwd2 = flow.forward(refTree(p), inv2.y, ctx());
  fwd2.logDet.dispose();
  const xBack = host(fwd2.y);
  fwd2.y.dispose();
  const scale = Math.max(1, ...xs.map(Math.abs));
  assert.ok(maxAbsDiff(xBack, xs) <= tol * scale, `${dtype}: x→z→x error ${maxAbsDiff(xBack, xs)}`);
  disposeTree(p);
}

/** Density from the sampling direction equals density from the normalising direction. */
function checkSampleLogProb(flow: Flow, seed: number): void {
  const n = 8;
  const K = flow.contextDim;
  const p = randomParams(flow, "float64", seed);
  const cs = K ? randn([n, K], "float64", seed + 3) : undefined;
  const ctx = () => (cs ? fromValues(cs, [n, K], "float64") : undefined);
  const r = flow.sampleAndLogProb(refTree(p), keyFromSeed(seed + 4), n, ctx());
  assert.equal(String(r.x.dtype), "float64");
  assert.deepEqual(r.x.shape, [n, flow.dim]);
  const viaSampling = host(r.logProb);
  const viaDensity = host(flow.logProb(refTree(p), r.x, ctx()));
  assert.ok(viaSampling.every(Number.isFinite));
  assert.ok(maxAbsDiff(viaSampling, viaDensity) <= 1e-9, `sampling vs density log p: ${maxAbsDiff(viaSampling, viaDensity)}`);
  disposeTree(p);
}

/**
 * ∫ exp(logProb) over a grid (wasm, float64 arrays, jitted, four batches of 10,000 points). The
 * box is the sample range widened by 40% on each side, so the mass left outside is negligible.
 * `scale`: the params' perturbation. Splines get 0.1: at 0.3 their unbounded bin logits reach
 * ±10, bins shrink to the minimum width (0.004 at B = 2) with slopes up to ~10³, and a 200-point
 * grid (spacing 0.07) no longer resolves the density (measured: ∫ p between 0.988 and 1.002,
 * converging to 1 only on finer grids).
 */
function checkIntegral(flow: Flow, seed: number, scale = 0.3): void {
  defaultDevice("wasm");
  const p = randomParams(flow, "float64", seed, scale);
  const ctxRow = [0.5, -1];
  const K = flow.contextDim;
  const ctx = (n: number) => (K ? fromValues(globalThis.Array.from({ length: n }, () => ctxRow).flat(), [n, K], "float64") : undefined);
  const ns = 4000;
  const xs = host(flow.sample(refTree(p), keyFromSeed(seed + 5), ns, ctx(ns)));
  const box: number[] = [];
  for (let d = 0; d < 2; d++) {
    const col = xs.filter((_, i) => i % 2 === d);
    const lo = Math.min(...col);
    const hi = Math.max(...col);
    box.push(lo - 0.4 * (hi - lo), hi + 0.4 * (hi - lo));
  }
  // jit takes no undefined arguments: one version with a context, one without.
  const withContext = jit((q: FlowParams, x: Array, c: Array) => flow.logProb(q, x, c));
  const withoutContext = jit((q: FlowParams, x: Array) => flow.logProb(q, x));
  const logProb = (x: Array) => (K ? withContext(refTree(p), x, ctx(x.shape[0]!)!) : withoutContext(refTree(p), x));
  const { mass, nonFinite } = gridMass(logProb, {
    box: box as [number, number, number, number],
    points: 200,
    dtype: "float64",
    batch: 10000,
  });
  withContext.dispose();
  withoutContext.dispose();
  disposeTree(p);
  defaultDevice("cpu");
  assert.equal(nonFinite, 0);
  assert.ok(Math.abs(mass - 1) < 1e-3, `∫ p = ${mass} over [${box.map((b) => b.toFixed(2)).join(", ")}]`);
}

/** Every trainable leaf gets a non-zero, finite gradient from mean logProb. */
function checkGradients(flow: Flow, dtype: FloatDType, seed: number): void {
  const n = 64;
  const D = flow.dim;
  const K = flow.contextDim;
  const p = randomParams(flow, dtype, seed);
  const xs = randn([n, D], dtype, seed + 6);
  const cs = K ? randn([n, K], dtype, seed + 7) : undefined;
  const loss = (q: FlowParams) =>
    flow.logProb(q, fromValues(xs, [n, D], dtype), cs ? fromValues(cs, [n, K], dtype) : undefined).mean();
  const g = grad(loss)(refTree(p));
  const paths = treePaths(g);
  const trainable = paths.filter((path) => !flow.stateLeaves.includes(path));
  assert.ok(trainable.length > 0);
  treeLeaves(g).forEach((leaf, i) => {
    if (flow.stateLeaves.includes(paths[i]!)) return;
    const v = host(leaf);
    assert.ok(v.every(Number.isFinite), `gradient of ${paths[i]} not finite`);
    assert.ok(v.some((x) => x !== 0), `gradient of ${paths[i]} is zero`);
  });
  disposeTree(g);
  disposeTree(p);
}

/** Conditional flows: the context changes both the density and the samples. */
function checkContextMatters(flow: Flow, dtype: FloatDType, seed: number): void {
  const n = 8;
  const D = flow.dim;
  const K = flow.contextDim;
  const p = randomParams(flow, dtype, seed);
  const xs = randn([n, D], dtype, seed + 8);
  const c1 = randn([n, K], dtype, seed + 9);
  const c2 = c1.map((v) => v + 1);
  const lp = (c: number[]) => host(flow.logProb(refTree(p), fromValues(xs, [n, D], dtype), fromValues(c, [n, K], dtype)));
  assert.ok(maxAbsDiff(lp(c1), lp(c2)) > 1e-3, "logProb does not depend on the context");
  const sample = (c: number[]) => host(flow.sample(refTree(p), keyFromSeed(seed + 10), n, fromValues(c, [n, K], dtype)));
  assert.ok(maxAbsDiff(sample(c1), sample(c2)) > 1e-3, "samples do not depend on the context");
  disposeTree(p);
}

let seed = 1;
for (const D of [2, 4]) {
  for (const [name, variant] of Object.entries(VARIANTS)) {
    const s = (seed += 100);
    test(`${name}, D = ${D}`, () => {
      const { flow } = build({ ...variant, dim: D });
      const stateOfBijector = (path: string) => flow.stateLeaves.includes(`bijector.${path}`);

      // float64 on cpu: exact round trips, log-det vs Jacobian, sampling vs density paths
      defaultDevice("cpu");
      checkBijector(flow.bijector, {
        dtype: "float64",
        n: 8,
        roundTripTol: 1e-10,
        logDetTol: 1e-9,
        jacobianSamples: 2,
        seed: s,
        skipPerturb: stateOfBijector,
      });
      checkSampleLogProb(flow, s);

      // float32 on wasm: the Flow's own round trip, gradients, context, and the integral
      defaultDevice("wasm");
      checkRoundTrip(flow, "float32", 1e-4, s);
      checkGradients(flow, "float32", s);
      if (flow.contextDim) checkContextMatters(flow, "float32", s);
      if (D === 2) checkIntegral(flow, s, variant.transformer === "spline" ? 0.1 : 0.3);
      defaultDevice("cpu");
    });
  }
}

test("the registry covers every family, a batch-norm and a MoG variant, and conditional flows", () => {
  const built = Object.values(VARIANTS).map((v) => build({ ...v, dim: 2 }).flow);
  // leaf layers, looking inside compositions (Chain, CouplingStack: both expose `layers`)
  type Node = { kind: string; layers?: readonly Node[] };
  const leaves = (b: Node): Node[] => (b.layers ? b.layers.flatMap(leaves) : [b]);
  const kinds = new Set(built.flatMap((f) => leaves(f.bijector as unknown as Node).map((l) => l.kind)));
  for (const k of ["additive-coupling", "affine-coupling", "masked-autoregressive", "inverse-autoregressive", "batch-norm", "rescale", "permutation", "linear", "spline-coupling", "actnorm"])
    assert.ok(kinds.has(k), `no ${k} in the registry`);
  assert.ok(built.some((f) => f.base.kind === "mixture-of-gaussians"));
  assert.equal(built.filter((f) => f.contextDim === 2).length, 6);
  assert.ok(built.some((f) => f.stateLeaves.length > 0));
});

test("image realnvp with actnorm and invertible 1×1 convolutions on a 2×2×2 image (Glow's step; one scale, so the Jacobian stays small)", () => {
  const { flow } = build({ flow: "realnvp", image: [2, 2, 2], layers: 1, hidden: [2], scales: 1, actnorm: true, mixing: "lu", logit: null });
  type Node = { kind: string; layers?: readonly Node[] };
  const leaves = (b: Node): Node[] => (b.layers ? b.layers.flatMap(leaves) : [b]);
  const kinds = leaves(flow.bijector as unknown as Node).map((l) => l.kind);
  assert.deepEqual(kinds, ["image-affine-coupling", "conv1x1", "actnorm", "image-affine-coupling", "conv1x1", "actnorm"]);
  const s = 7001;
  defaultDevice("cpu");
  checkBijector(flow.bijector, {
    dtype: "float64",
    n: 2,
    roundTripTol: 1e-10,
    logDetTol: 1e-9,
    jacobianSamples: 1,
    seed: s,
    skipPerturb: (path) => flow.stateLeaves.includes(`bijector.${path}`),
  });
  checkSampleLogProb(flow, s);
  defaultDevice("wasm");
  checkRoundTrip(flow, "float32", 1e-4, s);
  checkGradients(flow, "float32", s);
  defaultDevice("cpu");
});
