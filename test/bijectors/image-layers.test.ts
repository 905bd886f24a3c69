/**
 * Image layers on the flat [N, C·H·W] variable: squeeze's index layout, factor-out's z layout,
 * and the image affine couplings (checkerboard and channel, with and without context) checked
 * like every bijector — round trip, log-det against the autodiff Jacobian in float64 — plus their
 * gradients under jit against eager autodiff (jax-js's slice gradient is wrong under jit; these
 * layers must not depend on it) and the shape errors.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, grad, jit, type Array } from "../../src/engine/jax.js";
import { fromValues, type FloatDType } from "../../src/engine/dtype.js";
import { keyFromSeed, normal } from "../../src/engine/random.js";
import { disposeTree, refTree, treeLeaves, treePaths, type Params } from "../../src/engine/tree.js";
import { ShapeError, ConfigError } from "../../src/engine/errors.js";
import type { Bijector } from "../../src/bijectors/bijector.js";
import { Squeeze } from "../../src/bijectors/squeeze.js";
import { FactorOut } from "../../src/bijectors/factor-out.js";
import { Rescale } from "../../src/bijectors/rescale.js";
import { ImageAffineCoupling, type ImageCouplingParams } from "../../src/bijectors/image-coupling.js";
import { checkBijector, host, perturb } from "../support/checks.js";

const iota = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

test("squeeze: out[4c + 2di + dj, i, j] = in[c, 2i + di, 2j + dj], exact round trip, log-det 0", () => {
  defaultDevice("cpu");
  const [C, H, W] = [2, 4, 6];
  const sq = new Squeeze({ shape: [C, H, W] });
  assert.deepEqual(sq.outShape, [8, 2, 3]);
  const D = C * H * W;
  const xs = iota(2 * D).map((v) => v + 0.5);
  const r = sq.inverse({}, fromValues(xs, [2, D], "float64"));
  const z = host(r.y);
  assert.deepEqual(host(r.logDet), [0, 0]);
  for (let n = 0; n < 2; n++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H / 2; i++)
        for (let j = 0; j < W / 2; j++)
          for (let di = 0; di < 2; di++)
            for (let dj = 0; dj < 2; dj++) {
              const out = z[n * D + ((4 * c + 2 * di + dj) * (H / 2) + i) * (W / 2) + j];
              const inp = xs[n * D + (c * H + 2 * i + di) * W + 2 * j + dj];
              assert.equal(out, inp);
            }
  const back = sq.forward({}, fromValues(z, [2, D], "float64"));
  assert.deepEqual(host(back.y), xs);
  back.logDet.dispose();
  assert.throws(() => new Squeeze({ shape: [1, 5, 4] }), (e: Error) => e instanceof ConfigError && /even/.test(e.message));
});

test("factor-out: z = [x_out | inner(x_keep)], log-det of the inner layer, exact round trip", () => {
  defaultDevice("cpu");
  const shape = [4, 2, 3] as const;
  const inner = new Rescale({ dim: 12 });
  const fo = new FactorOut({ shape, inner });
  const p = perturb(fo.init(keyFromSeed(1), "float64"), 5);
  const scale = host((p.inner as { logScale: Array }).logScale);
  const xs = iota(24).map((v) => Math.sin(v));
  const r = fo.inverse(refTree(p), fromValues(xs, [1, 24], "float64"));
  const z = host(r.y);
  // channels 2,3 (x_out) come first, unchanged; channels 0,1 go through the inner layer
  for (let k = 0; k < 12; k++) assert.equal(z[k], xs[12 + k]);
  for (let k = 0; k < 12; k++) assert.ok(Math.abs(z[12 + k]! - xs[k]! / Math.exp(scale[k]!)) < 1e-14);
  assert.ok(Math.abs(host(r.logDet)[0]! + scale.reduce((a, b) => a + b, 0)) < 1e-12);
  checkBijector(fo, { dtype: "float64", roundTripTol: 1e-12, logDetTol: 1e-10, n: 4 });
  disposeTree(p);
  assert.throws(() => new FactorOut({ shape: [3, 2, 2], inner: new Rescale({ dim: 6 }) }), /even/);
  assert.throws(() => new FactorOut({ shape: [4, 2, 2], inner: new Rescale({ dim: 6 }) }), /dim 6, expected 8/);
});

/** Image couplings of every kind on small images, with random (non-zero) conditioner outputs. */
const COUPLINGS: { name: string; make: () => ImageAffineCoupling }[] = [
  { name: "checkerboard p=0 [1,4,4]", make: () => new ImageAffineCoupling({ shape: [1, 4, 4], mask: "checkerboard", parity: 0, width: 4, blocks: 1 }) },
  { name: "checkerboard p=1 [2,3,4]", make: () => new ImageAffineCoupling({ shape: [2, 3, 4], mask: "checkerboard", parity: 1, width: 3, blocks: 2 }) },
  { name: "channel p=0 [4,2,2]", make: () => new ImageAffineCoupling({ shape: [4, 2, 2], mask: "channel", parity: 0, width: 4, blocks: 1 }) },
  { name: "channel p=1 [2,3,3]", make: () => new ImageAffineCoupling({ shape: [2, 3, 3], mask: "channel", parity: 1, width: 3, blocks: 1 }) },
  { name: "checkerboard with context [1,4,4]", make: () => new ImageAffineCoupling({ shape: [1, 4, 4], mask: "checkerboard", parity: 0, width: 4, blocks: 1, contextDim: 3 }) },
  { name: "channel with context [2,2,4]", make: () => new ImageAffineCoupling({ shape: [2, 2, 4], mask: "channel", parity: 1, width: 4, blocks: 1, contextDim: 2 }) },
];

