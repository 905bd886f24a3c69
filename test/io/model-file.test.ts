import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FileFormatError } from "../../src/engine/errors.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { disposeTree } from "../../src/engine/tree.js";
import { build } from "../../src/flows/build.js";
import { decodeSafetensors } from "../../src/io/safetensors.js";
import { readModelFile, writeModelFile, sealModelFile, MODEL_FORMAT } from "../../src/io/model-file.js";
import { LIBRARY_VERSION } from "../../src/io/version.js";
import { canonicalLayout } from "../../src/io/canonical.js";
import type { FlowConfig } from "../../src/flows/config.js";
import { FlowModel } from "../../src/model/model.js";
import { loadModel } from "../../src/model/load.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "nflow-io-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** An untrained but non-trivial model: realnvp with batch norm (running stats in the file) and a standardisation. */
function makeModel(dtype: "float32" | "float64" = "float32"): FlowModel {
  const { flow, config } = build({ flow: "realnvp", dim: 3, layers: 3, hidden: [8], batchNorm: true, permutation: "reverse", seed: 5, dtype });
  const params = flow.init(keyFromSeed(11), dtype);
  return new FlowModel(flow, params, {
    config,
    preprocessing: { kind: "standardize", mean: [0.5, -1.25, 3], std: [2, 0.3, 1.7] },
    context: null,
    data: { columns: ["a", "b", "c"], source: "unit test", discrete: false, dequantization: null },
    training: {
      steps: 10,
      bestStep: 10,
      bestValidationLoss: 1.25,
      monitor: "validation",
      stopReason: "completed",
      message: "ok",
      seed: 3,
      wallTimeSec: 0.5,
      nTrain: 90,
      nValidation: 10,
      batchSize: 32,
      lr: 0.001,
      history: { step: [5, 10], trainLoss: [2, 1.5], valLoss: [null, 1.25] },
    },
  });
}

const X = Array.from({ length: 37 }, (_, i) => [Math.sin(i) * 2, Math.cos(3 * i), i / 10]);

