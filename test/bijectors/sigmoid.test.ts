import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, grad, jit, type Array } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { ConfigError } from "../../src/engine/errors.js";
import { Sigmoid } from "../../src/bijectors/sigmoid.js";
import { Logit } from "../../src/bijectors/logit.js";
import { checkBijector, host } from "../support/checks.js";

const sigma = (v: number): number => 1 / (1 + Math.exp(-v));

test("sigmoid: σ and its log-det against closed forms; round trip and Jacobian (float64, cpu)", () => {
  defaultDevice("cpu");
  const s = new Sigmoid({ dim: 3 });
  const z = [-4, 0, 2.5, 30, -30, 0.1];
  const out = s.forward({}, fromValues(z, [2, 3], "float64"));
  const y = host(out.y);
  z.forEach((v, i) => assert.ok(Math.abs(y[i]! / sigma(v) - 1) < 1e-14, `σ(${v}) = ${y[i]}`));
  const ld = host(out.logDet);
  for (let r = 0; r < 2; r++) {
    let ref = 0;
    for (let j = 0; j < 3; j++) {
      const v = z[3 * r + j]!;
      ref += Math.log(sigma(v)) + Math.log(sigma(-v));
    }
    assert.ok(Math.abs(ld[r]! - ref) < 1e-12, `logDet ${ld[r]} vs ${ref}`);
  }
  checkBijector(s, { dtype: "float64", roundTripTol: 1e-10, logDetTol: 1e-9, inputScale: 3 });
  assert.throws(() => new Sigmoid({ dim: 1.5 }), ConfigError);
});

test("sigmoid: no overflow at large |z|, exact gradients at z = 0, NaN outside (0, 1) in inverse", () => {
  defaultDevice("cpu");
  const s = new Sigmoid({ dim: 2 });
  const big = s.forward({}, fromValues([1000, -1000], [1, 2], "float64"));
  assert.deepEqual(host(big.y), [1, 0]);
  const bigLd = host(big.logDet)[0]!;
  assert.ok(Math.abs(bigLd - -2000) < 1e-9, `logDet ${bigLd}`);
  // d/dz σ(z) = 1/4 and d/dz log σ'(z) = −tanh(z/2) = 0 at z = 0; both finite at ±1000.
  const gy = jit(grad((v: Array) => s.forward({}, v.reshape([1, 2])).y.sum()));
  const gl = jit(grad((v: Array) => s.forward({}, v.reshape([1, 2])).logDet.sum()));
  assert.deepEqual(host(gy(fromValues([0, 0], [2], "float64"))), [0.25, 0.25]);
  assert.deepEqual(host(gl(fromValues([0, 0], [2], "float64"))), [0, 0]);
  const g1 = host(gl(fromValues([1000, -1000], [2], "float64")));
  assert.deepEqual(g1, [-1, 1]);
  const g2 = host(gl(fromValues([1.3, -0.4], [2], "float64")));
  [1.3, -0.4].forEach((v, i) => assert.ok(Math.abs(g2[i]! + Math.tanh(v / 2)) < 1e-14));
  const outside = s.inverse({}, fromValues([1.5, -0.2], [1, 2], "float64"));
  assert.ok(host(outside.y).every(Number.isNaN));
  outside.logDet.dispose();
});

test("logit: forward (0,1) → R with and without α; round trip and Jacobian (float64, cpu)", () => {
  defaultDevice("cpu");
  const toDomain = (v: number): number => sigma(1.5 * v);
  const plain = new Logit({ dim: 3 });
  const u = [0.1, 0.5, 0.9];
  const out = plain.forward({}, fromValues(u, [1, 3], "float64"));
  const y = host(out.y);
  u.forEach((v, i) => assert.ok(Math.abs(y[i]! - Math.log(v / (1 - v))) < 1e-14));
  const ref = -u.reduce((a, v) => a + Math.log(v) + Math.log(1 - v), 0);
  assert.ok(Math.abs(host(out.logDet)[0]! - ref) < 1e-13);
  checkBijector(plain, { dtype: "float64", roundTripTol: 1e-10, logDetTol: 1e-9, toDomain });

  const alpha = 0.05;
  const squashed = new Logit({ dim: 2, alpha });
  const o2 = squashed.forward({}, fromValues([0, 1], [1, 2], "float64"));
  const y2 = host(o2.y);
  assert.ok(Math.abs(y2[0]! - Math.log(alpha / (1 - alpha))) < 1e-14, "u = 0 maps to logit(α)");
  assert.ok(Math.abs(y2[1]! + y2[0]!) < 1e-14, "u = 1 maps to logit(1 − α)");
  const ref2 = 2 * (Math.log(1 - 2 * alpha) - Math.log(alpha) - Math.log(1 - alpha));
  assert.ok(Math.abs(host(o2.logDet)[0]! - ref2) < 1e-13);
  checkBijector(new Logit({ dim: 3, alpha }), { dtype: "float64", roundTripTol: 1e-10, logDetTol: 1e-9, toDomain });
  for (const bad of [-0.1, 0.5, 1, Number.NaN]) assert.throws(() => new Logit({ dim: 2, alpha: bad }), ConfigError);
});

test("sigmoid and logit in float32 on wasm", () => {
  defaultDevice("wasm");
  checkBijector(new Sigmoid({ dim: 4 }), { dtype: "float32", n: 64, roundTripTol: 1e-4, logDetTol: 1e-3 });
  const toDomain = (v: number): number => sigma(v);
  checkBijector(new Logit({ dim: 4 }), { dtype: "float32", n: 64, roundTripTol: 1e-4, logDetTol: 1e-3, toDomain });
  checkBijector(new Logit({ dim: 4, alpha: 0.05 }), { dtype: "float32", n: 64, roundTripTol: 1e-4, logDetTol: 1e-3, toDomain });
});