test("image affine couplings: round trip and log-det vs the autodiff Jacobian, float64 on cpu", () => {
  defaultDevice("cpu");
  COUPLINGS.forEach(({ make }, i) => checkBijector(make(), { dtype: "float64", roundTripTol: 1e-10, logDetTol: 1e-9, n: 4, jacobianSamples: 2, seed: 30 + i }));
});

test("image affine couplings: round trip in float32 on wasm", () => {
  defaultDevice("wasm");
  COUPLINGS.forEach(({ make }, i) => checkBijector(make(), { dtype: "float32", roundTripTol: 1e-4, logDetTol: 1e-3, n: 4, jacobianSamples: 1, seed: 40 + i }));
  defaultDevice("cpu");
});

test("image affine couplings: identity at initialisation; the conditioning pixels pass unchanged", () => {
  defaultDevice("cpu");
  for (const { name, make } of COUPLINGS) {
    const b = make();
    const n = 3;
    const xs = host(normal(keyFromSeed(3), [n, b.dim], "float64"));
    const ctx = () => (b.contextDim ? fromValues(iota(n * b.contextDim).map(Math.cos), [n, b.contextDim], "float64") : undefined);
    const r0 = b.inverse(b.init(keyFromSeed(1), "float64"), fromValues(xs, [n, b.dim], "float64"), ctx());
    assert.deepEqual(host(r0.y), xs, `${name}: not the identity at init`);
    assert.ok(host(r0.logDet).every((v) => v === 0));
    const p = perturb(b.init(keyFromSeed(1), "float64"), 9);
    const r = b.inverse(p, fromValues(xs, [n, b.dim], "float64"), ctx());
    const z = host(r.y);
    r.logDet.dispose();
    const [C, H, W] = b.shape;
    let changed = 0;
    for (let k = 0; k < n * b.dim; k++) {
      const d = k % b.dim;
      const c = Math.floor(d / (H * W));
      const [i, j] = [Math.floor((d % (H * W)) / W), d % W];
      const conditioning = b.mask === "checkerboard" ? (i + j) % 2 === b.parity : (c < C / 2) === (b.parity === 0);
      if (conditioning) assert.equal(z[k], xs[k], `${name}: conditioning pixel ${d} changed`);
      else if (z[k] !== xs[k]) changed++;
    }
    assert.ok(changed > 0, `${name}: nothing was transformed`);
  }
});

