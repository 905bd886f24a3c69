// Model format version 2 (docs/model-format.md): the whole-file checksum, version 1 files with a
// warning, non-finite tensors refused, canonical tensor names with exact round trips for every
// family, unsaveable flows refused at save, createdAt kept across saves. Every bad file is a
// crafted one, and every refusal is ONE FileFormatError line naming the file.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, FileFormatError, NonFiniteError } from "../../src/engine/errors.js";
import { fromValues } from "../../src/engine/dtype.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { disposeTree, mapTree, treeToHost } from "../../src/engine/tree.js";
import { build } from "../../src/flows/build.js";
import type { FlowConfig } from "../../src/flows/config.js";
import { Flow } from "../../src/distributions/flow.js";
import { UniformBox } from "../../src/distributions/uniform-box.js";
import { FixedLinear } from "../../src/bijectors/fixed-linear.js";
import { decodeSafetensors, encodeSafetensors } from "../../src/io/safetensors.js";
import { canonicalLayout } from "../../src/io/canonical.js";
import { crc32 } from "../../src/io/crc32.js";
import { decodeModelFile, encodeModelFile, sealModelFile, tensorsChecksum } from "../../src/io/model-format.js";
import { FlowModel } from "../../src/model/model.js";
import { loadModel } from "../../src/model/load.js";
import { V1_CREATED_AT, v1ModelFileBytes } from "../support/v1-model-file.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "nflow-v2-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A model whose every parameter is non-trivial (init plus a deterministic perturbation). */
function makeModel(config: FlowConfig, withPreprocessing = true): FlowModel {
  const { flow, config: c } = build(config);
  const init = flow.init(keyFromSeed(7), c.dtype);
  let k = 0;
  const params = mapTree(init, (leaf) => {
    const values = (leaf.ref.dataSync() as Float32Array | Float64Array).map((v, i) => v + 0.01 * Math.sin(++k + 0.37 * i));
    const shape = leaf.shape.slice();
    leaf.dispose();
    // batch-norm variances must stay positive
    return fromValues(Float64Array.from(values, (v) => Math.abs(v) + 1e-3), shape, c.dtype);
  });
  const D = c.dim;
  return new FlowModel(flow, params, {
    config: c,
    preprocessing: withPreprocessing
      ? { kind: "standardize", mean: Array.from({ length: D }, (_, d) => 0.5 + d), std: Array.from({ length: D }, (_, d) => 1.5 + d / 4) }
      : null,
    context: c.contextDim > 0 ? { dim: c.contextDim, columns: null, mean: null, std: null } : null,
    data: null,
    training: null,
  });
}