function bytesOf(a: Float64Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Asserts that reading `path` fails with a one-line FileFormatError naming the file and matching `pattern`. */
async function assertBadFile(path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(loadModel(path), (e: unknown) => {
    assert.ok(e instanceof FileFormatError, `expected FileFormatError, got ${String(e)}`);
    assert.ok(!e.message.includes("\n"), `one line: ${e.message}`);
    assert.ok(e.message.startsWith(`${path}: `), `names the file: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

/** Rewrites the header of a model file with `edit` (tensors untouched). */
function editFile(src: string, dst: string, edit: (meta: Record<string, string>, tensors: Map<string, { shape: number[]; data: Float32Array | Float64Array }>) => void): void {
  const { metadata, tensors } = decodeSafetensors(readFileSync(src), src);
  const t = new Map([...tensors].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
  edit(metadata, t);
  // a consistent file (the whole-file checksum of the edited bytes), so that the structural checks are reached
  writeFileSync(dst, sealModelFile(t, metadata));
}

test("model file: save → load gives logProb, encode, decode and samples identical to the last bit", async () => {
  for (const dtype of ["float32", "float64"] as const) {
    const model = makeModel(dtype);
    const path = join(dir, `m-${dtype}.nflow`);
    await model.save(path);
    const loaded = await loadModel(path);
    try {
      assert.ok(bytesOf(model.logProb(X)).equals(bytesOf(loaded.logProb(X))), `${dtype} logProb bits`);
      assert.deepEqual(loaded.encode(X), model.encode(X));
      assert.deepEqual(loaded.decode(X), model.decode(X));
      assert.deepEqual(loaded.sample(20, { seed: 4 }), model.sample(20, { seed: 4 }));
      assert.deepEqual(loaded.config, model.config);
      assert.deepEqual(loaded.preprocessing, model.preprocessing);
      assert.deepEqual(loaded.training, model.training);
      assert.deepEqual(loaded.dataInfo, model.dataInfo);
      assert.equal(loaded.libraryVersion, LIBRARY_VERSION);
      assert.deepEqual(loaded.info().parameterCount, model.info().parameterCount);
      assert.ok(loaded.info().stateCount > 0, "batch-norm statistics are stored");
    } finally {
      model.dispose();
      loaded.dispose();
    }
  }
});

test("model file: standard safetensors with the params under canonical names and string metadata", async () => {
  const model = makeModel();
  const path = join(dir, "layout.nflow");
  await model.save(path);
  model.dispose();
  const { metadata, tensors } = decodeSafetensors(readFileSync(path), path);
  assert.equal(metadata.format, MODEL_FORMAT);
  assert.equal(metadata.formatVersion, "2");
  assert.match(metadata.fileCrc32!, /^[0-9a-f]{8}$/);
  assert.equal(metadata.dtype, "float32");
  assert.equal(JSON.parse(metadata.config!).flow, "realnvp");
  assert.deepEqual(JSON.parse(metadata.preprocessing!).std, [2, 0.3, 1.7]);
  assert.equal(JSON.parse(metadata.training!).steps, 10);
  assert.ok([...tensors.keys()].every((k) => k.startsWith("layers.") || k.startsWith("base.")));
  assert.ok([...tensors.keys()].some((k) => /^layers\.\d+\.conditioner\.linear0\.weight$/.test(k)), [...tensors.keys()].join(" "));
  assert.ok([...tensors.values()].every((t) => t.dtype === "F32"));
});

test("library version constant equals package.json's", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
  assert.equal(LIBRARY_VERSION, pkg.version);
});

test("model file: truncated, corrupt, wrong-kind and wrong-version files fail with one clear line", async () => {
  const model = makeModel();
  const good = join(dir, "good.nflow");
  await model.save(good);
  model.dispose();
  const bytes = readFileSync(good);
  const n = Number(bytes.readBigUInt64LE(0));

  for (const cut of [0, 5, 8, 100, 8 + n, 8 + n + 17, bytes.length - 1]) {
    const p = join(dir, `cut-${cut}.nflow`);
    writeFileSync(p, bytes.subarray(0, cut));
    await assertBadFile(p, /truncated|not a safetensors|corrupt/);
  }
  // flipped bytes in the header and in the tensor data (caught by the checksum)
  for (const at of [8, 40, 8 + Math.floor(n / 2), 8 + n + 3, bytes.length - 2]) {
    const p = join(dir, `flip-${at}.nflow`);
    const copy = Buffer.from(bytes);
    copy[at] = copy[at]! ^ 0x5a;
    writeFileSync(p, copy);
    await assertBadFile(p, /corrupt|not a safetensors|invalid|not a normalizing-flows model/);
  }
  const cases: [string, Parameters<typeof editFile>[2], RegExp][] = [
    ["other-format", (m) => (m.format = "pytorch-checkpoint"), /not a normalizing-flows model file/],
    ["no-format", (m) => delete m.format, /not a normalizing-flows model file/],
    ["version-3", (m) => (m.formatVersion = "3"), /format version 3 .*newer.*upgrade/],
    ["version-bad", (m) => (m.formatVersion = "x"), /formatVersion/],
    ["bad-config", (m) => (m.config = JSON.stringify({ ...JSON.parse(m.config!), flow: "glow" })), /invalid config.*flow/],
    ["config-json", (m) => (m.config = "{not json"), /config is not valid JSON/],
    ["dtype-mismatch", (m) => (m.dtype = "float64"), /dtype/],
    ["bad-std", (m) => (m.preprocessing = JSON.stringify({ kind: "standardize", mean: [0, 0, 0], std: [1, 0, 1] })), /preprocessing\.std/],
    ["missing-tensor", (_m, t) => t.delete("layers.0.conditioner.linear0.weight"), /tensor layers\.0\.conditioner\.linear0\.weight is missing/],
    ["wrong-shape", (_m, t) => {
      const w = t.get("layers.0.conditioner.linear0.weight")!;
      t.set("layers.0.conditioner.linear0.weight", { shape: [w.data.length], data: w.data });
    }, /has shape \[\d+\], the config needs \[\d+, \d+\]/],
    ["wrong-dtype", (_m, t) => {
      const w = t.get("layers.0.conditioner.linear0.weight")!;
      t.set("layers.0.conditioner.linear0.weight", { shape: w.shape, data: Float64Array.from(w.data) });
    }, /is F64, expected F32/],
    ["extra-tensor", (_m, t) => t.set("layers.9.conditioner.linear0.weight", { shape: [1], data: new Float32Array(1) }), /unexpected tensor/],
    ["other-config", (m) => (m.config = JSON.stringify({ ...JSON.parse(m.config!), hidden: [16] })), /corrupt metadata \(layers\[0\]\.hidden\[0\] is 8, the config gives 16: the layer list disagrees with the config\)/],
    ["other-config-and-layers", (m) => {
      m.config = JSON.stringify({ ...JSON.parse(m.config!), hidden: [16] });
      m.layers = JSON.stringify(canonicalLayout(build(JSON.parse(m.config) as FlowConfig).flow).description.layers);
    }, /tensor layers\.0\.conditioner\.linear0\.weight has shape \[2, 8\], the config needs \[2, 16\]/],
    // hostile sizes are refused from the config alone, before anything is built or allocated
    ["huge-layers", (m) => (m.config = JSON.stringify({ ...JSON.parse(m.config!), layers: 1_000_000 })), /invalid config.*layers: at most 1,024, got 1,000,000/],
    ["huge-hidden", (m) => (m.config = JSON.stringify({ ...JSON.parse(m.config!), hidden: [1e9] })), /invalid config.*parameters .* exceed the limit of 134,217,728/],
  ];
  for (const [name, edit, pattern] of cases) {
    const p = join(dir, `${name}.nflow`);
    editFile(good, p, edit);
    await assertBadFile(p, pattern);
  }
  await assertBadFile(join(dir, "does-not-exist.nflow"), /no such model file/);
  mkdirSync(join(dir, "folder.nflow"), { recursive: true });
  await assertBadFile(join(dir, "folder.nflow"), /is a directory/);
});

test("model file: a failure between the flushed temporary file and the rename leaves the old file intact", async () => {
  const model = makeModel();
  const path = join(dir, "crash.nflow");
  await model.save(path);
  const before = readFileSync(path);
  const other = makeModel("float64");
  await assert.rejects(
    writeModelFile(path, { config: other.config }, other.params, {
      beforeRename: () => {
        throw new Error("simulated crash");
      },
    }),
    /simulated crash/,
  );
  assert.ok(readFileSync(path).equals(before), "the previous file is untouched");
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes("crash.nflow") && f.endsWith(".tmp")), [], "no temporary file is left");
  const loaded = await readModelFile(path);
  assert.equal(loaded.metadata.dtype, "float32");
  model.dispose();
  other.dispose();
  disposeTree(loaded.params);
});

/** Spawns the writer child and kills it (SIGKILL) when `ready` says so; resolves when it is gone. */
function killWriter(target: string, mode: "hang" | "write"): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(root, "test/io/fixtures/atomic-writer.ts"), target, mode], {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let killed = false;
    const kill = (): void => {
      if (!killed) {
        killed = true;
        child.kill("SIGKILL");
      }
    };
    child.stdout.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) kill();
    });
    let timer: NodeJS.Timeout | undefined;
    if (mode === "write") {
      // Kill as soon as the temporary file appears: the payload is being written.
      timer = setInterval(() => {
        if (readdirSync(dir).some((f) => f.startsWith(`.${basename(target)}.`) && f.endsWith(".tmp"))) kill();
      }, 2);
    }
    child.on("exit", () => {
      if (timer) clearInterval(timer);
      resolve();
    });
    child.on("error", reject);
  });
}

test("model file: killing a process mid-save never leaves a broken file where a good one was", async () => {
  const model = makeModel();
  for (const mode of ["hang", "write"] as const) {
    const path = join(dir, `kill-${mode}.nflow`);
    await model.save(path);
    const before = readFileSync(path);
    await killWriter(path, mode);
    const after = readFileSync(path);
    if (mode === "hang") assert.ok(after.equals(before), "killed before the rename: the old file is intact");
    // Either the old file or the complete new one, never a mix or a partial file.
    const complete = after.equals(before) || (after.length === 48 * 1024 * 1024 && after.every((b) => b === 0xab));
    assert.ok(complete, `${mode}: the file is the old one or the complete new one`);
    if (after.equals(before)) {
      const loaded = await loadModel(path);
      assert.ok(bytesOf(loaded.logProb(X)).equals(bytesOf(model.logProb(X))));
      loaded.dispose();
    }
  }
  model.dispose();
});
