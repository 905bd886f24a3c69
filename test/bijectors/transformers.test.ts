import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { AffineTransformer } from "../../src/bijectors/transformers/affine.js";
import { AdditiveTransformer } from "../../src/bijectors/transformers/additive.js";
import { ConfigError } from "../../src/engine/errors.js";
import { host } from "../support/checks.js";

const U = [0.5, -1.25, 2, 0.1, -0.7, 3];
const SHIFT = [0.3, -0.2, 1.5, 0, -2, 0.25];
const RAW = [0.4, -1.1, 7, 0.02, -9, 2.5];
const arr = (v: number[]) => fromValues(v, [2, 3], "float64");

test("affine transformer: y = u·exp(B·tanh(r/B)) + t, logDet = s elementwise, inverse undoes it", () => {
  defaultDevice("cpu");
  const B = 3;
  const tr = new AffineTransformer({ scaleBound: B });
  assert.equal(tr.paramCount, 2);
  const f = tr.forward(arr(U), [arr(SHIFT), arr(RAW)]);
  const y = host(f.y);
  const ld = host(f.logDet);
  assert.deepEqual(f.logDet.shape, [2, 3]);
  f.y.dispose();
  f.logDet.dispose();
  for (let i = 0; i < U.length; i++) {
    const s = B * Math.tanh(RAW[i]! / B);
    assert.ok(Math.abs(ld[i]! - s) < 1e-14, `logDet ${ld[i]} vs ${s}`);
    assert.ok(Math.abs(y[i]! - (U[i]! * Math.exp(s) + SHIFT[i]!)) < 1e-12);
    assert.ok(Math.abs(ld[i]!) < B);
  }
  const inv = tr.inverse(arr(y), [arr(SHIFT), arr(RAW)]);
  const u = host(inv.y);
  const ild = host(inv.logDet);
  inv.y.dispose();
  inv.logDet.dispose();
  for (let i = 0; i < U.length; i++) {
    assert.ok(Math.abs(u[i]! - U[i]!) < 1e-12);
    assert.ok(Math.abs(ild[i]! + ld[i]!) < 1e-15);
  }
});

test("affine transformer: scaleBound Infinity is the plain exp; huge raw log-scales stay finite when bounded", () => {
  defaultDevice("cpu");
  const plain = new AffineTransformer({ scaleBound: Infinity });
  const f = plain.forward(arr(U), [arr(SHIFT), arr(RAW)]);
  const y = host(f.y);
  const ld = host(f.logDet);
  f.y.dispose();
  f.logDet.dispose();
  for (let i = 0; i < U.length; i++) {
    assert.equal(ld[i], RAW[i]);
    assert.ok(Math.abs(y[i]! - (U[i]! * Math.exp(RAW[i]!) + SHIFT[i]!)) < 1e-9 * Math.exp(Math.abs(RAW[i]!)));
  }
  const huge = RAW.map((r) => r * 1e6);
  const bounded = new AffineTransformer();
  assert.equal(bounded.scaleBound, 3);
  for (const dir of ["forward", "inverse"] as const) {
    const r = bounded[dir](arr(U), [arr(SHIFT), arr(huge)]);
    const vals = [...host(r.y), ...host(r.logDet)];
    r.y.dispose();
    r.logDet.dispose();
    assert.ok(vals.every(Number.isFinite), `${dir}: non-finite output ${vals}`);
  }
  // Without the clamp the same inputs overflow: the test above can fail.
  const r = plain.forward(arr(U), [arr(SHIFT), arr(huge)]);
  assert.ok(!host(r.y).every(Number.isFinite));
  r.y.dispose();
  r.logDet.dispose();
  assert.throws(() => new AffineTransformer({ scaleBound: 0 }), ConfigError);
});

test("additive transformer: y = u + t with zero log-det, and its inverse", () => {
  defaultDevice("cpu");
  const tr = new AdditiveTransformer();
  assert.equal(tr.paramCount, 1);
  const f = tr.forward(arr(U), [arr(SHIFT)]);
  const y = host(f.y);
  assert.deepEqual(host(f.logDet), [0, 0, 0, 0, 0, 0]);
  f.y.dispose();
  f.logDet.dispose();
  y.forEach((v, i) => assert.ok(Math.abs(v - (U[i]! + SHIFT[i]!)) < 1e-15));
  const inv = tr.inverse(arr(y), [arr(SHIFT)]);
  host(inv.y).forEach((v, i) => assert.ok(Math.abs(v - U[i]!) < 1e-15));
  inv.y.dispose();
  inv.logDet.dispose();
  assert.throws(() => tr.forward(arr(U), [arr(SHIFT), arr(RAW)]), ConfigError);
});
