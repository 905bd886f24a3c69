/**
 * float64 means float64 (issue 9, case 8; docs/float64.md): on the default (wasm) device a float64
 * array's exp, log, sin, cos (patched jax-js, scripts/patch-jax-js.mjs) and the library's log1p,
 * expm1, tanh, softplus, sigmoid (engine/math.ts) agree with Math.* to ~1e-15 relative, eager and
 * under jit; a float64 RealNVP's log p agrees with the exact cpu device; and the CLI's encode and
 * logprob agree with a finite-difference Jacobian at h = 1e-5.
 * Inputs are ≥ 128 elements (smaller constant arrays are evaluated in JS doubles, ENGINE-NOTES.md).
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { np, jit, grad, defaultDevice, type Array } from "../../src/engine/jax.js";
import { log1p, expm1, tanh, softplus, sigmoid, logSigmoid } from "../../src/engine/math.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { build } from "../../src/flows/build.js";
import { FlowModel } from "../../src/model/model.js";
import { Flow } from "../../src/distributions/flow.js";
import { StandardNormal } from "../../src/distributions/standard-normal.js";
import { Permutation } from "../../src/bijectors/permutation.js";
import { createRequire } from "node:module";
import { dirname } from "node:path";

const MARK = "/* nflow-patch: float64 v1 */"; // scripts/patch-jax-js.mjs

const lin = (a: number, b: number, n = 2048): number[] => Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
const logspace = (a: number, b: number, n = 2048): number[] => Array.from({ length: n }, (_, i) => 10 ** (a + ((b - a) * i) / (n - 1)));
const mirror = (v: number[]): number[] => [...v, ...v.map((x) => -x)];
const f64 = (v: number[]): Array => np.array(new Float64Array(v), { dtype: np.float64 });

/** Worst relative error of f against ref over xs, eager and jitted (exact matches of ±Inf/NaN/0 count as 0). */
function worst(f: (x: Array) => Array, ref: (x: number) => number, xs: number[]): { eager: number; jit: number; at: number } {
  const eager = f(f64(xs)).dataSync() as Float64Array;
  const jitted = jit(f)(f64(xs)).dataSync() as Float64Array;
  let e = 0;
  let j = 0;
  let at = NaN;
  xs.forEach((x, i) => {
    const r = ref(x);
    const err = (v: number): number => (Object.is(v, r) || v === r ? 0 : Math.abs(v - r) / Math.abs(r));
    if (err(eager[i]!) > e) [e, at] = [err(eager[i]!), x];
    j = Math.max(j, err(jitted[i]!));
  });
  return { eager: e, jit: j, at };
}

function assertAccurate(name: string, f: (x: Array) => Array, ref: (x: number) => number, xs: number[], tol = 1e-15): void {
  const w = worst(f, ref, xs);
  assert.ok(w.eager <= tol && w.jit <= tol, `${name}: relative error eager ${w.eager}, jit ${w.jit} (worst at x = ${w.at})`);
}

const refSoftplus = (x: number): number => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const refSigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

test("the float64 patch of @jax-js/jax is installed (npm install runs scripts/patch-jax-js.mjs)", () => {
  const dist = dirname(createRequire(import.meta.url).resolve("@jax-js/jax"));
  for (const f of ["index.js", "index.cjs", ...readdirSync(dist).filter((n) => /^backend-.*\.c?js$/.test(n))]) assert.ok(readFileSync(join(dist, f), "utf8").includes(MARK), `${f} is not patched`);
});

