// Spline flows (and the other non-default transformers) in the config and the model file:
// normalisation (keys left out for the family's default, so older configs and files are unchanged
// byte for byte), refusals, and save/load round trips that keep every parameter and log p bit
// for bit, under canonical names.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../src/engine/errors.js";
import { fromValues } from "../../src/engine/dtype.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { mapTree, treeToHost } from "../../src/engine/tree.js";
import { build, describe, normalizeConfig } from "../../src/flows/build.js";
import type { FlowConfig } from "../../src/flows/config.js";
import { decodeSafetensors } from "../../src/io/safetensors.js";
import { decodeModelFile } from "../../src/io/model-format.js";
import { FlowModel } from "../../src/model/model.js";
import { loadModel } from "../../src/model/load.js";

const dir = mkdtempSync(join(tmpdir(), "nflow-spline-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A model whose every parameter is non-trivial (init plus a deterministic perturbation). */
function makeModel(config: FlowConfig): FlowModel {
  const { flow, config: c } = build(config);
  let k = 0;
  const params = mapTree(flow.init(keyFromSeed(7), c.dtype), (leaf) => {
    const values = (leaf.ref.dataSync() as Float32Array | Float64Array).map((v, i) => v + 0.3 * Math.sin(++k + 0.37 * i));
    const shape = leaf.shape.slice();
    leaf.dispose();
    return fromValues(values, shape, c.dtype);
  });
  return new FlowModel(flow, params, {
    config: c,
    preprocessing: null,
    context: c.contextDim > 0 ? { dim: c.contextDim, columns: null, mean: null, std: null } : null,
    data: null,
    training: null,
  });
}

const bits = (a: Float64Array | Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

test("config: transformer/bins/bound are left out for the family's default and filled for a spline; bad values refused", () => {
  const plain = normalizeConfig({ flow: "realnvp", dim: 2, layers: 2, hidden: [4] });
  assert.ok(!("transformer" in plain) && !("bins" in plain) && !("bound" in plain));
  assert.deepEqual(normalizeConfig({ flow: "realnvp", dim: 2, layers: 2, hidden: [4], transformer: "affine" }), plain);
  assert.deepEqual(normalizeConfig({ flow: "nice", dim: 2, layers: 2, hidden: [4], transformer: "additive" }), normalizeConfig({ flow: "nice", dim: 2, layers: 2, hidden: [4] }));
  const spline = normalizeConfig({ flow: "maf", dim: 2, layers: 2, hidden: [4], transformer: "spline" });
  assert.equal(spline.transformer, "spline");
  assert.equal(spline.bins, 8);
  assert.equal(spline.bound, 3);
  assert.deepEqual(normalizeConfig(JSON.parse(JSON.stringify(spline))), spline);
  assert.equal(normalizeConfig({ flow: "realnvp", dim: 2, layers: 1, hidden: [4], transformer: "additive" }).transformer, "additive");
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ transformer: "rqs" }, /^transformer: expected one of "affine", "additive", "spline", got "rqs"/],
    [{ transformer: "spline", bins: 1 }, /^bins: expected an integer in 2\.\.256, got 1/],
    [{ transformer: "spline", bins: 2.5 }, /^bins: /],
    [{ transformer: "spline", bound: 0 }, /^bound: expected a finite number > 0, got 0/],
    [{ transformer: "splines" }, /^transformer: /],
  ];
  for (const [extra, message] of bad)
    assert.throws(() => normalizeConfig({ flow: "realnvp", dim: 2, layers: 1, hidden: [4], ...extra }), (e: unknown) => e instanceof ConfigError && message.test(e.message));
  assert.throws(
    () => normalizeConfig({ flow: "realnvp", image: [1, 4, 4], layers: 1, hidden: [3], transformer: "spline" }),
    (e: unknown) => e instanceof ConfigError && /^transformer: an image realnvp .* affine couplings only/.test(e.message),
  );
  // 3K − 1 outputs per dimension count in the parameter estimate: a huge K·hidden is refused up front
  assert.throws(() => normalizeConfig({ flow: "maf", dim: 4096, layers: 8, hidden: [4096], transformer: "spline", bins: 256 }), /parameters/);
  assert.match(describe({ flow: "realnvp", dim: 2, layers: 8, hidden: [64, 64], transformer: "spline", bins: 8, bound: 3 }), /8 × spline-coupling .*rational-quadratic spline, 8 bins on \[−3, 3\]/);
});

