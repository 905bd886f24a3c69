/**
 * The ready-made image flows from the one config format: RealNVP's multi-scale architecture
 * (C5's shape), NICE on images (C6's shape, logistic base) and (class-conditional) MAF on
 * flattened images, checked against the mathematics on small images, plus their sizes at full
 * MNIST scale, their identity/reordering at initialisation, and that tiny ones learn.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { keyFromSeed, hostRng } from "../../src/engine/random.js";
import { countParams, disposeTree, refTree } from "../../src/engine/tree.js";
import { ConfigError } from "../../src/engine/errors.js";
import { build, describe, normalizeConfig } from "../../src/flows/build.js";
import type { FlowConfig } from "../../src/flows/config.js";
import { trainFlow } from "../../src/train/fit.js";
import { makeEvaluator, meanAndStdError } from "../../src/train/evaluate.js";
import { dequantizeSeeded } from "../../src/data/dequantize.js";
import { checkBijector, host } from "../support/checks.js";

type Node = { kind: string; layers?: readonly Node[]; inner?: Node; inverse?: unknown; bijector?: Node; shape?: readonly number[] };
/** Leaf layers in NORMALISING order (data → noise), looking inside chains, factor-outs and inverts. */
function normalisingKinds(b: Node): string[] {
  if (b.layers) return [...b.layers].reverse().flatMap(normalisingKinds);
  if (b.kind === "factor-out") return ["factor-out", ...normalisingKinds(b.inner!)];
  if (b.kind.startsWith("invert") && b.bijector) return [`invert(${b.bijector.kind})`];
  return [b.kind];
}

test("image realnvp: C5's layer sequence (3 checkerboard, squeeze, 3 channel, factor-out, 4 checkerboard) and its parameter count at 28×28", () => {
  const c5 = build({ flow: "realnvp", image: [1, 28, 28], layers: 3, hidden: [32, 32] });
  assert.equal(c5.config.dim, 784);
  assert.equal(c5.config.logit, 0.05);
  assert.equal(c5.config.conditioner, "resnet");
  const kinds = normalisingKinds(c5.flow.bijector as unknown as Node);
  assert.deepEqual(kinds, [
    "invert(logit)",
    ...Array(3).fill("image-affine-coupling"),
    "squeeze",
    ...Array(3).fill("image-affine-coupling"),
    "factor-out",
    ...Array(4).fill("image-affine-coupling"),
  ]);
  const p = c5.flow.init(keyFromSeed(0));
  assert.equal(countParams(p), 384_979, "CONFIGS-IMAGES.md C5: 384,979 parameters");
  disposeTree(p);
  assert.match(describe(c5.config), /2 scales of 3 checkerboard/);
  assert.throws(() => build({ flow: "realnvp", image: [1, 28, 28], layers: 3, hidden: [32, 32], scales: 4 }), (e: Error) => e instanceof ConfigError && /divisible by 8/.test(e.message));
  assert.throws(() => build({ flow: "realnvp", image: [1, 28, 28], layers: 3, hidden: [32, 16] }), /all the same number of feature maps/);
  assert.throws(() => build({ flow: "realnvp", image: [2, 4, 4], layers: 1, hidden: [2], scales: 3 }), /1×1 pixels, too small/);
  assert.throws(() => build({ flow: "maf", image: [1, 4, 4], layers: 1, hidden: [8], conditioner: "resnet" }), /needs a realnvp on images/);
  assert.throws(() => build({ flow: "realnvp", dim: 10, image: [1, 4, 4], layers: 1, hidden: [8] }), /expected 16 = C·H·W/);
});

