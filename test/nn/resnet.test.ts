/**
 * The convolutional residual conditioner (src/nn/resnet.ts) against two independent references:
 * a plain-JS nested-loop convolution network and jax-js's own `lax.conv` (NCHW, PyTorch-layout
 * weights), in float64 on the exact `cpu` device; gradients under jit against the eager
 * gradient of the `lax.conv` network, for a weighted loss and for a bare `.sum()` (the
 * broadcast-cotangent case of jax-js's jit slice-gradient bug, ENGINE-NOTES.md).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, grad, jit, lax, np, tree, valueAndGrad, type Array } from "../../src/engine/jax.js";
import { fromValues, type FloatDType } from "../../src/engine/dtype.js";
import { ConfigError, ShapeError } from "../../src/engine/errors.js";
import { keyFromSeed, normal } from "../../src/engine/random.js";
import { countParams, disposeTree, refTree } from "../../src/engine/tree.js";
import {
  convWeightFromTorch,
  convWeightToTorch,
  resnetApply,
  resnetInit,
  resnetLayerChannels,
  resnetParamCount,
  type ResNetParams,
  type ResNetSpec,
} from "../../src/nn/resnet.js";
import { host, perturb } from "../support/checks.js";

type Case = { spec: ResNetSpec; N: number; H: number; W: number };
const CASES: Case[] = [
  { spec: { inChannels: 2, outChannels: 3, width: 4, blocks: 1 }, N: 2, H: 5, W: 6 },
  { spec: { inChannels: 1, outChannels: 2, width: 4, blocks: 1 }, N: 2, H: 5, W: 6 },
  // conv_in paths: im2col without zero columns (9·4 = 36), and the tap sum (c_in > 4)
  { spec: { inChannels: 4, outChannels: 2, width: 4, blocks: 1 }, N: 1, H: 4, W: 3 },
  { spec: { inChannels: 5, outChannels: 1, width: 4, blocks: 2 }, N: 1, H: 3, W: 4 },
];

const randomParams = (spec: ResNetSpec, seed: number, dtype: FloatDType): ResNetParams =>
  perturb(resnetInit(spec, keyFromSeed(seed), dtype), seed + 100, 0.3);
const randomInput = (c: Case, seed: number, dtype: FloatDType): Array =>
  normal(keyFromSeed(seed), [c.N, c.spec.inChannels, c.H, c.W], dtype);

/** out[n, co, i, j] = b[co] + Σ w[(3di + dj)·C + c, co] · x[n, c, i + di − 1, j + dj − 1] (zero outside). */
function convJS(x: number[], N: number, C: number, H: number, W: number, w: number[], b: number[], Co: number): number[] {
  const out = new globalThis.Array<number>(N * Co * H * W).fill(0);
  for (let n = 0; n < N; n++)
    for (let co = 0; co < Co; co++)
      for (let i = 0; i < H; i++)
        for (let j = 0; j < W; j++) {
          let s = b[co]!;
          for (let di = 0; di < 3; di++)
            for (let dj = 0; dj < 3; dj++) {
              const r = i + di - 1;
              const q = j + dj - 1;
              if (r < 0 || r >= H || q < 0 || q >= W) continue;
              for (let c = 0; c < C; c++) s += w[((3 * di + dj) * C + c) * Co + co]! * x[((n * C + c) * H + r) * W + q]!;
            }
          out[((n * Co + co) * H + i) * W + j] = s;
        }
  return out;
}

const relu = (v: number[]): number[] => v.map((a) => Math.max(a, 0));

/** The whole network in plain JS (host copies; does not consume p or x). */
function resnetJS(c: Case, p: ResNetParams, x: Array): number[] {
  const chans = resnetLayerChannels(c.spec);
  const conv = (h: number[], l: number): number[] =>
    convJS(h, c.N, chans[l]![0], c.H, c.W, host(p.W[l]!), host(p.b[l]!), chans[l]![1]);
  let h = conv(host(x), 0);
  const blocks = (chans.length - 2) / 2;
  for (let i = 0; i < blocks; i++) {
    const a = conv(relu(h), 1 + 2 * i);
    const v = conv(relu(a), 2 + 2 * i);
    h = h.map((e, k) => e + v[k]!);
  }
  return conv(relu(h), chans.length - 1);
}