const FAMILIES: [string, FlowConfig][] = [
  ["RQ-NSF (C): realnvp + spline (one coupling stack)", { flow: "realnvp", dim: 3, layers: 3, hidden: [5], transformer: "spline", bins: 4, bound: 2.5 }],
  ["realnvp + spline, LU mixing, float64", { flow: "realnvp", dim: 3, layers: 2, hidden: [5], transformer: "spline", bins: 3, permutation: "lu", dtype: "float64" }],
  ["RQ-NSF (AR): maf + spline, conditional", { flow: "maf", dim: 3, layers: 2, hidden: [6], transformer: "spline", bins: 3, contextDim: 2 }],
  ["iaf + spline", { flow: "iaf", dim: 2, layers: 2, hidden: [4], transformer: "spline", bins: 5, bound: 1 }],
  ["maf + additive", { flow: "maf", dim: 3, layers: 2, hidden: [5], transformer: "additive" }],
  ["realnvp + additive", { flow: "realnvp", dim: 2, layers: 2, hidden: [4], transformer: "additive" }],
];

test("model file: spline and additive variants round-trip their params and log p bit for bit, under canonical names", async () => {
  for (const [name, config] of FAMILIES) {
    const model = makeModel(config);
    const path = join(dir, "m.nflow");
    await model.save(path);
    const loaded = await loadModel(path);
    const a = treeToHost(model.params);
    const b = treeToHost(loaded.params);
    assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort(), name);
    for (const [p, leaf] of Object.entries(a)) assert.ok(bits(b[p]!.data).equals(bits(leaf.data)), `${name}: ${p} bit for bit`);
    assert.deepEqual(loaded.config, model.config, name);
    const D = model.dim;
    // rows inside the spline interval, on its edge and in the tails
    const rows = [Array.from({ length: D }, (_, d) => Math.sin(d)), Array.from({ length: D }, () => 3.2), Array.from({ length: D }, (_, d) => (d % 2 ? -1 : 1) * (config.bound ?? 3))];
    const ctx = model.contextDim > 0 ? [0.5, -1] : undefined;
    const lp = model.logProb(rows, ctx);
    assert.ok([...lp].every(Number.isFinite), name);
    assert.ok(bits(loaded.logProb(rows, ctx)).equals(bits(lp)), `${name}: log p`);
    const { tensors, metadata } = decodeSafetensors(model.toBytes(), name);
    assert.ok(![...tensors.keys()].some((k) => /bijector|\.net\.|\.W\.|heads/.test(k)), `${name}: no in-memory paths`);
    const layers = JSON.parse(metadata.layers!) as { kind: string; [k: string]: unknown }[];
    if (config.transformer === "spline") {
      const spline = layers.filter((l) => l.kind === "spline-coupling" || l.transformer === "spline");
      assert.equal(spline.length, config.layers, name);
      for (const l of spline) assert.deepEqual([l.bins, l.bound, l.minBinWidth, l.minBinHeight, l.minDerivative], [config.bins, config.bound ?? 3, 1e-3, 1e-3, 1e-3]);
    }
    model.dispose();
    loaded.dispose();
  }
});

test("model file: spline tensor names — a coupling's conditioner emits (3K − 1)·k columns, a MADE one head per θ", () => {
  const c = makeModel({ flow: "realnvp", dim: 2, layers: 2, hidden: [4], transformer: "spline", bins: 3 });
  const t = decodeSafetensors(c.toBytes()).tensors;
  assert.deepEqual([...t.keys()].sort(), [0, 1].flatMap((i) => [0, 1].flatMap((m) => [`layers.${i}.conditioner.linear${m}.bias`, `layers.${i}.conditioner.linear${m}.weight`])).sort());
  assert.deepEqual(t.get("layers.0.conditioner.linear1.weight")!.shape, [4, 8]); // 3·3 − 1 = 8 per transformed dimension
  c.dispose();
  const m = makeModel({ flow: "maf", dim: 2, layers: 1, hidden: [4], transformer: "spline", bins: 2 });
  const names = [...decodeSafetensors(m.toBytes()).tensors.keys()].sort();
  const heads = ["width0", "width1", "height0", "height1", "derivative1"].flatMap((h) => [`layers.0.made.${h}.bias`, `layers.0.made.${h}.weight`]);
  assert.deepEqual(names, [...heads, "layers.0.made.linear0.bias", "layers.0.made.linear0.weight"].sort());
  const decoded = decodeModelFile(m.toBytes(), "m");
  assert.equal(decoded.metadata.config.transformer, "spline");
  m.dispose();
});
