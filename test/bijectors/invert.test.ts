import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { disposeTree, refTree, type Params } from "../../src/engine/tree.js";
import type { BijectionResult, Bijector } from "../../src/bijectors/bijector.js";
import { Invert } from "../../src/bijectors/invert.js";
import { Linear } from "../../src/bijectors/linear.js";
import { Sigmoid } from "../../src/bijectors/sigmoid.js";
import { BatchNorm } from "../../src/bijectors/batch-norm.js";
import { checkBijector, host, perturb } from "../support/checks.js";

const sigma = (v: number): number => 1 / (1 + Math.exp(-v));

test("invert: forward is the wrapped inverse and vice versa, same params (float64, cpu)", () => {
  defaultDevice("cpu");
  const lin = new Linear({ dim: 3, permutation: [1, 2, 0] });
  const inv = new Invert(lin);
  const p = perturb(lin.init(keyFromSeed(0), "float64"), 5, 0.5);
  const xv = [0.3, -1.2, 2, 1, 0.5, -0.25];
  const a = inv.forward(refTree(p), fromValues(xv, [2, 3], "float64"));
  const b = lin.inverse(refTree(p), fromValues(xv, [2, 3], "float64"));
  assert.deepEqual(host(a.y), host(b.y));
  assert.deepEqual(host(a.logDet), host(b.logDet));
  const c = inv.inverse(refTree(p), fromValues(xv, [2, 3], "float64"));
  const d = lin.forward(refTree(p), fromValues(xv, [2, 3], "float64"));
  assert.deepEqual(host(c.y), host(d.y));
  assert.deepEqual(host(c.logDet), host(d.logDet));
  for (const r of [a, b, c, d]) {
    r.y.dispose();
    r.logDet.dispose();
  }
  disposeTree(p);
  // init delegates: the same tree as the wrapped bijector's
  const pi = inv.init(keyFromSeed(1), "float64");
  assert.deepEqual(Object.keys(pi).sort(), ["bias", "logDiag", "lower", "upper"]);
  disposeTree(pi);

  checkBijector(inv, { dtype: "float64", roundTripTol: 1e-10, logDetTol: 1e-9 });
  // Invert(Sigmoid) is the logit: its forward domain is (0, 1)
  checkBijector(new Invert(new Sigmoid({ dim: 3 })), { dtype: "float64", roundTripTol: 1e-10, logDetTol: 1e-9, toDomain: (v) => sigma(1.5 * v) });
  // Invert(Invert(f)) is f again
  const twice = new Invert(new Invert(lin));
  const p2 = perturb(lin.init(keyFromSeed(2), "float64"), 9, 0.5);
  const e = twice.forward(refTree(p2), fromValues(xv, [2, 3], "float64"));
  const f = lin.forward(refTree(p2), fromValues(xv, [2, 3], "float64"));
  assert.deepEqual(host(e.y), host(f.y));
  assert.deepEqual(host(e.logDet), host(f.logDet));
  for (const r of [e, f]) {
    r.y.dispose();
    r.logDet.dispose();
  }
  disposeTree(p2);
});

test("invert: pass kinds swap; context size, state leaves and call options pass through", () => {
  defaultDevice("cpu");
  // a stand-in with a sequential forward and a context (like MAF)
  const stub: Bijector<Params> = {
    kind: "stub",
    dim: 2,
    contextDim: 3,
    forwardPass: "sequential",
    inversePass: "parallel",
    init: (key) => {
      key.dispose();
      return {};
    },
    forward: (_p, z, ctx): BijectionResult => {
      ctx?.dispose();
      return { y: z.mul(2), logDet: fromValues([1], [1], "float64") };
    },
    inverse: (_p, x, ctx): BijectionResult => {
      ctx?.dispose();
      return { y: x.mul(0.5), logDet: fromValues([-1], [1], "float64") };
    },
  };
  const inv = new Invert(stub);
  assert.equal(inv.forwardPass, "parallel");
  assert.equal(inv.inversePass, "sequential");
  assert.equal(inv.contextDim, 3);
  assert.equal(inv.dim, 2);
  assert.equal(inv.stateLeaves, undefined);
  const r = inv.forward({}, fromValues([4, 6], [1, 2], "float64"), fromValues([0, 0, 0], [1, 3], "float64"));
  assert.deepEqual(host(r.y), [2, 3]);
  assert.deepEqual(host(r.logDet), [-1]);

  // training mode reaches the wrapped layer: Invert(BatchNorm).forward normalises with batch statistics
  const bn = new BatchNorm({ dim: 2 });
  const ibn = new Invert(bn);
  assert.deepEqual(ibn.stateLeaves, ["runningMean", "runningVar"]);
  const p = bn.init(keyFromSeed(0), "float64");
  const out = ibn.forward(refTree(p), fromValues([1, 2, 3, 6], [2, 2], "float64"), undefined, { training: true });
  assert.ok(out.state && "runningMean" in out.state && "runningVar" in out.state, "state returned");
  assert.deepEqual(host(out.state.runningMean!), [0.2, 0.4]);
  const y = host(out.y);
  assert.ok(Math.abs(y[0]! + y[2]!) < 1e-12 && Math.abs(y[0]! + 1 / Math.sqrt(1 + 1e-5)) < 1e-12, `normalised ${y}`);
  disposeTree(out.state as unknown as Params);
  out.logDet.dispose();
  disposeTree(p);
});

test("invert in float32 on wasm", () => {
  defaultDevice("wasm");
  checkBijector(new Invert(new Linear({ dim: 4 })), { dtype: "float32", n: 64, roundTripTol: 1e-4, logDetTol: 1e-3 });
});