/** The same network from jax-js's lax.conv with PyTorch-layout weights (consumes p and x). */
function resnetLax(spec: ResNetSpec, p: ResNetParams, x: Array): Array {
  const chans = resnetLayerChannels(spec);
  const conv = (h: Array, l: number): Array =>
    lax.conv(h, convWeightToTorch(p.W[l]!, chans[l]![0]), [1, 1], "SAME").add(p.b[l]!.reshape([1, chans[l]![1], 1, 1]));
  let h = conv(x, 0);
  const blocks = (chans.length - 2) / 2;
  for (let i = 0; i < blocks; i++) {
    const a = conv(np.maximum(h.ref, 0), 1 + 2 * i);
    h = h.add(conv(np.maximum(a, 0), 2 + 2 * i));
  }
  return conv(np.maximum(h, 0), chans.length - 1);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
const maxAbs = (a: ArrayLike<number>): number => globalThis.Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

test("resnet: parameter layout, counts (C5: 37,890 and 38,756) and PyTorch default init with a zero conv_out", () => {
  defaultDevice("wasm");
  assert.equal(resnetParamCount({ inChannels: 1, outChannels: 2, width: 32, blocks: 2 }), 37890);
  assert.equal(resnetParamCount({ inChannels: 2, outChannels: 4 }), 38756, "defaults width 32, 2 blocks");
  const spec: ResNetSpec = { inChannels: 1, outChannels: 2 };
  const p = resnetInit(spec, keyFromSeed(7), "float32");
  assert.equal(countParams(p), 37890);
  const chans = resnetLayerChannels(spec);
  assert.deepEqual(chans, [[1, 32], [32, 32], [32, 32], [32, 32], [32, 32], [32, 2]]);
  chans.forEach(([ci, co], l) => {
    assert.deepEqual(p.W[l]!.shape, [9 * ci, co]);
    assert.deepEqual(p.b[l]!.shape, [co]);
    const w = host(p.W[l]!);
    const b = host(p.b[l]!);
    if (l === chans.length - 1) {
      assert.ok(w.every((v) => v === 0) && b.every((v) => v === 0), "conv_out weight and bias are zero");
      return;
    }
    const bound = 1 / Math.sqrt(9 * ci);
    for (const [name, v] of [["W", w], ["b", b]] as const) {
      const m = maxAbs(v);
      assert.ok(m <= bound, `layer ${l} ${name}: max |v| ${m} > 1/√fan_in = ${bound}`);
      assert.ok(m > 0.8 * bound, `layer ${l} ${name}: max |v| ${m} far below the bound ${bound} (not U(±1/√fan_in)?)`);
    }
  });
  // zero conv_out: the network outputs exactly 0 at init
  const y = jit((p: ResNetParams, x: Array) => resnetApply(spec, p, x))(p, normal(keyFromSeed(3), [3, 1, 6, 7], "float32"));
  assert.deepEqual(y.shape, [3, 2, 6, 7]);
  assert.ok(host(y).every((v) => v === 0));
  y.dispose();

  // weight layout ↔ PyTorch [c_out, c_in, 3, 3]: W[(3·di + dj)·c_in + ci, co] = torch[co, ci, di, dj]
  const w = fromValues(globalThis.Array.from({ length: 9 * 2 * 3 }, (_, i) => i), [18, 3], "float64");
  const t = convWeightToTorch(w.ref, 2);
  assert.deepEqual(t.shape, [3, 2, 3, 3]);
  const tv = host(t);
  const wv = host(w);
  for (let co = 0; co < 3; co++)
    for (let ci = 0; ci < 2; ci++)
      for (let di = 0; di < 3; di++)
        for (let dj = 0; dj < 3; dj++) assert.equal(tv[((co * 2 + ci) * 3 + di) * 3 + dj], wv[((3 * di + dj) * 2 + ci) * 3 + co]);
  assert.deepEqual(host(convWeightFromTorch(t)), wv);
  w.dispose();
});

test("resnet: forward equals a plain-JS convolution network and lax.conv (cpu, float64, 1e-12), eager and under jit", () => {
  defaultDevice("cpu");
  for (const [i, c] of CASES.entries()) {
    const p = randomParams(c.spec, 10 + i, "float64");
    const x = randomInput(c, 20 + i, "float64");
    const want = resnetJS(c, p, x);
    const viaLax = host(resnetLax(c.spec, refTree(p), x.ref));
    assert.ok(maxAbsDiff(viaLax, want) < 1e-12, `case ${i}: lax.conv reference vs JS loops`);
    const eager = resnetApply(c.spec, refTree(p), x.ref);
    assert.deepEqual(eager.shape, [c.N, c.spec.outChannels, c.H, c.W]);
    assert.ok(maxAbsDiff(host(eager), want) < 1e-12, `case ${i}: eager resnetApply`);
    eager.dispose();
    const jitted = jit((p: ResNetParams, x: Array) => resnetApply(c.spec, p, x))(p, x);
    assert.equal(String(jitted.dtype), "float64");
    assert.ok(maxAbsDiff(host(jitted), want) < 1e-12, `case ${i}: jit resnetApply`);
    assert.ok(maxAbs(want) > 0.1, "a non-trivial output");
    jitted.dispose();
  }
  // no residual blocks: conv_out(relu(conv_in(x)))
  const c0: Case = { spec: { inChannels: 2, outChannels: 2, width: 4, blocks: 0 }, N: 1, H: 3, W: 4 };
  const p0 = randomParams(c0.spec, 5, "float64");
  const x0 = randomInput(c0, 6, "float64");
  const want0 = resnetJS(c0, p0, x0);
  assert.ok(maxAbsDiff(host(resnetApply(c0.spec, p0, x0)), want0) < 1e-12, "blocks = 0");
});

test("resnet: jit(grad) w.r.t. the input and every parameter equals the eager lax.conv gradient (cpu, float64, 1e-10), weighted and bare-sum losses", () => {
  defaultDevice("cpu");
  for (const [i, c] of CASES.entries()) {
    const p = randomParams(c.spec, 30 + i, "float64");
    const x = randomInput(c, 40 + i, "float64");
    const R = normal(keyFromSeed(50 + i), [c.N, c.spec.outChannels, c.H, c.W], "float64");
    const losses: [string, (f: (p: ResNetParams, x: Array) => Array) => (p: ResNetParams, x: Array) => Array][] = [
      ["weighted", (f) => (p, x) => f(p, x).mul(R.ref).sum()],
      ["bare sum", (f) => (p, x) => f(p, x).sum()],
    ];
    for (const [name, loss] of losses) {
      const ours = loss((p, x) => resnetApply(c.spec, p, x));
      const ref = loss((p, x) => resnetLax(c.spec, p, x));
      const [gp, gx] = jit(grad(ours, { argnums: [0, 1] }))(refTree(p), x.ref);
      const [rp, rx] = grad(ref, { argnums: [0, 1] })(refTree(p), x.ref);
      const got = [...tree.leaves(gp), gx] as Array[];
      const want = [...tree.leaves(rp), rx] as Array[];
      assert.equal(got.length, 2 * resnetLayerChannels(c.spec).length + 1);
      got.forEach((g, k) => {
        assert.deepEqual(g.shape, want[k]!.shape);
        const w = host(want[k]!);
        const err = maxAbsDiff(host(g), w);
        assert.ok(err < 1e-10 * Math.max(1, maxAbs(w)), `case ${i}, ${name} loss, gradient leaf ${k}: max error ${err}`);
        assert.ok(maxAbs(w) > 0, `case ${i}, ${name}: leaf ${k} has a non-zero gradient`);
      });
      disposeTree(got);
      disposeTree(want);
    }
    // valueAndGrad under jit gives the same value as the forward
    const [v, g] = jit(valueAndGrad((p: ResNetParams, x: Array) => resnetApply(c.spec, p, x).mul(R.ref).sum()))(refTree(p), x.ref);
    const r = host(R);
    const wantV = resnetJS(c, p, x).reduce((s, e, k) => s + e * r[k]!, 0);
    assert.ok(Math.abs(v.item() - wantV) < 1e-10 * Math.max(1, Math.abs(wantV)));
    disposeTree(g);
    disposeTree(p);
    x.dispose();
    R.dispose();
  }
});

test("resnet: float32 (wasm, cpu) and float64 (wasm) under jit agree with float64 on cpu (forward, weighted and bare-sum gradients)", () => {
  // big enough that every array exceeds jax-js's 128-element inline-constant threshold and the
  // vectorised wasm kernels run (widths multiple of 4)
  const c: Case = { spec: { inChannels: 2, outChannels: 4, width: 8, blocks: 1 }, N: 4, H: 8, W: 7 };
  const loss = (p: ResNetParams, x: Array, R: Array): Array => resnetApply(c.spec, p, x).mul(R).sum();
  // the same numbers on every device and dtype (random draws differ between devices)
  defaultDevice("cpu");
  const p0 = randomParams(c.spec, 60, "float64");
  const values = { W: p0.W.map(host), b: p0.b.map(host), x: host(randomInput(c, 61, "float64")) };
  const rValues = host(normal(keyFromSeed(62), [c.N, c.spec.outChannels, c.H, c.W], "float64"));
  const shapes = { W: p0.W.map((a) => a.shape), b: p0.b.map((a) => a.shape) };
  disposeTree(p0);
  const run = (device: "cpu" | "wasm", dtype: FloatDType): number[][] => {
    defaultDevice(device);
    const p: ResNetParams = {
      W: values.W.map((v, l) => fromValues(v, shapes.W[l]!, dtype)),
      b: values.b.map((v, l) => fromValues(v, shapes.b[l]!, dtype)),
    };
    const x = fromValues(values.x, [c.N, c.spec.inChannels, c.H, c.W], dtype);
    const R = fromValues(rValues, [c.N, c.spec.outChannels, c.H, c.W], dtype);
    const y = jit((p: ResNetParams, x: Array) => resnetApply(c.spec, p, x))(refTree(p), x.ref);
    assert.equal(String(y.dtype), dtype);
    const [gp, gx] = jit(grad(loss, { argnums: [0, 1] }))(refTree(p), x.ref, R);
    const [sp, sx] = jit(grad((p: ResNetParams, x: Array) => resnetApply(c.spec, p, x).sum(), { argnums: [0, 1] }))(p, x);
    const out = [host(y), ...(tree.leaves(gp) as Array[]).map(host), host(gx), ...(tree.leaves(sp) as Array[]).map(host), host(sx)];
    disposeTree([y, gp, gx, sp, sx]);
    return out;
  };
  const exact = run("cpu", "float64");
  const f64 = run("wasm", "float64");
  const f32 = run("wasm", "float32");
  const cpu32 = run("cpu", "float32");
  exact.forEach((e, k) => {
    const scale = Math.max(1e-30, maxAbs(e));
    assert.ok(maxAbsDiff(f64[k]!, e) < 1e-12 * Math.max(1, scale), `wasm float64, output ${k}`);
    for (const [name, got] of [["wasm", f32], ["cpu", cpu32]] as const) {
      const rel = maxAbsDiff(got[k]!, e) / scale;
      assert.ok(rel < 1e-5, `${name} float32, output ${k}: max error ${rel} relative to the largest entry`);
    }
  });
});

test("resnet: refuses a wrong input shape or dtype and an invalid spec", () => {
  defaultDevice("wasm");
  const spec: ResNetSpec = { inChannels: 2, outChannels: 2, width: 4, blocks: 1 };
  const p = resnetInit(spec, keyFromSeed(1), "float32");
  assert.throws(() => resnetApply(spec, refTree(p), np.zeros([2, 3, 4, 4])), ShapeError);
  assert.throws(() => resnetApply(spec, refTree(p), np.zeros([2, 32])), ShapeError);
  assert.throws(() => resnetApply(spec, refTree(p), np.zeros([2, 2, 4, 4], { dtype: np.int32 })), ShapeError);
  assert.throws(() => resnetApply({ ...spec, blocks: 2 }, refTree(p), np.zeros([2, 2, 4, 4])), ShapeError);
  assert.throws(() => resnetInit({ inChannels: 0, outChannels: 2 }, keyFromSeed(1), "float32"), ConfigError);
  assert.throws(() => resnetInit({ inChannels: 1, outChannels: 2, blocks: -1 }, keyFromSeed(1), "float32"), ConfigError);
  assert.throws(() => resnetInit({ inChannels: 1, outChannels: 2, width: 2.5 }, keyFromSeed(1), "float32"), ConfigError);
  disposeTree(p);
});
