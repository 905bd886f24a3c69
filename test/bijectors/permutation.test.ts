import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { ConfigError } from "../../src/engine/errors.js";
import { Permutation } from "../../src/bijectors/permutation.js";
import { checkBijector, host } from "../support/checks.js";

test("permutation: x[:, j] = z[:, order[j]], log-det 0, exact round trip (float64, cpu)", () => {
  defaultDevice("cpu");
  const perm = new Permutation([2, 0, 3, 1]);
  const z = [10, 11, 12, 13, 20, 21, 22, 23];
  const out = perm.forward({}, fromValues(z, [2, 4], "float64"));
  assert.deepEqual(host(out.y), [12, 10, 13, 11, 22, 20, 23, 21]);
  assert.deepEqual(host(out.logDet), [0, 0]);
  const back = perm.inverse({}, fromValues([12, 10, 13, 11], [1, 4], "float64"));
  assert.deepEqual(host(back.y), [10, 11, 12, 13]);
  back.logDet.dispose();
  checkBijector(perm, { dtype: "float64", roundTripTol: 0, logDetTol: 1e-12 });

  const rev = Permutation.reverse(5);
  assert.deepEqual(rev.order, [4, 3, 2, 1, 0]);
  checkBijector(rev, { dtype: "float64", roundTripTol: 0, logDetTol: 1e-12 });

  const r1 = Permutation.random(9, 42);
  assert.deepEqual(r1.order, Permutation.random(9, 42).order, "same seed, same order");
  assert.deepEqual([...r1.order].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.notDeepEqual(r1.order, Permutation.random(9, 43).order);
  r1.order.forEach((o, j) => assert.equal(r1.inverseOrder[o], j));
});

test("permutation: invalid orders throw ConfigError", () => {
  for (const bad of [[], [0, 0, 1], [0, 2], [1, 2, 3], [0, 1.5], [-1, 0]]) {
    assert.throws(() => new Permutation(bad), ConfigError, JSON.stringify(bad));
  }
  assert.throws(() => Permutation.reverse(0), ConfigError);
  assert.throws(() => Permutation.random(-2, 1), ConfigError);
});

test("permutation in float32 on wasm", () => {
  defaultDevice("wasm");
  checkBijector(Permutation.random(6, 3), { dtype: "float32", n: 32, roundTripTol: 0, logDetTol: 1e-6 });
});