function bits(a: Float64Array | Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function assertOneLine(error: unknown, source: string, pattern: RegExp): true {
  assert.ok(error instanceof FileFormatError, `expected FileFormatError, got ${String(error)}`);
  assert.ok(!error.message.includes("\n"), `one line: ${error.message}`);
  assert.ok(error.message.startsWith(`${source}: `), `names the file: ${error.message}`);
  assert.match(error.message, pattern);
  return true;
}

async function assertRefused(path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(loadModel(path), (e: unknown) => assertOneLine(e, path, pattern));
}

/** Offset of the first occurrence of `text` in `bytes` (throws when absent). */
function find(bytes: Uint8Array, text: string): number {
  const at = Buffer.from(bytes).indexOf(Buffer.from(text, "utf8"));
  assert.ok(at >= 0, `${text} is in the file`);
  return at;
}

const VECTOR: FlowConfig = { flow: "realnvp", dim: 3, layers: 3, hidden: [8], batchNorm: true, permutation: "reverse", seed: 5 };
const X = Array.from({ length: 9 }, (_, i) => [Math.sin(i), Math.cos(2 * i) - 1, i / 4]);

test("v2: one flipped bit in the metadata (scaleBound, the standardisation mean) or the tensors is refused by the checksum", async () => {
  const model = makeModel(VECTOR);
  const good = model.toBytes();
  const goodLp = model.logProb(X);
  model.dispose();
  const path = join(dir, "good.nflow");
  writeFileSync(path, good);
  const loaded = await loadModel(path);
  assert.deepEqual(loaded.warnings, []);
  assert.ok(bits(loaded.logProb(X)).equals(bits(goodLp)));
  loaded.dispose();

  const n = Number(Buffer.from(good).readBigUInt64LE(0));
  const flips: [string, number][] = [
    // config.scaleBound 3 → 2 ('3' = 0x33, one bit): the JSON stays valid
    ["scaleBound", find(good, 'scaleBound\\":3') + 'scaleBound\\":'.length],
    // preprocessing.mean[0] 0.5 → 0.4 ('5' = 0x35 → '4' = 0x34)
    ["mean", find(good, 'mean\\":[0.5') + 'mean\\":[0.'.length],
    ["tensor data", 8 + n + 5],
  ];
  for (const [what, at] of flips) {
    const copy = Buffer.from(good);
    copy[at] = copy[at]! ^ 0x01;
    const p = join(dir, `flip-${what.replace(" ", "-")}.nflow`);
    writeFileSync(p, copy);
    await assertRefused(p, /: corrupt \(checksum [0-9a-f]{8}, the file says [0-9a-f]{8}; the file was damaged or edited\)$/);
    if (what === "tensor data") continue;
    // the same edit with its checksum recomputed loads and changes the log-densities: the
    // checksum is what protects these values
    const { metadata, tensors } = decodeSafetensors(copy, p);
    metadata.layers = JSON.stringify(canonicalLayout(build(JSON.parse(metadata.config!) as FlowConfig).flow).description.layers);
    const resealed = join(dir, `resealed-${what}.nflow`);
    writeFileSync(resealed, sealModelFile([...tensors].map(([k, t]) => [k, t]), metadata));
    const edited = await loadModel(resealed);
    const lp = edited.logProb(X);
    assert.ok(lp.some((v, i) => v !== goodLp[i]), `${what}: the log-densities change`);
    edited.dispose();
  }
});

test("v2: a file without fileCrc32, with a wrong one, or with two is refused", async () => {
  const model = makeModel(VECTOR);
  const { metadata, tensors } = decodeSafetensors(model.toBytes());
  model.dispose();
  const list = [...tensors].map(([k, t]) => [k, t] as [string, typeof t]);
  const none = { ...metadata };
  delete none.fileCrc32;
  const cases: [string, Uint8Array, RegExp][] = [
    ["missing", encodeSafetensors(list, none), /: corrupt \(checksum missing: a version 2 model file must carry fileCrc32\)$/],
    ["wrong", encodeSafetensors(list, { ...metadata, fileCrc32: "deadbeef" }), /: corrupt \(checksum [0-9a-f]{8}, the file says deadbeef;/],
    ["not-hex", encodeSafetensors(list, { ...metadata, fileCrc32: "DEADBEEF" }), /: corrupt \(checksum "DEADBEEF" is not 8 lowercase hex digits\)$/],
    // a second "fileCrc32" key inside another value cannot occur (JSON escapes its quotes); a
    // tensor of that name is `"fileCrc32":{`, not the mark: the file stays valid
  ];
  for (const [name, bytes, pattern] of cases) {
    const p = join(dir, `crc-${name}.nflow`);
    writeFileSync(p, bytes);
    await assertRefused(p, pattern);
  }
});

test("v2: the checksum is reproducible from the document: CRC-32 of the file with the 8 digits read as 00000000", () => {
  const model = makeModel(VECTOR);
  const bytes = model.toBytes();
  model.dispose();
  const { metadata } = decodeSafetensors(bytes);
  const text = `"fileCrc32":"${metadata.fileCrc32}"`;
  const at = find(bytes, text) + '"fileCrc32":"'.length;
  const copy = Buffer.from(bytes);
  copy.write("00000000", at, "ascii");
  assert.equal(crc32(copy).toString(16).padStart(8, "0"), metadata.fileCrc32);
  // zlib's crc32 is the same function (what a Python reader uses)
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

test("v1 files still load, bit for bit, with a one-line warning that the metadata is not covered; saving again writes v2", async () => {
  const model = makeModel({ flow: "nice", dim: 4, layers: 4, hidden: [6] });
  const lp = model.logProb(X.map((r) => [...r, 0.25]));
  for (const withCrc of [true, false]) {
    const p = join(dir, `v1-${withCrc}.nflow`);
    writeFileSync(p, v1ModelFileBytes(model, { withCrc }));
    const old = await loadModel(p);
    assert.equal(old.warnings.length, 1);
    assert.ok(!old.warnings[0]!.includes("\n"));
    assert.match(
      old.warnings[0]!,
      withCrc
        ? new RegExp(`^${p}: model format version 1: its checksum covers the tensors only, not the metadata \\(config, standardisation\\); save it again to upgrade it to version 2$`)
        : /model format version 1: no checksum covers this file; save it again/,
    );
    assert.ok(bits(old.logProb(X.map((r) => [...r, 0.25]))).equals(bits(lp)));
    assert.equal(old.createdAt, V1_CREATED_AT);
    // upgraded by saving: v2, no warning, the same creation time
    const again = FlowModel.fromBytes(old.toBytes(), "again");
    assert.deepEqual(again.warnings, []);
    assert.equal(again.createdAt, V1_CREATED_AT);
    assert.ok(bits(again.logProb(X.map((r) => [...r, 0.25]))).equals(bits(lp)));
    old.dispose();
    again.dispose();
  }
  // a damaged v1 tensor is still caught by its tensorsCrc32
  const bytes = Buffer.from(v1ModelFileBytes(model));
  bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x10;
  const bad = join(dir, "v1-damaged.nflow");
  writeFileSync(bad, bytes);
  await assertRefused(bad, /corrupt tensor data \(checksum/);
  model.dispose();
});

test("v1 warning reaches the CLI user as one stderr line, exit 0", () => {
  const model = makeModel({ flow: "maf", dim: 2, layers: 2, hidden: [4] });
  const p = join(dir, "v1-cli.nflow");
  writeFileSync(p, v1ModelFileBytes(model));
  model.dispose();
  const r = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), join(root, "src/cli/main.ts"), "info", "--model", p], {
    cwd: dir,
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const warnings = r.stderr.split("\n").filter((l) => l.includes("warning"));
  assert.deepEqual(warnings, [`nflow: warning: ${p}: model format version 1: its checksum covers the tensors only, not the metadata (config, standardisation); save it again to upgrade it to version 2`]);
});

test("tensors holding NaN or ±Infinity are refused, naming the tensor and the first bad index (v1 and v2)", async () => {
  const model = makeModel(VECTOR);
  const { metadata, tensors } = decodeSafetensors(model.toBytes());
  const name = "layers.0.conditioner.linear0.weight";
  for (const [bad, text] of [[Number.NaN, "NaN"], [Number.POSITIVE_INFINITY, "Infinity"], [Number.NEGATIVE_INFINITY, "-Infinity"]] as const) {
    const t = tensors.get(name)!;
    assert.deepEqual(t.shape, [2, 8]);
    const data = t.data.slice();
    data[1 * 8 + 5] = bad;
    data[1 * 8 + 6] = bad;
    const list = [...tensors].map(([k, v]) => [k, k === name ? { shape: v.shape, data } : v] as [string, typeof v]);
    const p = join(dir, `nan-${text}.nflow`);
    writeFileSync(p, sealModelFile(list, metadata));
    await assertRefused(p, new RegExp(`: tensor ${name.replace(/\./g, "\\.")} holds ${text} at index \\[1, 5\\]; the model is unusable`));
  }
  // version 1: the in-memory path is named
  const host = treeToHost(model.params);
  const path = Object.keys(host).find((k) => k.endsWith("net.W.1"))!;
  host[path]!.data[0] = Number.NaN;
  const v1 = Object.entries(host).map(([k, t]) => [k, { shape: t.shape, data: t.data }] as [string, { shape: number[]; data: Float32Array | Float64Array }]);
  const meta1 = { ...metadata, formatVersion: "1" };
  delete (meta1 as Record<string, string>).fileCrc32;
  const p1 = join(dir, "nan-v1.nflow");
  writeFileSync(p1, encodeSafetensors(v1, meta1));
  await assertRefused(p1, new RegExp(`: tensor ${path.replace(/\./g, "\\.")} holds NaN at index \\[0(, 0)*\\]`));
  model.dispose();
});

test("a layers list that disagrees with the config is refused (even with a valid checksum)", async () => {
  const model = makeModel(VECTOR);
  const { metadata, tensors } = decodeSafetensors(model.toBytes());
  model.dispose();
  const layers = JSON.parse(metadata.layers!) as { kind: string; order?: number[] }[];
  assert.deepEqual(layers.map((l) => l.kind), ["affine-coupling", "permutation", "batch-norm", "affine-coupling", "permutation", "batch-norm", "affine-coupling"]);
  layers[1]!.order = [0, 2, 1];
  const p = join(dir, "layers.nflow");
  writeFileSync(p, sealModelFile([...tensors], { ...metadata, layers: JSON.stringify(layers) }));
  await assertRefused(p, /corrupt metadata \(layers\[1\]\.order\[0\] is 0, the config gives 2: the layer list disagrees with the config\)$/);
  // a hostile, deeply nested list (with a valid checksum) is still one line
  const deep = join(dir, "layers-deep.nflow");
  writeFileSync(deep, sealModelFile([...tensors], { ...metadata, layers: "[".repeat(200_000) + "]".repeat(200_000) }));
  await assertRefused(deep, /corrupt metadata \(layers/);
});

const FAMILIES: [string, FlowConfig][] = [
  ["nice (whole-flow coupling stack)", { flow: "nice", dim: 5, layers: 4, hidden: [6, 5] }],
  ["realnvp vector, alternating mask", { flow: "realnvp", dim: 4, layers: 3, hidden: [6], mask: "alternating" }],
  ["realnvp conditional with permutations and batch norm", { flow: "realnvp", dim: 3, layers: 3, hidden: [6], contextDim: 2, permutation: "random", batchNorm: true }],
  ["realnvp, D > 64 (select-and-place couplings)", { flow: "realnvp", dim: 66, layers: 2, hidden: [4] }],
  ["maf conditional, conditional-diag-normal base", { flow: "maf", dim: 3, layers: 2, hidden: [5, 4], contextDim: 2, base: { kind: "conditional-diag-normal", hidden: [3] } }],
  ["maf, batch norm, rescale, diag-normal base, float64", { flow: "maf", dim: 3, layers: 3, hidden: [5], batchNorm: true, rescale: true, base: { kind: "diag-normal" }, dtype: "float64" }],
  ["iaf, mixture-of-gaussians base", { flow: "iaf", dim: 3, layers: 2, hidden: [5], base: { kind: "mixture-of-gaussians", components: 3 } }],
  ["maf, uniform base", { flow: "maf", dim: 2, layers: 2, hidden: [4], base: { kind: "uniform", low: [-3, -3], high: [3, 3] } }],
  ["nice on images, standard-logistic base", { flow: "nice", image: [1, 4, 4], layers: 2, hidden: [5] }],
  ["maf on images (logit layer)", { flow: "maf", image: [1, 2, 2], layers: 2, hidden: [5] }],
  ["realnvp on images, multi-scale", { flow: "realnvp", image: [1, 4, 4], layers: 1, hidden: [3], scales: 2 }],
  ["realnvp on images, 3 scales, conditional, batch norm", { flow: "realnvp", image: [2, 8, 8], layers: 2, hidden: [3, 3], scales: 3, contextDim: 2, batchNorm: true }],
];

test("canonical names: every family round-trips its params bit for bit, and log p with them", () => {
  for (const [name, config] of FAMILIES) {
    const model = makeModel(config, false);
    const bytes = model.toBytes();
    const { tensors, metadata } = decodeSafetensors(bytes, name);
    for (const key of tensors.keys()) assert.match(key, /^(base|layers\.\d+(\.layers\.\d+)*)\.[A-Za-z0-9.]+$/, `${name}: ${key}`);
    assert.ok(![...tensors.keys()].some((k) => /bijector|\.net\.|\.W\.|heads/.test(k)), `${name}: no in-memory paths`);
    const loaded = decodeModelFile(bytes, name);
    const a = treeToHost(model.params);
    const b = treeToHost(loaded.params);
    assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort(), name);
    for (const [path, leaf] of Object.entries(a)) {
      assert.deepEqual(b[path]!.shape, leaf.shape, `${name}: ${path}`);
      assert.ok(bits(b[path]!.data).equals(bits(leaf.data)), `${name}: ${path} bit for bit`);
    }
    // the layer list describes every layer the config builds, nested factor-outs included
    const layers = JSON.parse(metadata.layers!) as unknown[];
    assert.deepEqual(layers, canonicalLayout(loaded.flow).description.layers);
    const D = model.dim;
    const rows = Array.from({ length: 3 }, (_, i) => Array.from({ length: D }, (_, d) => (config.image ? 0.1 + 0.8 * (((i + 1) * (d + 3)) % 7) / 7 : Math.sin(i + d))));
    const ctx = model.contextDim > 0 ? Array.from({ length: model.contextDim }, (_, k) => k - 0.5) : undefined;
    const again = new FlowModel(loaded.flow, loaded.params, { ...loaded.metadata });
    assert.ok(bits(again.logProb(rows, ctx)).equals(bits(model.logProb(rows, ctx))), `${name}: log p`);
    model.dispose();
    again.dispose();
  }
});

test("canonical names do not depend on how layers are held in memory: stacked and chained couplings, exact names", () => {
  // nice without permutations: Rescale then ONE CouplingStack of 3 couplings in memory
  const nice = makeModel({ flow: "nice", dim: 2, layers: 3, hidden: [4] }, false);
  assert.ok(Object.keys(treeToHost(nice.params)).includes("bijector.layers.1.net.W.0"), "stacked in memory");
  const names = [...decodeSafetensors(nice.toBytes()).tensors.keys()].sort();
  const coupling = (i: number): string[] => [0, 1].flatMap((m) => [`layers.${i}.conditioner.linear${m}.bias`, `layers.${i}.conditioner.linear${m}.weight`]);
  assert.deepEqual(names, ["layers.0.logScale", ...coupling(1), ...coupling(2), ...coupling(3)].sort());
  const t = decodeSafetensors(nice.toBytes()).tensors;
  // layer 2's weight is slice 1 of the stacked [3, 1, 4] leaf
  const stacked = treeToHost(nice.params)["bijector.layers.1.net.W.0"]!;
  assert.deepEqual(stacked.shape, [3, 1, 4]);
  assert.deepEqual([...t.get("layers.2.conditioner.linear0.weight")!.data], [...stacked.data.subarray(4, 8)]);
  assert.deepEqual(t.get("layers.2.conditioner.linear0.weight")!.shape, [1, 4]);
  nice.dispose();
  // maf: heads and context weights under their names
  const maf = makeModel({ flow: "maf", dim: 3, layers: 2, hidden: [5], contextDim: 2 }, false);
  const mafNames = [...decodeSafetensors(maf.toBytes()).tensors.keys()].sort();
  const made = (i: number): string[] =>
    ["context.weight", "linear0.bias", "linear0.weight", "logScale.bias", "logScale.weight", "shift.bias", "shift.weight"].map((s) => `layers.${i}.made.${s}`);
  assert.deepEqual(mafNames, [...made(0), ...made(2)].sort());
  maf.dispose();
});

test("a flow that no config describes is refused at save, and nothing is written", async () => {
  const { config } = build({ flow: "maf", dim: 2, layers: 1, hidden: [4] });
  const flow = new Flow(new UniformBox([0, 0], [1, 1]), new FixedLinear([[2, 0], [1, 1]]));
  const custom = new FlowModel(flow, flow.init(keyFromSeed(0)), { config, preprocessing: null, context: null, data: null, training: null });
  const isRefusal = (pattern: RegExp) => (e: unknown): true => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.ok(!e.message.includes("\n"));
    assert.match(e.message, pattern);
    return true;
  };
  assert.throws(() => custom.toBytes(), isRefusal(/^model file: cannot save this flow: a uniform base density cannot be described|cannot save this flow: a fixed-linear layer cannot be described/));
  const p = join(dir, "custom.nflow");
  await assert.rejects(custom.save(p), isRefusal(/cannot save this flow/));
  assert.ok(!existsSync(p), "no file written");
  custom.dispose();

  // a describable flow with another config's record: the file would load as a different model
  const built = build({ flow: "maf", dim: 2, layers: 2, hidden: [4] });
  const mismatched = new FlowModel(built.flow, built.flow.init(keyFromSeed(0)), { config, preprocessing: null, context: null, data: null, training: null });
  assert.throws(() => mismatched.toBytes(), isRefusal(/^model file: cannot save this flow: it is not the flow its config describes \(flow\.layers has 3 entries, the config gives 1\)/));
  mismatched.dispose();
  // encodeModelFile without a flow builds it from the config
  const ok = build({ flow: "maf", dim: 2, layers: 2, hidden: [4] });
  const params = ok.flow.init(keyFromSeed(1));
  assert.ok(encodeModelFile({ config: ok.config }, params).length > 0);
  disposeTree(params);
});

test("createdAt survives saving a loaded model again; savedAt is the time of each save", async () => {
  const model = makeModel(VECTOR);
  const { metadata, tensors } = decodeSafetensors(model.toBytes());
  model.dispose();
  assert.equal(metadata.createdAt, metadata.savedAt);
  const p = join(dir, "created.nflow");
  writeFileSync(p, sealModelFile([...tensors], { ...metadata, createdAt: "2025-05-06T07:08:09.000Z", savedAt: "2025-05-06T07:08:09.000Z" }));
  const loaded = await loadModel(p);
  assert.equal(loaded.createdAt, "2025-05-06T07:08:09.000Z");
  await loaded.save(p);
  const meta = decodeSafetensors(readFileSync(p)).metadata;
  assert.equal(meta.createdAt, "2025-05-06T07:08:09.000Z");
  assert.ok(meta.savedAt! > "2026-01-01", meta.savedAt);
  loaded.dispose();
});

test("the CLI refuses a flipped-bit file and a NaN-weight file with exit 3 and one line, and leaves them unchanged", () => {
  const model = makeModel(VECTOR);
  const good = model.toBytes();
  model.dispose();
  const flipped = Buffer.from(good);
  const at = find(good, 'scaleBound\\":3') + 'scaleBound\\":'.length;
  flipped[at] = flipped[at]! ^ 0x01;
  const { metadata, tensors } = decodeSafetensors(good);
  const w = tensors.get("layers.3.conditioner.linear1.weight")!;
  const data = w.data.slice();
  data[3] = Number.NaN;
  const nan = sealModelFile([...tensors].map(([k, t]) => [k, k === "layers.3.conditioner.linear1.weight" ? { shape: t.shape, data } : t] as [string, typeof t]), metadata);
  const cases: [string, Uint8Array, RegExp][] = [
    ["cli-flipped.nflow", flipped, /: corrupt \(checksum [0-9a-f]{8}, the file says [0-9a-f]{8}; the file was damaged or edited\)$/],
    ["cli-nan.nflow", nan, /: tensor layers\.3\.conditioner\.linear1\.weight holds NaN at index \[1, 1\]; the model is unusable/], // shape [8, 2]: flat 3 = [1, 1]
  ];
  const input = join(dir, "cli-x.csv");
  writeFileSync(input, X.map((r) => r.join(",")).join("\n") + "\n");
  for (const [name, bytes, pattern] of cases) {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    const r = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), join(root, "src/cli/main.ts"), "logprob", "--model", p, "--input", input, "--out", join(dir, "cli-lp.csv")], {
      cwd: dir,
      encoding: "utf8",
      timeout: 120_000,
    });
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stdout, "");
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]!.startsWith(`nflow: error: ${p}: `), lines[0]);
    assert.match(lines[0]!, pattern);
    assert.ok(readFileSync(p).equals(Buffer.from(bytes)), "the file is unchanged");
    assert.ok(!existsSync(join(dir, "cli-lp.csv")), "no output written");
  }
});

test("params holding NaN are refused at save (such a file would never load), and nothing is written", async () => {
  const { flow, config } = build({ flow: "maf", dim: 2, layers: 2, hidden: [4] });
  const params = mapTree(flow.init(keyFromSeed(0)), (leaf, path) => {
    if (path !== "bijector.layers.2.made.heads.W.1") return leaf;
    const shape = leaf.shape.slice();
    const v = Float64Array.from(leaf.dataSync() as Float32Array);
    v[5] = Number.NaN;
    return fromValues(v, shape, "float32");
  });
  const model = new FlowModel(flow, params, { config, preprocessing: null, context: null, data: null, training: null });
  const p = join(dir, "nan-save.nflow");
  await assert.rejects(model.save(p), (e: unknown) => {
    assert.ok(e instanceof NonFiniteError, String(e));
    assert.equal(e.message, "model file: cannot save: parameter layers.2.made.logScale.weight holds NaN at index [2, 1]; nothing was written"); // [4, 2]: flat 5
    return true;
  });
  assert.ok(!existsSync(p));
  model.dispose();
});