for (const device of ["wasm", "cpu"] as const) {
  test(`${device}: float64 exp and log agree with Math to 1e-15 relative over the whole range`, () => {
    defaultDevice(device);
    const special = [0, -0, Infinity, -Infinity, NaN, 1e-300, -1e-300, 709.78, 709.7827, -745.1, -708.4, 1];
    assertAccurate("exp", np.exp, Math.exp, [...lin(-745, 709.7), ...lin(-1, 1), ...special]);
    assert.equal((np.exp(f64(lin(0.1, 0.2, 200))).dataSync() as Float64Array)[0], Math.exp(0.1), "exp(0.1) is Math.exp(0.1)");
    const logSpecial = [0, -1, Infinity, NaN, 5e-324, 1e-310, 2.2250738585072014e-308, Number.MAX_VALUE, 1, Math.SQRT2, Math.SQRT1_2];
    assertAccurate("log", np.log, Math.log, [...logspace(-320, 308), ...lin(0.5, 2), ...logSpecial]);
    assertAccurate("sin", np.sin, Math.sin, lin(-1000, 1000), 1e-15);
    assertAccurate("cos", np.cos, Math.cos, lin(-1000, 1000), 1e-15);
  });

  test(`${device}: float64 log1p, expm1, tanh, softplus, sigmoid (engine/math.ts) agree with closed forms to 1e-15`, () => {
    defaultDevice(device);
    const tiny = mirror(logspace(-300, 0, 512));
    assertAccurate("log1p", log1p, Math.log1p, [...logspace(-300, 300), ...tiny.filter((x) => x > -1), ...lin(-0.999, 3), -1, Infinity, 0]);
    assertAccurate("expm1", expm1, Math.expm1, [...tiny, ...lin(-40, 709), -800, 0]);
    assertAccurate("tanh", tanh, Math.tanh, [...tiny, ...mirror(lin(0, 30)), 400, -400, Infinity, -Infinity, 0], 1.2e-15);
    assertAccurate("softplus", softplus, refSoftplus, [...lin(-740, 700), ...tiny, ...lin(-40, 40), 0], 1.2e-15);
    assertAccurate("sigmoid", sigmoid, refSigmoid, [...lin(-740, 740), ...tiny, 0], 1.2e-15);
    assertAccurate("logSigmoid", logSigmoid, (x) => -refSoftplus(-x), [...lin(-700, 740), ...tiny], 1.2e-15);
  });
}

test("under jit a bare JS number keeps its float64 value (patched; was a float32 constant)", () => {
  for (const device of ["cpu", "wasm"] as const) {
    defaultDevice(device);
    const y = jit((v: Array) => v.mul(1.1).add(1 / 3))(f64(lin(1, 2, 200))).dataSync() as Float64Array;
    lin(1, 2, 200).forEach((x, i) => assert.ok(Math.abs(y[i]! - (x * 1.1 + 1 / 3)) <= 4e-16 * y[i]!, `${device}: x = ${x}`));
    // float32 code still rounds the constant to float32, as before
    const z = jit((v: Array) => v.mul(1.1))(np.ones([200])).dataSync() as Float32Array;
    assert.equal(z[0], Math.fround(1.1));
  }
});

test("gradients of the library's functions are right, also at 0 (where-branches chosen for it)", () => {
  defaultDevice("wasm");
  const xs = [0, 1e-8, -1e-8, 0.3, -0.7, 2.5, -30, 30, ...lin(-5, 5, 200)];
  const check = (name: string, f: (x: Array) => Array, d: (x: number) => number): void => {
    const g = jit(grad((x: Array) => f(x).sum()))(f64(xs)).dataSync() as Float64Array;
    xs.forEach((x, i) => assert.ok(Math.abs(g[i]! - d(x)) <= 1e-14 * (1 + Math.abs(d(x))), `${name}'(${x}) = ${g[i]}, want ${d(x)}`));
  };
  check("tanh", tanh, (x) => 1 - Math.tanh(x) ** 2);
  check("softplus", softplus, refSigmoid);
  check("sigmoid", sigmoid, (x) => refSigmoid(x) * refSigmoid(-x));
  check("log1p", (x) => log1p(x.mul(0.01)), (x) => 0.01 / (1 + 0.01 * x));
});

