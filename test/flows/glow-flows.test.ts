/**
 * Glow's layers inside flows built from a config: the one data-dependent initialisation pass
 * (every ActNorm's output has zero mean and unit variance on the batch, in the order the
 * normalising direction visits them), that it happens once (trainFlow initialises fresh params,
 * a second run and a loaded model keep theirs), that it is saved, and a small image realnvp with
 * actnorm and 1×1 convolutions (round trips; the Jacobian of a 2×2×2 one is in the registry).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { keyFromSeed, normal } from "../../src/engine/random.js";
import { disposeTree, getPath, mapTree, refTree, treePaths, treeToHost } from "../../src/engine/tree.js";
import { build } from "../../src/flows/build.js";
import type { FlowConfig } from "../../src/flows/config.js";
import type { Flow, FlowParams } from "../../src/distributions/flow.js";
import { dataInitializedLayers, initializeFromData, needsDataInitialization } from "../../src/distributions/data-init.js";
import { trainFlow } from "../../src/train/fit.js";
import { fit } from "../../src/model/fit.js";
import { FlowModel } from "../../src/model/model.js";
import { sampleToy } from "../../src/data/toys.js";
import { checkBijector, host } from "../support/checks.js";

/** Per-column (vectors) or per-channel (images [C, P]) mean and variance of a row-major batch. */
function moments(v: number[], n: number, channels: number, pixels: number): { mean: number[]; variance: number[] } {
  const out = { mean: [] as number[], variance: [] as number[] };
  for (let c = 0; c < channels; c++) {
    const vals: number[] = [];
    for (let i = 0; i < n; i++) for (let q = 0; q < pixels; q++) vals.push(v[i * channels * pixels + c * pixels + q]!);
    const m = vals.reduce((s, a) => s + a, 0) / vals.length;
    out.mean.push(m);
    out.variance.push(vals.reduce((s, a) => s + (a - m) ** 2, 0) / vals.length);
  }
  return out;
}

function batch(n: number, D: number, seed: number, scale = 1, shift = 0): number[] {
  return host(normal(keyFromSeed(seed), [n, D], "float64")).map((v, i) => shift + scale * v * (1 + (i % D)) + (i % D));
}

const flags = (flow: Flow, p: FlowParams): number[] => dataInitializedLayers(flow).map((l) => host(getPath(p, `${l}.initialized`))[0]!);

test("initializeFromData: every ActNorm of a realnvp with LU mixing leaves the batch with zero mean and unit variance, in order", () => {
  defaultDevice("cpu");
  const { flow } = build({ flow: "realnvp", dim: 3, layers: 3, hidden: [8], actnorm: true, mixing: "lu", dtype: "float64" });
  // forward order: C0 · LU · A · C1 · LU · A · C2 · A; the normalising direction meets A first
  const kinds = (flow.bijector as unknown as { layers: { kind: string }[] }).layers.map((l) => l.kind);
  assert.deepEqual(kinds, ["affine-coupling", "linear", "actnorm", "affine-coupling", "linear", "actnorm", "affine-coupling", "actnorm"]);
  const p0 = flow.init(keyFromSeed(0), "float64");
  assert.equal(needsDataInitialization(flow, p0), true);
  assert.deepEqual(flags(flow, p0), [0, 0, 0]);
  const n = 128;
  const xs = batch(n, 3, 4, 2, 5);
  const p = initializeFromData(flow, p0, fromValues(xs, [n, 3], "float64"));
  assert.deepEqual(flags(flow, p), [1, 1, 1]);
  assert.equal(needsDataInitialization(flow, p), false);
  const r = flow.inverse(refTree(p), fromValues(xs, [n, 3], "float64"), undefined, { intermediates: true });
  // intermediates in the normalising order: x, after A(7), after C2, after A(5), after LU, after C1, after A(2), …
  for (const k of [1, 3, 6]) {
    const { mean, variance } = moments(host(r.intermediates![k]!), n, 3, 1);
    mean.forEach((m) => assert.ok(Math.abs(m) < 1e-12, `after the ActNorm at intermediate ${k}: mean ${m}`));
    variance.forEach((v) => assert.ok(Math.abs(v - 1) < 1e-5, `after the ActNorm at intermediate ${k}: variance ${v}`));
  }
  disposeTree([r.y, r.logDet, ...r.intermediates!]);
  // an initialised flow is left as it is
  const before = treeToHost(p);
  const again = initializeFromData(flow, p, fromValues(batch(n, 3, 9, 5, -3), [n, 3], "float64"));
  const after = treeToHost(again);
  for (const path of Object.keys(before)) assert.deepEqual(after[path]!.data, before[path]!.data, path);
  disposeTree(again);
});