test("image nice: C6's shape (4 additive couplings, even pixels condition first, rescale, logistic base) and its parameter count", () => {
  const c6 = build({ flow: "nice", image: [1, 28, 28], layers: 4, hidden: [1000, 1000, 1000, 1000] });
  assert.equal(c6.config.base.kind, "standard-logistic");
  assert.equal(c6.config.logit, null);
  assert.equal(c6.config.mask, "alternating");
  const p = c6.flow.init(keyFromSeed(0));
  assert.equal(countParams(p), 15_154_352, "CONFIGS-IMAGES.md C6: 15,154,352 parameters");
  disposeTree(p);
  // the coupling the data meets first (the last in forward order) has the unflipped mask: even pixels pass
  type Layer = { kind: string; mask?: boolean[]; layers?: Layer[] };
  const top = c6.flow.bijector as unknown as Layer;
  const leaves = (l: Layer): Layer[] => (l.layers ? l.layers.flatMap(leaves) : [l]);
  const flat = leaves(top).filter((l) => l.mask) as { mask: boolean[] }[];
  assert.equal(flat.length, 4);
  assert.deepEqual(flat.map((l) => l.mask[0]), [false, true, false, true], "forward order: parities 1,0,1,0 from the data side 0,1,0,1");
});

test("image realnvp at 4×4 ([1,4,4] → [4,2,2] → [2,2,2]), class-conditional, and with 3 scales: round trip, log-det vs the 16×16 autodiff Jacobian, float64", () => {
  defaultDevice("cpu");
  const configs: FlowConfig[] = [
    { flow: "realnvp", image: [1, 4, 4], layers: 3, hidden: [3, 3] },
    { flow: "realnvp", image: [1, 4, 4], layers: 1, hidden: [2], contextDim: 2, logit: null },
    { flow: "realnvp", image: [1, 8, 4], layers: 1, hidden: [2], scales: 3 },
    { flow: "realnvp", image: [1, 4, 4], layers: 2, hidden: [2], batchNorm: true },
  ];
  for (const [i, cfg] of configs.entries()) {
    const { flow } = build(cfg);
    const state = (path: string): boolean => flow.stateLeaves.includes(`bijector.${path}`);
    checkBijector(flow.bijector, { dtype: "float64", n: 4, roundTripTol: 1e-9, logDetTol: 1e-8, jacobianSamples: 2, seed: 80 + i, perturbScale: 0.2, skipPerturb: state });
  }
});

test("image realnvp at initialisation is a pure reordering of y = logit(α + (1 − 2α)x): log p(x) = log N(y) + log|dy/dx|", () => {
  defaultDevice("cpu");
  const { flow } = build({ flow: "realnvp", image: [1, 4, 4], layers: 3, hidden: [3, 3] });
  const p = flow.init(keyFromSeed(0), "float64");
  const rng = hostRng(4);
  const xs = Array.from({ length: 3 * 16 }, () => rng());
  const lp = host(flow.logProb(refTree(p), fromValues(xs, [3, 16], "float64")));
  const z = host(flow.inverse(refTree(p), fromValues(xs, [3, 16], "float64")).y);
  const a = 0.05;
  for (let r = 0; r < 3; r++) {
    let want = -8 * Math.log(2 * Math.PI);
    const ys: number[] = [];
    for (let d = 0; d < 16; d++) {
      const s = a + (1 - 2 * a) * xs[r * 16 + d]!;
      const y = Math.log(s / (1 - s));
      ys.push(y);
      want += -0.5 * y * y + Math.log(1 - 2 * a) - Math.log(s) - Math.log(1 - s);
    }
    assert.ok(Math.abs(lp[r]! - want) < 1e-10, `row ${r}: ${lp[r]} vs ${want}`);
    const sorted = (v: number[]): number[] => v.slice().sort((a, b) => a - b);
    const zr = sorted(z.slice(r * 16, r * 16 + 16));
    sorted(ys).forEach((y, k) => assert.ok(Math.abs(zr[k]! - y) < 1e-12, "z is a permutation of y"));
  }
  disposeTree(p);
});

test("image nice at initialisation: log p(x) is the logistic log-density of x", () => {
  defaultDevice("cpu");
  const { flow } = build({ flow: "nice", image: [1, 4, 4], layers: 4, hidden: [8, 8] });
  const p = flow.init(keyFromSeed(0), "float64");
  const xs = Array.from({ length: 32 }, (_, i) => Math.sin(i) * 3);
  const lp = host(flow.logProb(p, fromValues(xs, [2, 16], "float64")));
  for (let r = 0; r < 2; r++) {
    const want = xs.slice(r * 16, r * 16 + 16).reduce((acc, z) => acc - Math.log1p(Math.exp(z)) - Math.log1p(Math.exp(-z)), 0);
    assert.ok(Math.abs(lp[r]! - want) < 1e-12);
  }
});