/** Loss = weighted log-density-like sum, so every parameter and the input matter. */
function gradientsAgree(b: Bijector, dtype: FloatDType, seed: number, bareSum: boolean): void {
  const n = 3;
  const p = perturb(b.init(keyFromSeed(seed), dtype), seed + 1);
  const xs = host(normal(keyFromSeed(seed + 2), [n, b.dim], dtype));
  const ws = host(normal(keyFromSeed(seed + 3), [n, b.dim], dtype));
  const cs = b.contextDim ? iota(n * b.contextDim).map((v) => Math.sin(v + seed)) : undefined;
  const loss = (q: Params, x: Array): Array => {
    const r = b.inverse(q, x, cs ? fromValues(cs, [n, b.contextDim], dtype) : undefined);
    const y = bareSum ? r.y.sum() : r.y.mul(fromValues(ws, [n, b.dim], dtype)).sum();
    return y.add(r.logDet.sum());
  };
  const eager = grad(loss, { argnums: [0, 1] } as never)(refTree(p), fromValues(xs, [n, b.dim], dtype)) as unknown as [Params, Array];
  const jitted = jit(grad(loss, { argnums: [0, 1] } as never))(refTree(p), fromValues(xs, [n, b.dim], dtype)) as unknown as [Params, Array];
  const paths = treePaths(eager[0]);
  const le = [...treeLeaves(eager[0]), eager[1]];
  const lj = [...treeLeaves(jitted[0]), jitted[1]];
  le.forEach((e, i) => {
    const a = host(e);
    const c = host(lj[i]!);
    const what = i < paths.length ? paths[i] : "input";
    assert.ok(a.some((v) => v !== 0), `${b.kind}: gradient of ${what} is zero`);
    a.forEach((v, k) => assert.ok(Math.abs(v - c[k]!) <= 1e-9 * Math.max(1, Math.abs(v)), `${b.kind}: jit gradient of ${what}[${k}] ${c[k]} vs eager ${v}`));
  });
  disposeTree(eager[0]);
  disposeTree(jitted[0]);
  eager[1].dispose();
  jitted[1].dispose();
  disposeTree(p);
}

test("image layers: gradients under jit equal eager autodiff (weighted and bare-sum losses), every parameter reached", () => {
  defaultDevice("cpu");
  COUPLINGS.forEach(({ make }, i) => {
    gradientsAgree(make(), "float64", 50 + i, false);
    gradientsAgree(make(), "float64", 60 + i, true);
  });
  const fo = new FactorOut({ shape: [4, 2, 2], inner: new ImageAffineCoupling({ shape: [2, 2, 2], mask: "checkerboard", parity: 1, width: 3, blocks: 1 }) });
  gradientsAgree(fo, "float64", 70, true);
  gradientsAgree(fo, "float64", 71, false);
});

test("image layers: a batch of the wrong shape names the image layout and the shape given", () => {
  defaultDevice("cpu");
  const b = new ImageAffineCoupling({ shape: [1, 4, 4], mask: "checkerboard", parity: 0, width: 2, blocks: 1 });
  const p = b.init(keyFromSeed(0), "float64");
  assert.throws(
    () => b.inverse(refTree(p), fromValues(iota(32), [2, 1, 4, 4], "float64")),
    (e: Error) => e instanceof ShapeError && e.message.includes("[1, 4, 4] flattened to [N, 16]") && e.message.includes("got [2, 1, 4, 4]") && /flatten/.test(e.message),
  );
  assert.throws(() => b.forward(refTree(p), fromValues(iota(18), [2, 9], "float64")), (e: Error) => e instanceof ShapeError && /got \[2, 9\]/.test(e.message));
  const sq = new Squeeze({ shape: [1, 4, 4] });
  assert.throws(() => sq.inverse({}, fromValues(iota(12), [1, 12], "float64")), /expected images \[1, 4, 4\] flattened to \[N, 16\], got \[1, 12\]/);
  disposeTree(p as ImageCouplingParams);
  assert.throws(() => new ImageAffineCoupling({ shape: [3, 4, 4], mask: "channel", parity: 0 }), /even channel count/);
});
