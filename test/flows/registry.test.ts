/**
 * Every ready-made flow, checked the same way on RANDOM params (every leaf perturbed except
 * batch-norm running statistics), by the library's own exactness check (src/check/, checkFlow: the
 * report users get from `checkFlow` and `nflow check`), plus gradients and context here:
 *  - round trip flow.inverse(flow.forward(z)) = z and back, float64 on cpu and float32 on wasm;
 *  - log-det of the whole bijector against log|det| of its autodiff Jacobian, both directions;
 *  - triangular Jacobians of every autoregressive layer;
 *  - the sampling path's log-density, log p_base(z) − log|det J_f(z)|, equals the density path's,
 *    log p_base(g(x)) + log|det J_g(x)|, at the sampled x;
 *  - in 2-D, exp(logProb) integrates to 1 over a grid covering the mass;
 *  - every trainable leaf gets a non-zero gradient from mean logProb;
 *  - conditional flows: logProb and samples depend on the context.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, grad } from "../../src/engine/jax.js";
import { fromValues, type FloatDType } from "../../src/engine/dtype.js";
import { keyFromSeed, normal } from "../../src/engine/random.js";
import { disposeTree, refTree, treeLeaves, treePaths } from "../../src/engine/tree.js";
import type { Flow, FlowParams } from "../../src/distributions/flow.js";
import { build } from "../../src/flows/build.js";
import type { FlowConfig } from "../../src/flows/config.js";
import { checkFlow, type CheckTolerances } from "../../src/check/index.js";
import { assertPasses, host, perturb } from "../support/checks.js";

type Variant = Omit<FlowConfig, "dim">;

/** float32 round trips of a few layers: 1e-4 (scaled by max(1, |v|)); log-det sums and density paths 1e-3. */
const FLOAT32: Partial<CheckTolerances> = { roundTrip: 1e-4, logDetSum: 1e-3, logProb: 1e-3 };

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

/**
 * ∫ exp(logProb) over a grid: the library's check (float64 on wasm, a jitted logProb on a 400 × 400
 * grid over the sample range widened by 40% on each side, |∫ p − 1| ≤ 2e-3).
 * `scale`: the params' perturbation. Splines get 0.1: at 0.3 their unbounded bin logits reach
 * ±10, bins shrink to the minimum width (0.004 at B = 2) with slopes up to ~10³, and a 200-point
 * grid (spacing 0.07) no longer resolves the density (measured: ∫ p between 0.988 and 1.002,
 * converging to 1 only on finer grids).
 */
function checkIntegral(flow: Flow, seed: number, scale = 0.3): void {
  // wasm: 160,000 float64 log-densities on the cpu device take minutes; wasm's float64 is exact too (docs/float64.md)
  const report = checkFlow(flow, { device: "wasm", seed, perturbScale: scale, points: 2, jacobian: "none", ...(flow.contextDim ? { context: [0.5, -1] } : {}) });
  assertPasses(report);
  assert.equal(report.checks.find((c) => c.id === "integral")?.status, "pass", "the integral was not computed");
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

      // float64 on cpu, the library's checkFlow (what users run): round trips, log-det sum, log-det vs
      // autodiff Jacobian both ways, triangular autoregressive layers, sampling vs density paths
      assertPasses(checkFlow(flow, { device: "cpu", seed: s, points: 8, integral: false }));
      // float32 on wasm: the same round trips and paths at float32 tolerances, gradients, context, ∫ p = 1
      assertPasses(checkFlow(flow, { device: "wasm", dtype: "float32", seed: s, jacobian: "none", integral: false, tolerances: FLOAT32 }));
      defaultDevice("wasm");
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
  assertPasses(checkFlow(flow, { device: "cpu", seed: s, points: 2, jacobianPoints: 1 }));
  assertPasses(checkFlow(flow, { device: "wasm", dtype: "float32", seed: s, jacobian: "none", tolerances: FLOAT32 }));
  defaultDevice("wasm");
  checkGradients(flow, "float32", s);
  defaultDevice("cpu");
});