test("trainFlow initialises once: a second run and a reloaded model keep the params; the flag and values are saved", async () => {
  defaultDevice("wasm");
  const x = sampleToy("moons", 600, 3);
  const config: FlowConfig = { flow: "maf", dim: 2, layers: 2, hidden: [8], actnorm: true, batchNorm: true };
  const { flow } = build(config);
  const p0 = flow.init(keyFromSeed(0), "float32");
  const r1 = await trainFlow(flow, p0, { x, n: 600, dim: 2 }, { steps: 0, batchSize: 200, validationFraction: 0 });
  assert.deepEqual(flags(flow, r1.params), [1, 1]);
  const paths = dataInitializedLayers(flow);
  const loc = (p: FlowParams): number[] => host(getPath(p, `${paths[paths.length - 1]}.loc`));
  // the data-end ActNorm took the first batch's scale: near the moons' standard deviations (1.74, 0.99)
  const scale = host(getPath(r1.params, `${paths[paths.length - 1]}.logScale`)).map(Math.exp);
  assert.ok(Math.abs(scale[0]! - 1.74) < 0.3 && Math.abs(scale[1]! - 0.99) < 0.2, `scale ${scale}`);
  const snapshot = treeToHost(r1.params);
  // a second run on other data (no steps: only an initialisation could change the params) keeps them
  const shifted = x.map((v) => 3 * v + 7);
  const r2 = await trainFlow(flow, refTree(r1.params), { x: shifted, n: 600, dim: 2 }, { steps: 0, batchSize: 200, validationFraction: 0 });
  const second = treeToHost(r2.params);
  for (const path of treePaths(r1.params)) assert.deepEqual(second[path]!.data, snapshot[path]!.data, path);
  // negative control: with the flags reset, the same run initialises again
  const zeroed = mapTree(refTree(r1.params), (leaf, path) => (path.endsWith(".initialized") ? leaf.mul(0) : leaf));
  const r3 = await trainFlow(flow, zeroed, { x: shifted, n: 600, dim: 2 }, { steps: 0, batchSize: 200, validationFraction: 0 });
  assert.ok(Math.abs(loc(r3.params)[0]! - loc(r1.params)[0]!) > 3, "reset flags: initialised again from the shifted data (3x + 7)");
  disposeTree(r1.params);
  disposeTree(r2.params);
  disposeTree(r3.params);

  // fit → bytes → model: the flags and the initialised params are in the file; training the loaded one keeps them
  const model = await fit(config, { x, n: 600, dim: 2 }, { steps: 20, batchSize: 200, lr: 1e-3 });
  const bytes = model.toBytes();
  const loaded = FlowModel.fromBytes(bytes);
  const saved = treeToHost(model.params);
  const back = treeToHost(loaded.params);
  for (const path of Object.keys(saved)) assert.deepEqual(back[path]!.data, saved[path]!.data, path);
  assert.deepEqual(flags(flow, loaded.params), [1, 1]);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true))))) as Record<string, unknown>;
  const meta = header.__metadata__ as Record<string, string>;
  assert.ok(JSON.parse(meta.layers!).some((l: { kind: string }) => l.kind === "actnorm"));
  assert.ok("layers.5.initialized" in header && "layers.5.loc" in header && "layers.5.logScale" in header, Object.keys(header).join(" "));
  const r4 = await trainFlow(flow, refTree(loaded.params), { x: shifted, n: 600, dim: 2 }, { steps: 0, batchSize: 200, validationFraction: 0 });
  const kept = treeToHost(r4.params);
  for (const path of Object.keys(saved)) assert.deepEqual(kept[path]!.data, saved[path]!.data, path);
  assert.deepEqual(Array.from(loaded.logProb([[0.5, 0.2]])), Array.from(model.logProb([[0.5, 0.2]])));
  disposeTree(r4.params);
  model.dispose();
  loaded.dispose();
  defaultDevice("cpu");
});

