/**
 * What build(config) assembles: defaults, layer order (forward, z → x), masks, permutations,
 * batch norm placement, bases, context reaching every conditioner; normalizeConfig idempotence.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { countParams, treeLeaves } from "../../src/engine/tree.js";
import type { Bijector } from "../../src/bijectors/bijector.js";
import type { Chain } from "../../src/bijectors/chain.js";
import type { Coupling } from "../../src/bijectors/coupling.js";
import type { Permutation } from "../../src/bijectors/permutation.js";
import type { Flow } from "../../src/distributions/flow.js";
import { UniformBox } from "../../src/distributions/uniform-box.js";
import { MixtureOfGaussians } from "../../src/distributions/mixture-of-gaussians.js";
import { build, describe, normalizeConfig } from "../../src/flows/build.js";
import { host } from "../support/checks.js";

function layers(flow: Flow): readonly Bijector[] {
  return (flow.bijector as Chain).layers;
}
const kinds = (flow: Flow) => layers(flow).map((l) => l.kind);

test("normalizeConfig fills every default, copies its input and is idempotent", () => {
  const input = { flow: "maf", dim: 3, layers: 2, hidden: [4] };
  const c = normalizeConfig(input);
  assert.deepEqual(c, {
    flow: "maf",
    dim: 3,
    layers: 2,
    hidden: [4],
    activation: "relu",
    mask: "half",
    permutation: "reverse",
    batchNorm: false,
    base: { kind: "standard-normal" },
    contextDim: 0,
    scaleBound: 3,
    rescale: false,
    seed: 0,
    dtype: "float32",
    image: null,
    logit: null,
    conditioner: "mlp",
    scales: 2,
  });
  assert.notEqual(c.hidden, input.hidden);
  assert.deepEqual(normalizeConfig(c), c);
  assert.deepEqual(normalizeConfig(JSON.parse(JSON.stringify(c))), c);
  const nice = normalizeConfig({ flow: "nice", dim: 2, layers: 1, hidden: [4] });
  assert.equal(nice.permutation, "none");
  assert.equal(nice.rescale, true);
  const uniform = normalizeConfig({ flow: "iaf", dim: 2, layers: 1, hidden: [4], base: { kind: "uniform", low: [0, -1], high: [1, 1] } });
  assert.deepEqual(uniform.base, { kind: "uniform", low: [0, -1], high: [1, 1] });
  assert.deepEqual(normalizeConfig(uniform), uniform);
});

test("nice: Rescale at the base end, additive couplings with masks flipping every layer", () => {
  const { flow } = build({ flow: "nice", dim: 3, layers: 3, hidden: [4] });
  assert.deepEqual(kinds(flow), ["rescale", "additive-coupling", "additive-coupling", "additive-coupling"]);
  const masks = layers(flow).slice(1).map((l) => (l as Coupling).mask);
  assert.deepEqual(masks, [[true, true, false], [false, false, true], [true, true, false]]);
  const alternating = build({ flow: "nice", dim: 4, layers: 2, hidden: [4], mask: "alternating", rescale: false }).flow;
  assert.deepEqual(kinds(alternating), ["additive-coupling", "additive-coupling"]);
  assert.deepEqual(layers(alternating).map((l) => (l as Coupling).mask), [[true, false, true, false], [false, true, false, true]]);
});

test("realnvp: batch norm and permutations go between couplings; with a permutation the mask stays fixed", () => {
  const bn = build({ flow: "realnvp", dim: 2, layers: 3, hidden: [4], batchNorm: true }).flow;
  assert.deepEqual(kinds(bn), ["affine-coupling", "batch-norm", "affine-coupling", "batch-norm", "affine-coupling"]);
  assert.deepEqual(bn.stateLeaves, [
    "bijector.layers.1.runningMean",
    "bijector.layers.1.runningVar",
    "bijector.layers.3.runningMean",
    "bijector.layers.3.runningVar",
  ]);
  const perm = build({ flow: "realnvp", dim: 4, layers: 2, hidden: [4], permutation: "reverse", batchNorm: true }).flow;
  assert.deepEqual(kinds(perm), ["affine-coupling", "permutation", "batch-norm", "affine-coupling"]);
  assert.deepEqual((layers(perm)[0] as Coupling).mask, (layers(perm)[3] as Coupling).mask);
  assert.deepEqual((layers(perm)[1] as Permutation).order, [3, 2, 1, 0]);
});

test("maf / iaf: reverse permutation by default, seeded random permutations, none", () => {
  assert.deepEqual(kinds(build({ flow: "maf", dim: 3, layers: 3, hidden: [4] }).flow), [
    "masked-autoregressive",
    "permutation",
    "masked-autoregressive",
    "permutation",
    "masked-autoregressive",
  ]);
  assert.deepEqual(kinds(build({ flow: "iaf", dim: 3, layers: 2, hidden: [4], batchNorm: true }).flow), [
    "inverse-autoregressive",
    "permutation",
    "batch-norm",
    "inverse-autoregressive",
  ]);
  assert.deepEqual(kinds(build({ flow: "maf", dim: 3, layers: 2, hidden: [4], permutation: "none" }).flow), [
    "masked-autoregressive",
    "masked-autoregressive",
  ]);
  const orders = (seed: number) =>
    layers(build({ flow: "maf", dim: 8, layers: 3, hidden: [4], permutation: "random", seed }).flow)
      .filter((l) => l.kind === "permutation")
      .map((l) => (l as Permutation).order);
  assert.deepEqual(orders(5), orders(5));
  assert.notDeepEqual(orders(5), orders(6));
  assert.notDeepEqual(orders(5)[0], orders(5)[1]);
  // a 1-D autoregressive flow is allowed (a conditional density of one variable) and has no permutations
  assert.deepEqual(kinds(build({ flow: "maf", dim: 1, layers: 2, hidden: [4], contextDim: 2 }).flow), [
    "masked-autoregressive",
    "masked-autoregressive",
  ]);
});

test("contextDim reaches every conditioner; bases are built from the config", () => {
  for (const flowKind of ["nice", "realnvp", "maf", "iaf"] as const) {
    const { flow } = build({ flow: flowKind, dim: 3, layers: 2, hidden: [4], contextDim: 2, batchNorm: flowKind !== "nice" });
    assert.equal(flow.contextDim, 2);
    for (const l of layers(flow))
      if (!["rescale", "permutation", "batch-norm"].includes(l.kind)) assert.equal(l.contextDim, 2, `${flowKind}: ${l.kind}`);
  }
  const mog = build({ flow: "maf", dim: 2, layers: 1, hidden: [4], base: { kind: "mixture-of-gaussians", components: 5 } }).flow;
  assert.ok(mog.base instanceof MixtureOfGaussians && mog.base.components === 5);
  const uni = build({ flow: "realnvp", dim: 2, layers: 1, hidden: [4], base: { kind: "uniform", low: [0, 0], high: [2, 3] } }).flow;
  assert.ok(uni.base instanceof UniformBox);
  assert.deepEqual([uni.base.low, uni.base.high], [[0, 0], [2, 3]]);
  assert.equal(build({ flow: "nice", dim: 2, layers: 1, hidden: [4], base: { kind: "diag-normal" } }).flow.base.kind, "diag-normal");
  assert.equal(build({ flow: "nice", dim: 2, layers: 1, hidden: [4] }).flow.base.kind, "standard-normal");
});

test("a freshly built flow (no batch norm) starts as the identity: logProb is the base's", () => {
  defaultDevice("cpu");
  const xs = [0.3, -1.2, 2, 0.5, -0.7, 0.1];
  for (const flowKind of ["nice", "realnvp", "maf", "iaf"] as const) {
    const { flow, config } = build({ flow: flowKind, dim: 2, layers: 2, hidden: [4], dtype: "float64" });
    const p = flow.init(keyFromSeed(config.seed), config.dtype);
    assert.ok(treeLeaves(p).every((l) => String(l.dtype) === "float64"));
    assert.ok(countParams(p) > 0);
    const lp = host(flow.logProb(p, fromValues(xs, [3, 2], "float64")));
    for (let i = 0; i < 3; i++) {
      const ref = -0.5 * (xs[2 * i]! ** 2 + xs[2 * i + 1]! ** 2) - Math.log(2 * Math.PI);
      assert.ok(Math.abs(lp[i]! - ref) < 1e-12, `${flowKind}: ${lp[i]} vs ${ref}`);
    }
  }
});

test("describe summarises the architecture", () => {
  const text = describe({ flow: "maf", dim: 4, layers: 5, hidden: [64, 64], batchNorm: true, contextDim: 3, base: { kind: "mixture-of-gaussians", components: 10 } });
  assert.match(text, /^maf, D = 4: 5 × masked-autoregressive \(hidden \[64, 64\], relu, log-scale bound 3\)/);
  assert.match(text, /between layers: reverse permutation, batch norm/);
  assert.match(text, /mixture-of-gaussians \(10 components\)/);
  assert.match(text, /conditional \(context size 3\)/);
  assert.match(text, /sampling: sequential .*; density: parallel/);
  const nice = describe({ flow: "nice", dim: 2, layers: 4, hidden: [8] });
  assert.match(nice, /additive-coupling .*half mask, flipped every layer/);
  assert.match(nice, /rescale/);
  assert.match(nice, /unconditional; float32/);
  assert.match(describe({ flow: "iaf", dim: 2, layers: 1, hidden: [8] }), /sampling: parallel; density: sequential/);
});
