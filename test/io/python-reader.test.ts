// python/nflow_reader.py (numpy only, float64) against the library: for every family the CLI
// trains (nice, realnvp on vectors and multi-scale images, maf, iaf, conditional maf/realnvp)
// `nflow logprob` and the reader print the same log p(x) for the same points; for what only a
// config reaches (every base, batch norm, random permutations, every activation, float64, image
// flows with context and several scales) models with RANDOM params are saved here and compared
// with the library's logProb of the loaded file (what `nflow logprob` calls), in format 2 and, for
// a few, written in format 1 as well; the shipped models/ (format 1) through the CLI; damaged files
// fail with exit 3 and one line. A python3 with numpy is REQUIRED (.ci/run installs python3-numpy).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "../../src/flows/build.js";
import type { FlowConfig } from "../../src/flows/config.js";
import { FlowModel } from "../../src/model/model.js";
import { loadModel } from "../../src/model/load.js";
import { v1ModelFileBytes } from "../support/v1-model-file.js";
import { hostRng, keyFromSeed, normal } from "../../src/engine/random.js";
import { mapTree } from "../../src/engine/tree.js";
import { np } from "../../src/engine/jax.js";
import type { FloatDType } from "../../src/engine/dtype.js";
import type { ContextInfo, StandardizationRecord } from "../../src/io/model-format.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const reader = join(root, "python/nflow_reader.py");
const main = join(root, "src/cli/main.ts");
const tsx = import.meta.resolve("tsx");
const dir = mkdtempSync(join(tmpdir(), "nflow-python-reader-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const path = (name: string): string => join(dir, name);

/** `python3` if it imports numpy, else /usr/bin/python3 if that does; else undefined (the tests fail). */
function findPython(): string | undefined {
  for (const py of ["python3", "/usr/bin/python3"]) {
    const r = spawnSync(py, ["-c", "import numpy"], { encoding: "utf8" });
    if (r.status === 0) return py;
  }
  return undefined;
}
const python = findPython();
const NO_NUMPY = "no python3 with numpy found (python3, /usr/bin/python3): install python3-numpy (CI's .ci/run does)";

function run(cmd: string, args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd: dir, encoding: "utf8", env: { ...process.env, NFLOW_DEBUG: "" }, timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const nflow = (...args: string[]) => run(process.execPath, ["--import", tsx, main, ...args]);

/** The reader's log p per row (exit 0 asserted). */
function readerLogProb(model: string, points: string, ...extra: string[]): number[] {
  assert.ok(python, NO_NUMPY);
  const r = run(python, [reader, model, points, ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split("\n").map(parseNumber);
}

function parseNumber(s: string): number {
  return s === "-Infinity" ? -Infinity : s === "Infinity" ? Infinity : Number(s);
}

/** `nflow logprob` of a CSV (exit 0 asserted). */
function cliLogProb(model: string, input: string, ...extra: string[]): number[] {
  const out = path(`lp-${Math.random().toString(36).slice(2)}.csv`);
  const r = nflow("logprob", "--model", model, "--input", input, "--out", out, ...extra);
  assert.equal(r.code, 0, r.stderr);
  const lines = readFileSync(out, "utf8").trim().split("\n");
  assert.equal(lines[0], "log_prob");
  return lines.slice(1).map(parseNumber);
}

/** Agreement to rtol relative (absolute below 1); −∞ must match −∞. */
function assertClose(got: number[], want: ArrayLike<number>, rtol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: ${got.length} values, expected ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    const [a, b] = [got[i]!, want[i]!];
    if (b === -Infinity) {
      assert.equal(a, -Infinity, `${what}, row ${i}: ${a}, expected -Infinity`);
      continue;
    }
    assert.ok(Number.isFinite(a) && Number.isFinite(b), `${what}, row ${i}: ${a} vs ${b}`);
    assert.ok(Math.abs(a - b) <= rtol * Math.max(1, Math.abs(b)), `${what}, row ${i}: reader ${a}, library ${b} (difference ${Math.abs(a - b)})`);
  }
}

function writeCsv(name: string, header: string[] | null, rows: number[][]): string {
  const lines = header ? [header.join(",")] : [];
  for (const r of rows) lines.push(r.map((v) => String(v)).join(","));
  writeFileSync(path(name), lines.join("\n") + "\n");
  return path(name);
}

/** Deterministic standard normals. */
function gaussians(n: number, d: number, seed: number): number[][] {
  const u = hostRng(seed);
  return Array.from({ length: n }, () =>
    Array.from({ length: d }, () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u())),
  );
}

// ---- CLI-trained models (every family the CLI trains) ------------------------------------------

const digitsFile = join(root, "models/t10k-0-99-images-idx3-ubyte.gz");
/** The first n shipped test digits as x = (b + 0.5)/256 (the model's units). */
function digits(n: number): number[][] {
  const bytes = gunzipSync(readFileSync(digitsFile));
  return Array.from({ length: n }, (_, i) => Array.from(bytes.subarray(16 + i * 784, 16 + (i + 1) * 784), (b) => (b + 0.5) / 256));
}

before(() => {
  // a 3-column table with a label (odd D: a "half" mask splits 2 | 1), standardised by the CLI
  const g = gaussians(400, 3, 7);
  const rows = g.map((r, i) => {
    const label = i % 3;
    return [5 + r[0]! + label, 2 * r[1]! - label, 0.5 * r[2]! + 2 * label - 3, label];
  });
  writeCsv("table.csv", ["a", "b", "c", "label"], rows);
  writeCsv("x3.csv", ["a", "b", "c"], rows.map((r) => r.slice(0, 3)));
  writeCsv("moons-points.csv", ["x1", "x2"], [[-1, 1.5], [0.5, -0.3], [1.8, 0.1], [0, 0.5], [3, -2]]);
  const pts = rows.slice(0, 6);
  writeCsv("table-points.csv", ["a", "b", "c", "label"], pts);
  writeCsv("x3-points.csv", ["a", "b", "c"], pts.map((r) => r.slice(0, 3)));
  writeCsv("table-context.csv", ["label"], pts.map((r) => [r[3]!]));
  writeCsv("digits.csv", null, digits(3));
  const common = ["--steps", "30", "--hidden", "8", "--lr", "0.01"];
  for (const [name, args] of [
    ["realnvp.nflow", ["--flow", "realnvp", "--data", "moons", "--layers", "3", ...common]],
    ["iaf.nflow", ["--flow", "iaf", "--data", "moons", "--layers", "2", ...common]],
    ["nice.nflow", ["--flow", "nice", "--data", path("x3.csv"), "--layers", "3", ...common]],
    ["maf.nflow", ["--flow", "maf", "--data", path("x3.csv"), "--layers", "2", ...common]],
    ["maf-cond.nflow", ["--flow", "maf", "--data", path("table.csv"), "--context-column", "label", "--layers", "2", ...common]],
    ["realnvp-cond.nflow", ["--flow", "realnvp", "--data", path("table.csv"), "--context-column", "label", "--layers", "2", ...common]],
    ["realnvp-image.nflow", ["--flow", "realnvp", "--data", digitsFile, "--layers", "1", "--hidden", "2", "--steps", "2", "--batch", "8", "--val", "0.2"]],
  ] as const) {
    const r = nflow("train", ...args, "--out", path(name));
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
  }
});

test("a python3 with numpy is available (CI installs python3-numpy)", () => {
  assert.ok(python, NO_NUMPY);
});

test("the reader reproduces nflow logprob for every family the CLI trains", () => {
  for (const [model, points] of [
    ["realnvp.nflow", "moons-points.csv"],
    ["iaf.nflow", "moons-points.csv"],
    ["nice.nflow", "x3-points.csv"],
    ["maf.nflow", "x3-points.csv"],
    ["realnvp-image.nflow", "digits.csv"],
  ] as const) {
    const want = cliLogProb(path(model), path(points));
    assertClose(readerLogProb(path(model), path(points)), want, 1e-4, model);
  }
});

test("conditional models: the context from a CTX.csv per row, from the points' named columns, or one row for all", () => {
  for (const model of ["maf-cond.nflow", "realnvp-cond.nflow"]) {
    // the CLI reads the model's context column "label" from the input table
    const want = cliLogProb(path(model), path("table-points.csv"));
    assertClose(readerLogProb(path(model), path("x3-points.csv"), "--context", path("table-context.csv")), want, 1e-4, `${model} --context CTX.csv`);
    assertClose(readerLogProb(path(model), path("table-points.csv")), want, 1e-4, `${model} context columns`);
    const one = cliLogProb(path(model), path("x3-points.csv"), "--context", "2");
    assertClose(readerLogProb(path(model), path("x3-points.csv"), "--context", "2"), one, 1e-4, `${model} --context 2`);
  }
});

test("the shipped models (NICE, multi-scale RealNVP, class-conditional MAF on MNIST) through nflow logprob", () => {
  const ctx = ["--context", "0,0,0,0,0,0,0,1,0,0"];
  for (const [model, extra] of [
    ["mnist-nice.nflow", []],
    ["mnist-realnvp.nflow", []],
    ["mnist-maf-conditional.nflow", ctx],
  ] as const) {
    const file = join(root, "models", model);
    assertClose(readerLogProb(file, path("digits.csv"), ...extra), cliLogProb(file, path("digits.csv"), ...extra), 1e-4, model);
  }
});

// ---- configs beyond the CLI's flags, with random params -----------------------------------------

/** Every leaf plus N(0, 0.3²) noise (batch-norm variances times e^{N(0, 0.3²)}, staying positive). */
function randomParams(config: FlowConfig, seed: number) {
  const { flow, config: c } = build(config);
  let s = seed;
  const params = mapTree(flow.init(keyFromSeed(c.seed), c.dtype), (leaf, p) => {
    const noise = normal(keyFromSeed(s++), leaf.shape, c.dtype as FloatDType).mul(0.3);
    return p.endsWith("runningVar") ? leaf.mul(np.exp(noise)) : leaf.add(noise);
  });
  return { flow, config: c, params };
}

interface Case {
  name: string;
  config: FlowConfig;
  points: number[][];
  context?: number[][];
  preprocessing?: StandardizationRecord;
  contextInfo?: ContextInfo;
  /** Also write the same model in format 1 (params by in-memory path, tensorsCrc32). */
  v1?: boolean;
}

const uniformPoints = (n: number, d: number, seed: number): number[][] => {
  const u = hostRng(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => (Math.floor(u() * 256) + u()) / 256));
};

const CASES: Case[] = [
  {
    name: "realnvp-bn-diag",
    config: { flow: "realnvp", dim: 5, layers: 3, hidden: [6, 5], activation: "tanh", mask: "alternating", permutation: "random", batchNorm: true, base: { kind: "diag-normal" }, seed: 3 },
    points: gaussians(6, 5, 1).map((r) => r.map((v, d) => 2 + v * (d + 1))),
    preprocessing: { kind: "standardize", mean: [2, 2, 2, 2, 2], std: [1, 2, 3, 4, 5] },
  },
  {
    name: "maf-bn-mog",
    config: { flow: "maf", dim: 4, layers: 2, hidden: [7], activation: "elu", permutation: "random", batchNorm: true, base: { kind: "mixture-of-gaussians", components: 3 }, seed: 5 },
    points: gaussians(6, 4, 2),
    v1: true,
  },
  {
    name: "iaf-cond-base",
    config: { flow: "iaf", dim: 3, layers: 2, hidden: [6], activation: "gelu", contextDim: 2, base: { kind: "conditional-diag-normal", hidden: [5] } },
    points: gaussians(5, 3, 3),
    context: gaussians(5, 2, 4),
    contextInfo: { dim: 2, columns: null, mean: [0.5, -1], std: [2, 0.5] },
    v1: true,
  },
  {
    name: "nice-logistic-stacked",
    config: { flow: "nice", dim: 4, layers: 4, hidden: [6], activation: "silu", mask: "alternating", base: { kind: "standard-logistic" } },
    points: gaussians(5, 4, 5),
    v1: true,
  },
  {
    name: "realnvp-odd-half",
    config: { flow: "realnvp", dim: 5, layers: 3, hidden: [4], activation: "softplus", scaleBound: 2 },
    points: gaussians(5, 5, 6),
    v1: true,
  },
  {
    name: "realnvp-uniform",
    config: { flow: "realnvp", dim: 2, layers: 2, hidden: [5], activation: "leaky_relu", base: { kind: "uniform", low: [-6, -5], high: [6, 7] } },
    points: [[0.1, 0.2], [-1, 1], [2, -1.5], [40, 40]],
  },
  {
    name: "maf-dim1",
    config: { flow: "maf", dim: 1, layers: 2, hidden: [4], base: { kind: "diag-normal" } },
    points: [[-1.5], [0], [0.7], [3]],
  },
  {
    name: "realnvp-lu-float64",
    config: { flow: "realnvp", dim: 4, layers: 3, hidden: [6], permutation: "lu", dtype: "float64" },
    points: gaussians(5, 4, 11),
  },
  {
    name: "maf-lu-cond",
    config: { flow: "maf", dim: 3, layers: 2, hidden: [6], permutation: "lu", contextDim: 2 },
    points: gaussians(5, 3, 12),
    context: gaussians(5, 2, 13),
  },
  {
    name: "maf-float64-cond",
    config: { flow: "maf", dim: 3, layers: 2, hidden: [6], contextDim: 1, dtype: "float64", batchNorm: true },
    points: gaussians(5, 3, 7),
    context: gaussians(5, 1, 8),
  },
  {
    name: "realnvp-float64",
    config: { flow: "realnvp", dim: 3, layers: 3, hidden: [6], dtype: "float64", rescale: true },
    points: gaussians(5, 3, 9),
  },
  {
    name: "image-realnvp-cond-bn",
    config: { flow: "realnvp", image: [1, 4, 4], layers: 2, hidden: [4], contextDim: 2, batchNorm: true },
    points: uniformPoints(4, 16, 10),
    context: [[1, 0], [0, 1], [1, 0], [0, 1]],
    v1: true,
  },
  {
    name: "image-realnvp-channels",
    config: { flow: "realnvp", image: [2, 4, 4], layers: 1, hidden: [3, 3] },
    points: uniformPoints(3, 32, 11),
  },
  {
    name: "image-realnvp-3-scales",
    config: { flow: "realnvp", image: [1, 8, 8], layers: 1, hidden: [2], scales: 3 },
    points: uniformPoints(3, 64, 12),
    v1: true,
  },
  {
    name: "image-maf",
    config: { flow: "maf", image: [1, 4, 4], layers: 2, hidden: [8] },
    points: uniformPoints(3, 16, 13),
  },
  {
    name: "image-nice",
    config: { flow: "nice", image: [1, 4, 4], layers: 3, hidden: [8] },
    points: uniformPoints(3, 16, 14),
  },
  {
    name: "realnvp-actnorm-lu",
    config: { flow: "realnvp", dim: 3, layers: 3, hidden: [6], actnorm: true, mixing: "lu", seed: 2 },
    points: gaussians(5, 3, 16),
  },
  {
    name: "maf-actnorm-bn",
    config: { flow: "maf", dim: 4, layers: 2, hidden: [7], actnorm: true, batchNorm: true },
    points: gaussians(5, 4, 17),
  },
  {
    name: "image-realnvp-glow",
    config: { flow: "realnvp", image: [2, 4, 4], layers: 1, hidden: [3], actnorm: true, mixing: "lu" },
    points: uniformPoints(3, 32, 18),
  },
  // splines (RQ-NSF): points inside [−B, B], on its edge and in the identity tails
  {
    name: "realnvp-spline-float64",
    config: { flow: "realnvp", dim: 3, layers: 3, hidden: [6], transformer: "spline", bins: 5, bound: 2, dtype: "float64" },
    points: [...gaussians(4, 3, 19), [2, -2, 0.5], [3.5, -0.2, -4]],
  },
  {
    name: "realnvp-spline-lu",
    config: { flow: "realnvp", dim: 2, layers: 2, hidden: [5], transformer: "spline", permutation: "lu" },
    points: [...gaussians(4, 2, 20), [3, -3], [5, 0.1]],
  },
  {
    name: "maf-spline-cond",
    config: { flow: "maf", dim: 3, layers: 2, hidden: [6], transformer: "spline", bins: 4, bound: 1.5, contextDim: 2 },
    points: [...gaussians(4, 3, 21), [1.5, -1.5, 2]],
    context: [...gaussians(4, 2, 22), [0.3, -0.3]],
  },
  {
    name: "iaf-spline-float64",
    config: { flow: "iaf", dim: 3, layers: 2, hidden: [6], transformer: "spline", bins: 3, dtype: "float64" },
    points: [...gaussians(4, 3, 23), [3, 0, -3.5]],
  },
  {
    name: "maf-additive",
    config: { flow: "maf", dim: 2, layers: 2, hidden: [5], transformer: "additive" },
    points: gaussians(4, 2, 24),
  },
  {
    name: "image-realnvp-float64",
    config: { flow: "realnvp", image: [1, 4, 4], layers: 1, hidden: [3], dtype: "float64" },
    points: uniformPoints(3, 16, 15),
  },
];

/** Saves a case's model with random params (format 2, and format 1 when `c.v1`): the file paths. */
async function saveCase(c: Case): Promise<string[]> {
  const { flow, config, params } = randomParams(c.config, 100);
  const K = config.contextDim;
  const record = {
    config,
    preprocessing: c.preprocessing ?? null,
    context: K > 0 ? (c.contextInfo ?? { dim: K, columns: null, mean: null, std: null }) : null,
    data: null,
    training: null,
  };
  const built = new FlowModel(flow, params, record);
  const files = [path(`${c.name}.nflow`)];
  try {
    await built.save(files[0]!);
    if (c.v1) {
      files.push(path(`${c.name}-v1.nflow`));
      writeFileSync(files[1]!, v1ModelFileBytes(built));
    }
  } finally {
    built.dispose();
  }
  return files;
}

test("every base, batch norm, random permutations, actnorm and 1×1 convolutions, splines, activations, float64 and image flows: the reader equals the library's logProb", async () => {
  for (const c of CASES) {
    const files = await saveCase(c);
    const points = writeCsv(`${c.name}-x.csv`, null, c.points);
    const extra = c.context ? ["--context", writeCsv(`${c.name}-c.csv`, null, c.context)] : [];
    const rtol = c.config.dtype === "float64" ? 1e-9 : 1e-4;
    for (const file of files) {
      const model = await loadModel(file);
      try {
        const want = model.logProb(c.points, c.context);
        assert.ok(want.some(Number.isFinite), `${c.name}: some finite log p`);
        assertClose(readerLogProb(file, points, ...extra), want, rtol, file.endsWith("-v1.nflow") ? `${c.name} (format 1)` : c.name);
      } finally {
        model.dispose();
      }
    }
  }
});

// ---- damaged files -------------------------------------------------------------------------------

function readerFails(file: string, points: string, pattern: RegExp): void {
  assert.ok(python, NO_NUMPY);
  const r = run(python, [reader, file, points]);
  assert.equal(r.code, 3, `exit ${r.code}: ${r.stderr}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
}

test("a damaged file: exit 3 and one line (a flipped tensor byte, edited metadata, a truncated file)", async () => {
  const good = readFileSync(path("realnvp.nflow"));
  const points = path("moons-points.csv");
  const flipped = Buffer.from(good);
  flipped[flipped.length - 3]! ^= 0x10;
  writeFileSync(path("flipped.nflow"), flipped);
  readerFails(path("flipped.nflow"), points, /checksum/);
  // the config's log-scale bound, inside the metadata string (JSON in JSON: escaped quotes)
  const edited = Buffer.from(good.toString("latin1").replace('scaleBound\\":3', 'scaleBound\\":4'), "latin1");
  assert.notDeepEqual(edited, good);
  writeFileSync(path("edited.nflow"), edited);
  readerFails(path("edited.nflow"), points, /checksum/);
  writeFileSync(path("truncated.nflow"), good.subarray(0, good.length - 100));
  readerFails(path("truncated.nflow"), points, /truncated/);
  // format 1: the tensor CRC
  const nice = CASES.find((c) => c.name === "nice-logistic-stacked")!;
  const v1 = Buffer.from(readFileSync((await saveCase(nice))[1]!));
  v1[v1.length - 5]! ^= 0x01;
  writeFileSync(path("v1-flipped.nflow"), v1);
  readerFails(path("v1-flipped.nflow"), writeCsv("nice-x.csv", null, nice.points), /corrupt tensor data/);
  // a bad command line: exit 2
  const usage = run(python!, [reader, path("realnvp.nflow")]);
  assert.equal(usage.code, 2, usage.stderr);
});