/** Tiny "digits": 4×4 byte images, bright on one diagonal, dark elsewhere, with label = parity. */
function tinyImages(n: number, seed: number): { x: Float64Array; labels: Float64Array } {
  const rng = hostRng(seed);
  const x = new Float64Array(n * 16);
  const labels = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    const k = i % 2;
    labels[i * 2 + k] = 1;
    for (let d = 0; d < 16; d++) {
      const [r, c] = [Math.floor(d / 4), d % 4];
      const on = k === 0 ? r === c : r + c === 3;
      x[i * 16 + d] = Math.min(255, Math.max(0, Math.round((on ? 220 : 20) + 30 * (rng() - 0.5))));
    }
  }
  return { x, labels };
}

test("a tiny multi-scale realnvp (with and without batch norm) and a tiny class-conditional maf learn dequantised 4×4 images in a few dozen steps", async () => {
  defaultDevice("wasm");
  const train = tinyImages(256, 1);
  const val = tinyImages(64, 2);
  for (const cfg of [
    { flow: "realnvp" as const, image: [1, 4, 4] as [number, number, number], layers: 1, hidden: [8], context: false },
    { flow: "realnvp" as const, image: [1, 4, 4] as [number, number, number], layers: 2, hidden: [4], batchNorm: true, context: false },
    { flow: "maf" as const, image: [1, 4, 4] as [number, number, number], layers: 2, hidden: [32], contextDim: 2, base: { kind: "conditional-diag-normal" as const }, context: true },
  ]) {
    const { context, ...config } = cfg;
    const { flow } = build(config);
    const rows = (d: { x: Float64Array; labels: Float64Array }, n: number) => ({ x: d.x, n, dim: 16, ...(context ? { context: d.labels } : {}) });
    const r = await trainFlow(flow, flow.init(keyFromSeed(0)), rows(train, 256), {
      steps: 60, lr: 3e-3, batchSize: 64, evalEvery: 60, validation: rows(val, 64), dequantize: { kind: "uniform", levels: 256 },
    });
    const [first, last] = [r.history[0]!.valLoss!, r.history.at(-1)!.valLoss!];
    assert.ok(last < first - 3, `${cfg.flow}: validation NLL ${first} → ${last}`);
    if (context) {
      // the label matters: each image is more likely under its own class
      const ev = makeEvaluator(flow);
      const x = dequantizeSeeded(val.x, 256, 9);
      const own = await ev.logProbs(r.params, { x, n: 64, dim: 16, context: val.labels });
      const swapped = val.labels.map((_, i) => val.labels[i % 2 === 0 ? i + 1 : i - 1]!);
      const other = await ev.logProbs(r.params, { x, n: 64, dim: 16, context: swapped });
      assert.ok(meanAndStdError(own).mean > meanAndStdError(other).mean + 1, "class-conditional model ignores the label");
      ev.dispose();
    }
    disposeTree(r.params);
  }
});

test("normalizeConfig: image fields default per family and round-trip", () => {
  const c = normalizeConfig({ flow: "maf", image: [1, 28, 28], layers: 5, hidden: [1024] });
  assert.equal(c.dim, 784);
  assert.equal(c.logit, 1e-6);
  assert.equal(c.conditioner, "mlp");
  assert.deepEqual(normalizeConfig(c), c);
  const v = normalizeConfig({ flow: "realnvp", dim: 2, layers: 2, hidden: [4] });
  assert.equal(v.image, null);
  assert.equal(v.logit, null);
  assert.throws(() => normalizeConfig({ flow: "realnvp", image: [1, 0, 4], layers: 1, hidden: [4] }), /image: expected \[channels, height, width\]/);
  assert.throws(() => normalizeConfig({ flow: "realnvp", image: [3, 1e6, 1e6], layers: 1, hidden: [4] }), /values per image, more than/);
  assert.throws(() => normalizeConfig({ flow: "maf", dim: 4, layers: 1, hidden: [4], logit: 0.7 }), /logit: expected null/);
});
