import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, jit, type Array } from "../../src/engine/jax.js";
import { fromValues, type FloatDType } from "../../src/engine/dtype.js";
import { refTree, disposeTree, treeToHost } from "../../src/engine/tree.js";
import { adamInit, adamUpdate, disposeAdamState, type AdamState } from "../../src/train/adam.js";
import { learningRate, parseSchedule } from "../../src/train/schedules.js";
import { ConfigError } from "../../src/engine/errors.js";

type P = { w: Array; inner: { b: Array } };

/** Plain-JS Adam (torch.optim.Adam / AdamW semantics) over a flat vector. */
function hostAdam(p0: number[], gradOf: (p: number[]) => number[], steps: number, lrs: number[], o: { wd?: number; clip?: number } = {}): number[] {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  let p = p0.slice();
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  for (let t = 1; t <= steps; t++) {
    let g = gradOf(p);
    if (o.clip !== undefined) {
      const norm = Math.sqrt(g.reduce((s, x) => s + x * x, 0));
      if (norm > o.clip) g = g.map((x) => (x * o.clip!) / norm);
    }
    const lr = lrs[t - 1]!;
    p = p.map((pi, i) => {
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
      const mh = m[i]! / (1 - b1 ** t);
      const vh = v[i]! / (1 - b2 ** t);
      return pi - lr * (o.wd ?? 0) * pi - (lr * mh) / (Math.sqrt(vh) + eps);
    });
  }
  return p;
}

// loss = Σ a_i (p_i − c_i)² + p_0 p_3 : a non-separable quadratic with known gradient.
const A = [1, 3, 0.5, 2, 5];
const C = [0.3, -1, 2, 0.5, -0.2];
const gradHost = (p: number[]) => p.map((x, i) => 2 * A[i]! * (x - C[i]!) + (i === 0 ? p[3]! : i === 3 ? p[0]! : 0));
const P0 = [1, 2, -1, 0.5, 3];

function makeParams(p: number[], dtype: FloatDType): P {
  return { w: fromValues(p.slice(0, 3), [3], dtype), inner: { b: fromValues(p.slice(3), [2], dtype) } };
}
function flat(p: P): number[] {
  const h = treeToHost(p);
  return [...h["inner.b"]!.data, ...h["w"]!.data].length === 5 ? [...h["w"]!.data, ...h["inner.b"]!.data] : [];
}
function gradArrays(p: P, dtype: FloatDType): P {
  return makeParams(gradHost(flat(p)), dtype);
}

function runOurs(dtype: FloatDType, steps: number, lrs: number[], o: { wd?: number; clip?: number }, useJit: boolean): number[] {
  const update = (p: P, g: P, s: AdamState, lr: Array) =>
    adamUpdate(p, g, s, { lr, weightDecay: o.wd, clipNorm: o.clip }) as { params: P; state: AdamState };
  const f = useJit ? jit(update as never) as unknown as typeof update : update;
  let p = makeParams(P0, dtype);
  let s = adamInit(p);
  for (let t = 0; t < steps; t++) {
    const g = gradArrays(p, dtype);
    const r = f(p, g, s, fromValues([lrs[t]!], [], dtype));
    p = r.params;
    s = r.state;
  }
  const out = flat(p);
  assert.equal(Number(s.t.ref.dataSync()[0]), steps, "t counts the updates");
  disposeTree(p);
  disposeAdamState(s);
  if (useJit) (f as unknown as { dispose(): void }).dispose();
  return out;
}

function maxDiff(a: number[], b: number[]): number {
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
}

test("adam matches a host reference (float64, cpu): plain, decoupled weight decay, clipping, changing lr", () => {
  defaultDevice("cpu");
  const steps = 7;
  const lrs = Array.from({ length: steps }, (_, t) => 0.1 * 0.8 ** t);
  for (const o of [{}, { wd: 0.05 }, { clip: 0.5 }, { wd: 0.01, clip: 2 }]) {
    const ref = hostAdam(P0, gradHost, steps, lrs, o);
    for (const useJit of [false, true]) {
      const ours = runOurs("float64", steps, lrs, o, useJit);
      const d = maxDiff(ours, ref);
      assert.ok(d < 1e-12, `options ${JSON.stringify(o)} jit=${useJit}: max diff ${d}`);
    }
    // the reference really moved: the test could fail
    assert.ok(maxDiff(ref, P0) > 0.1);
  }
  // clipping was active in this problem (the gradient norm is far above 0.5)
  assert.ok(maxDiff(hostAdam(P0, gradHost, steps, lrs, { clip: 0.5 }), hostAdam(P0, gradHost, steps, lrs)) > 1e-3);
});

test("adam in float32 on wasm agrees with the float64 reference to 1e-6", () => {
  defaultDevice("wasm");
  const steps = 5;
  const lrs = Array(steps).fill(1e-2);
  const ref = hostAdam(P0, gradHost, steps, lrs);
  const ours = runOurs("float32", steps, lrs, {}, true);
  const d = maxDiff(ours, ref);
  assert.ok(d < 1e-6, `float32 max diff ${d}`);
});

test("adam state has zero moments and t = 0, and init does not consume the params", () => {
  defaultDevice("cpu");
  const p = makeParams(P0, "float64");
  const s = adamInit(refTree(p));
  assert.deepEqual([...s.m.ref.dataSync()], [0, 0, 0, 0, 0], "one flat moment vector over all leaves");
  assert.deepEqual([...s.v.ref.dataSync()], [0, 0, 0, 0, 0]);
  assert.equal(Number(s.t.ref.dataSync()[0]), 0);
  assert.deepEqual(flat(p), P0);
  disposeTree(p);
  disposeAdamState(s);
});

test("schedules: constant, cosine with warm-up, step decay", () => {
  const T = 100;
  assert.equal(learningRate({ kind: "constant" }, 57, T, 0.01), 0.01);
  const cos = parseSchedule({ kind: "cosine", warmupSteps: 10 });
  assert.equal(learningRate(cos, 0, T, 1), 0.1);
  assert.equal(learningRate(cos, 9, T, 1), 1);
  assert.equal(learningRate(cos, 10, T, 1), 1);
  assert.ok(Math.abs(learningRate(cos, 55, T, 1) - 0.5) < 1e-12, "half-way through the decay is lr/2");
  assert.ok(learningRate(cos, 99, T, 1) < 0.001);
  const cosMin = parseSchedule({ kind: "cosine", minFactor: 0.1 });
  assert.ok(Math.abs(learningRate(cosMin, T, T, 2) - 0.2) < 1e-12, "decays to minFactor·lr");
  const st = parseSchedule({ kind: "step", everySteps: 30, gamma: 0.1 });
  assert.equal(learningRate(st, 29, T, 1), 1);
  assert.ok(Math.abs(learningRate(st, 30, T, 1) - 0.1) < 1e-15);
  assert.ok(Math.abs(learningRate(st, 95, T, 1) - 0.001) < 1e-15);
  assert.deepEqual(parseSchedule("cosine"), { kind: "cosine" });
  assert.throws(() => parseSchedule({ kind: "exponential" }), ConfigError);
  assert.throws(() => parseSchedule({ kind: "step", everySteps: 0 }), ConfigError);
});