test("a float64 RealNVP's log p on wasm equals the exact cpu device's to 1e-12", () => {
  defaultDevice("wasm");
  const { flow, config } = build({ flow: "realnvp", dim: 2, layers: 8, hidden: [64, 64], activation: "tanh", dtype: "float64" });
  const params = flow.init(keyFromSeed(3), "float64");
  const host = JSON.stringify(params, (_k, v: unknown) => (v && typeof v === "object" && "dataSync" in v ? { shape: (v as Array).shape, data: Array.from((v as Array).ref.dataSync()) } : v));
  const record = { config, preprocessing: null, context: null, data: null, training: null };
  const x = Array.from({ length: 256 }, (_, i) => [2 * Math.sin(0.37 * i), 1.5 * Math.cos(0.11 * i * i)]);
  const onWasm = new FlowModel(flow, params, record).logProb(x);
  defaultDevice("cpu");
  const cpuParams = JSON.parse(host, (_k, v: { shape?: number[]; data?: number[] }) => (v && v.data && v.shape ? np.array(new Float64Array(v.data), { shape: v.shape, dtype: np.float64 }) : v));
  const onCpu = new FlowModel(flow, cpuParams, record).logProb(x);
  defaultDevice("wasm");
  onWasm.forEach((lp, i) => assert.ok(Math.abs(lp - onCpu[i]!) <= 1e-12 * (1 + Math.abs(lp)), `row ${i}: wasm ${lp}, cpu ${onCpu[i]}`));
});

test("nflow encode of a float64 model: log|det J| by central differences (h = 1e-5) = logprob − log N(z) to 1e-7", () => {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), "nflow-f64-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const nflow = (...args: string[]): void => {
    const r = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), join(root, "src/cli/main.ts"), ...args], { cwd: dir, encoding: "utf8", timeout: 180_000 });
    assert.equal(r.status, 0, r.stderr);
  };
  nflow("train", "--flow", "realnvp", "--data", "moons", "--n", "1000", "--steps", "60", "--layers", "4", "--hidden", "32,32", "--dtype", "float64", "--seed", "2", "--out", "m.nflow");
  const h = 1e-5;
  const pts = [[-0.8, 0.4], [0.3, 0.9], [1.6, -0.3], [0.5, -0.1], [-0.2, 1.1]];
  const rows: number[][] = [];
  for (const p of pts) {
    rows.push(p);
    for (let d = 0; d < 2; d++) for (const s of [1, -1]) rows.push(p.map((v, k) => (k === d ? v + s * h : v)));
  }
  writeFileSync(join(dir, "x.csv"), "x1,x2\n" + rows.map((r) => r.join(",")).join("\n") + "\n");
  nflow("encode", "--model", "m.nflow", "--input", "x.csv", "--out", "z.csv");
  nflow("logprob", "--model", "m.nflow", "--input", "x.csv", "--out", "lp.csv");
  const read = (f: string): number[][] => readFileSync(join(dir, f), "utf8").trim().split("\n").slice(1).map((l) => l.split(",").map(Number));
  const z = read("z.csv");
  const lp = read("lp.csv");
  pts.forEach((_, i) => {
    const b = 5 * i;
    // J[:, d] = (z(x + h e_d) − z(x − h e_d)) / 2h
    const J = [0, 1].map((d) => [0, 1].map((k) => (z[b + 1 + 2 * d]![k]! - z[b + 2 + 2 * d]![k]!) / (2 * h)));
    const logDetFd = Math.log(Math.abs(J[0]![0]! * J[1]![1]! - J[0]![1]! * J[1]![0]!));
    const z0 = z[b]!;
    const logNormal = -0.5 * (z0[0]! ** 2 + z0[1]! ** 2) - Math.log(2 * Math.PI);
    const reported = lp[b]![0]! - logNormal;
    assert.ok(Math.abs(logDetFd - reported) < 1e-7, `point ${i}: finite differences ${logDetFd}, reported ${reported}`);
  });
});

test("a parameter-free float64 flow samples in float64", () => {
  defaultDevice("wasm");
  const { config } = build({ flow: "realnvp", dim: 2, layers: 2, hidden: [4], dtype: "float64" });
  const flow = new Flow(new StandardNormal(2), new Permutation([1, 0]));
  const model = new FlowModel(flow, flow.init(keyFromSeed(1), "float64"), { config, preprocessing: null, context: null, data: null, training: null });
  const s = model.sample(200, { seed: 4 }).flat();
  // float32 samples are all exactly representable in float32; float64 ones are not
  assert.ok(s.some((v) => Math.fround(v) !== v), "samples are float32 values");
});