test("a tiny image realnvp with actnorm and 1×1 convolutions: round trip, per-channel initialisation, layer list", () => {
  defaultDevice("cpu");
  const { flow } = build({ flow: "realnvp", image: [1, 2, 4], layers: 1, hidden: [3], actnorm: true, mixing: "lu", dtype: "float64" });
  const kinds = (b: { kind: string; layers?: unknown[]; inner?: unknown }): string[] =>
    b.layers ? (b.layers as { kind: string }[]).flatMap(kinds) : b.inner ? [b.kind, ...kinds(b.inner as { kind: string })] : [b.kind];
  const list = kinds(flow.bijector as unknown as { kind: string });
  // one conv1x1 before each coupling on ≥ 2 channels: the channel coupling ([4, 1, 2]) and the last scale's two ([2, 1, 2])
  assert.equal(list.filter((k) => k === "conv1x1").length, 3);
  assert.equal(list.filter((k) => k === "actnorm").length, 4); // one per coupling
  // Round trip in float32 on wasm: a layout mistake shows as an O(1) error, and the cpu device's
  // convolutions are slow (each layer's float64 exactness is checked in glow-layers and the registry).
  // Without the logit layer, whose saturation on N(0, 1) codes would dominate the error.
  defaultDevice("wasm");
  const plain = build({ flow: "realnvp", image: [1, 2, 4], layers: 1, hidden: [3], actnorm: true, mixing: "lu", logit: null }).flow;
  checkBijector(plain.bijector, { dtype: "float32", n: 8, roundTripTol: 1e-4, seed: 3, skipPerturb: (path) => plain.stateLeaves.includes(`bijector.${path}`) });
  // the initialisation in float64 on wasm too (exact arithmetic; exp/log float32-accurate: unit variance to ~1e-6)
  // per-channel init on pixel data: the data-end ActNorm ([1, 2, 4], after the logit) gives 0 mean, unit variance
  const n = 32;
  const xs = host(normal(keyFromSeed(2), [n, 8], "float64")).map((v) => 1 / (1 + Math.exp(-v)));
  const p = initializeFromData(flow, flow.init(keyFromSeed(0), "float64"), fromValues(xs, [n, 8], "float64"));
  assert.ok(flags(flow, p).every((f) => f === 1));
  const r = flow.inverse(refTree(p), fromValues(xs, [n, 8], "float64"), undefined, { intermediates: true });
  const { mean, variance } = moments(host(r.intermediates![2]!), n, 1, 8); // x → logit → actnorm
  assert.ok(Math.abs(mean[0]!) < 1e-12 && Math.abs(variance[0]! - 1) < 1e-5, `mean ${mean}, variance ${variance}`);
  disposeTree([r.y, r.logDet, ...r.intermediates!]);
  disposeTree(p);
  defaultDevice("cpu");
});

test("a conditional flow is initialised from its first batch with its context, then trains", async () => {
  defaultDevice("wasm");
  const n = 400;
  const x = sampleToy("moons", n, 5);
  const context = Float64Array.from({ length: n }, (_, i) => (x[2 * i]! > 0 ? 1 : -1));
  const { flow } = build({ flow: "iaf", dim: 2, layers: 2, hidden: [8], contextDim: 1, actnorm: true });
  const r = await trainFlow(flow, flow.init(keyFromSeed(1), "float32"), { x, n, dim: 2, context }, { steps: 5, batchSize: 100, validationFraction: 0 });
  assert.deepEqual(flags(flow, r.params), [1, 1]);
  assert.ok(r.losses.every(Number.isFinite));
  disposeTree(r.params);
  defaultDevice("cpu");
});
