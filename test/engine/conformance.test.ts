/**
 * Pins the jax-js 0.1.25 behaviours this library relies on or works around (ENGINE-NOTES.md).
 * When an upgrade changes one of them, this file says which, so the upgrade is a deliberate act.
 * Tests named "BUG ..." assert the bug is STILL there: when one fails, the workaround can go.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { np, jit, grad, jacfwd, defaultDevice, random, type Array } from "../../src/engine/jax.js";
import { takeColumns, placeColumns } from "../../src/engine/select.js";
import { keyFromSeed, normal, splitKey } from "../../src/engine/random.js";
import { scalar } from "../../src/engine/dtype.js";

const mk = (): Array => np.array(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
const js = (x: Array): unknown => JSON.stringify(x.js());

test("shims: float64 arrays can be built from Float64Array and einsum works on Node 20", () => {
  defaultDevice("wasm");
  const x = np.array(new Float64Array([1, 2, 3, 4]), { shape: [2, 2] });
  assert.equal(String(x.dtype), "float64");
  const y = np.einsum("ij,jk->ik", x.ref, x);
  assert.deepEqual(y.js(), [[7, 10], [15, 22]]);
});

test("BUG jax-js: grad of slice under jit is wrong when the cotangent is a broadcast constant", () => {
  defaultDevice("wasm");
  const f = (x: Array): Array => x.slice([], [1, 3]).sum();
  assert.equal(js(grad(f)(mk())), "[[0,1,1],[0,1,1]]", "eager grad is right");
  assert.equal(js(jit(grad(f))(mk())), "[[1,1,1],[1,1,1]]", "jit grad still wrong (workaround: engine/select.ts)");
});

test("workaround: takeColumns / placeColumns have correct gradients under jit", () => {
  defaultDevice("wasm");
  const f = (x: Array): Array => takeColumns(x, [1, 2]).sum();
  assert.equal(js(jit(grad(f))(mk())), "[[0,1,1],[0,1,1]]");
  const g = (x: Array): Array => placeColumns(takeColumns(x, [2, 0]), [0, 1], 3).mul(np.arange(3).astype(np.float32)).sum();
  // out = [x2, x0, 0] · [0, 1, 2] = x0 → gradient 1 at column 0 only
  assert.equal(js(jit(grad(g))(mk())), "[[1,0,0],[1,0,0]]");
});

test("BUG jax-js: gradient of a gather with an index array fails under jit", () => {
  defaultDevice("wasm");
  const f = (x: Array): Array => np.take(x, np.array([1], { dtype: np.int32 }), 1).sum();
  assert.throws(() => jit(grad(f))(mk()), /not imm/);
});

test("jacfwd returns the TRANSPOSE of the Jacobian", () => {
  defaultDevice("cpu");
  const A = np.array(new Float64Array([2, -1, 2, 1]), { shape: [2, 2] });
  const J = jacfwd((z: Array) => np.matmul(A.ref, z))(np.array(new Float64Array([1, 1])));
  assert.deepEqual(J.js(), [[2, 2], [-1, 1]]);
  A.dispose();
});

test("cpu device: float64 exp/log are exact to double precision", () => {
  defaultDevice("cpu");
  const x = np.array(new Float64Array([0.1, 1.7, 3.3]));
  const y = np.log(np.exp(x)).dataSync();
  [0.1, 1.7, 3.3].forEach((v, i) => assert.ok(Math.abs(y[i]! - v) < 1e-15));
});

test("wasm device: float64 log is exact to double precision (scripts/patch-jax-js.mjs; unpatched 0.1.25 errs by 1e-5)", () => {
  defaultDevice("wasm");
  const vals = Array.from({ length: 256 }, (_, i) => 1 + i * 0.37);
  const y = np.log(np.array(new Float64Array(vals))).dataSync();
  const worst = vals.reduce((m, v, i) => Math.max(m, Math.abs(y[i]! - Math.log(v)) / Math.log(v + 1)), 0);
  assert.ok(worst < 1e-15, `wasm float64 log is float32-accurate again (max rel err ${worst}): is the patch applied?`);
});

test("summing a bool array returns bool: cast first", () => {
  defaultDevice("wasm");
  const b = np.array(new Float32Array(200).map((_, i) => i)).greater(100);
  assert.equal(String(b.ref.sum().dtype), "bool");
  assert.equal(b.astype(np.float32).sum().item(), 99);
});

test("random: keys made outside jit give reproducible draws; split keys differ", () => {
  defaultDevice("wasm");
  const a = normal(keyFromSeed(3), [4], "float32").dataSync();
  const b = normal(keyFromSeed(3), [4], "float32").dataSync();
  assert.deepEqual(Array.from(a), Array.from(b));
  const [k1, k2] = splitKey(keyFromSeed(3), 2);
  const c = random.normal(k1!, [4]).dataSync();
  const d = random.normal(k2!, [4]).dataSync();
  assert.notDeepEqual(Array.from(c), Array.from(d));
  const f = jit((k: Array) => random.normal(k, [4]));
  assert.deepEqual(Array.from(f(keyFromSeed(3)).dataSync()), Array.from(a), "normal under jit with a key argument");
});

test("use after consume throws (ownership mistakes fail loudly)", () => {
  defaultDevice("wasm");
  const x = mk();
  x.add(1).dispose();
  assert.throws(() => x.add(1), /freed|ref/i);
});

test("under jit a bare JS number keeps its float64 value (scripts/patch-jax-js.mjs; unpatched 0.1.25 made it float32)", () => {
  for (const device of ["cpu", "wasm"] as const) {
    defaultDevice(device);
    const x = (): Array => np.array(new Float64Array(200).fill(1), { dtype: np.float64 });
    const bare = jit((v: Array) => v.mul(1.1).sum());
    const typed = jit((v: Array) => v.mul(scalar(1.1, v)).sum());
    assert.ok(Math.abs(bare(x()).item() - 220) < 1e-11, `${device}: bare constants are float32 again under jit: is the patch applied?`);
    assert.ok(Math.abs(typed(x()).item() - 220) < 1e-11, `${device}: engine/dtype.ts scalar()`);
  }
});

test("BUG jax-js: float64 jit(grad) is wrong when the loss ENDS in a bare reduction of a broadcast (workaround: weight or negate)", () => {
  const D = 3;
  const N = 16;
  const X = Array.from({ length: N * D }, (_, i) => Math.sin(1.7 * i + 0.3));
  const body = (g: Array, x: Array): Array => x.mul(g.ref).sum(1).sub(np.broadcastTo(g.sum(), [N]));
  const bare = (g: Array, x: Array): Array => body(g, x).mean();
  const weighted = (g: Array, x: Array, w: Array): Array => body(g, x).mul(w).sum();
  const negated = (g: Array, x: Array): Array => body(g, x).mean().neg();
  for (const device of ["cpu", "wasm"] as const) {
    defaultDevice(device);
    const g = (): Array => np.array(new Float64Array([0.3, -0.5, 0.1]), { dtype: np.float64 });
    const x = (): Array => np.array(new Float64Array(X), { shape: [N, D], dtype: np.float64 });
    const w = (): Array => np.full([N], 1 / N, { dtype: np.float64 });
    const want = Array.from(grad(bare)(g(), x()).dataSync() as Float64Array);
    let bug = false;
    try {
      const got = Array.from(jit(grad(bare))(g(), x()).dataSync() as Float64Array);
      bug = got.some((v, i) => Math.abs(v - want[i]!) > 1e-9);
    } catch {
      bug = true; // cpu: "bufidx out of bounds"
    }
    assert.ok(bug, `${device}: float64 jit(grad(mean)) became right; the loss workaround in train/ can go`);
    const gotW = Array.from(jit(grad(weighted))(g(), x(), w()).dataSync() as Float64Array);
    gotW.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-12, `${device}: weighted-sum loss gradient`));
    const gotN = Array.from(jit(grad(negated))(g(), x()).dataSync() as Float64Array);
    gotN.forEach((v, i) => assert.ok(Math.abs(v + want[i]!) < 1e-12, `${device}: negated-mean loss gradient`));
  }
});

test("BUG jax-js: matmul of [C, C] by a batch [N, C, P] returns [C, N, P], not numpy's [N, C, P] (workaround: broadcast the matrix to [N, C, C], bijectors/conv1x1.ts)", () => {
  defaultDevice("wasm");
  const [N, C, P] = [2, 3, 4];
  const m = [1, 2, 3, 4, 5, 6, 7, 8, 10];
  const xs = Float32Array.from({ length: N * C * P }, (_, i) => i + 1);
  // numpy: y[n, i, p] = Σ_k M[i, k] x[n, k, p]
  const expected: number[] = [];
  for (let n = 0; n < N; n++)
    for (let i = 0; i < C; i++)
      for (let p = 0; p < P; p++) {
        let s = 0;
        for (let k = 0; k < C; k++) s += m[i * C + k]! * xs[n * C * P + k * P + p]!;
        expected.push(s);
      }
  const M = np.array(new Float32Array(m), { shape: [C, C] });
  const x = np.array(xs, { shape: [N, C, P] });
  const plain = np.matmul(M.ref, x.ref);
  assert.deepEqual(plain.shape, [C, N, P], "still the transposed batch layout");
  plain.dispose();
  const broadcast = np.matmul(np.broadcastTo(M, [N, C, C]), x);
  assert.deepEqual(broadcast.shape, [N, C, P]);
  assert.deepEqual(Array.from(broadcast.dataSync()), expected, "the workaround gives numpy's answer");
});
