import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { ConfigError } from "../../src/engine/errors.js";
import { Rescale } from "../../src/bijectors/rescale.js";
import { ElementwiseAffine } from "../../src/bijectors/elementwise-affine.js";
import { checkBijector, host } from "../support/checks.js";

test("rescale: x = z·exp(s), log-det Σs; round trip and Jacobian in float64 on cpu", () => {
  defaultDevice("cpu");
  const r = new Rescale({ dim: 3 });
  const p = { logScale: fromValues([0.5, -1, 2], [3], "float64") };
  const out = r.forward(p, fromValues([1, 2, 3, -1, 0, 4], [2, 3], "float64"));
  const y = host(out.y);
  const want = [1, 2, 3, -1, 0, 4].map((v, i) => v * Math.exp([0.5, -1, 2][i % 3]!));
  y.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-14, `${v} vs ${want[i]}`));
  assert.deepEqual(host(out.logDet), [1.5, 1.5]);
  checkBijector(r, { dtype: "float64", roundTripTol: 1e-10, logDetTol: 1e-9 });
  assert.throws(() => new Rescale({ dim: 0 }), ConfigError);
});

test("elementwise affine: x = z·exp(s) + t; round trip and Jacobian in float64 on cpu", () => {
  defaultDevice("cpu");
  const a = new ElementwiseAffine({ dim: 2 });
  const p = { shift: fromValues([1, -2], [2], "float64"), logScale: fromValues([Math.log(3), 0], [2], "float64") };
  const out = a.forward(p, fromValues([1, 1, -1, 0.5], [2, 2], "float64"));
  const y = host(out.y);
  [4, -1, -2, -1.5].forEach((w, i) => assert.ok(Math.abs(y[i]! - w) < 1e-14, `${y[i]} vs ${w}`));
  host(out.logDet).forEach((v) => assert.ok(Math.abs(v - Math.log(3)) < 1e-15));
  checkBijector(a, { dtype: "float64", roundTripTol: 1e-10, logDetTol: 1e-9 });
});

test("rescale and elementwise affine in float32 on wasm", () => {
  defaultDevice("wasm");
  checkBijector(new Rescale({ dim: 4 }), { dtype: "float32", n: 64, roundTripTol: 1e-5, logDetTol: 1e-4 });
  checkBijector(new ElementwiseAffine({ dim: 4 }), { dtype: "float32", n: 64, roundTripTol: 1e-5, logDetTol: 1e-4 });
});
