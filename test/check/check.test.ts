/**
 * The public exactness check must be able to FAIL: bijections with a wrong inverse, an inconsistent
 * or wrong log-det, a non-triangular Jacobian declared triangular, and a flow whose density does
 * not integrate to one are each caught by the check that is about them. And it passes, with
 * every figure, on a trained float32 model (checked on a float64 copy), a conditional model and an
 * image model (Jacobian on the small-image proxy).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice } from "../../src/engine/jax.js";
import { keyFromSeed } from "../../src/engine/random.js";
import type { Bijector, BijectionResult } from "../../src/bijectors/bijector.js";
import { FixedLinear, type FixedLinearParams } from "../../src/bijectors/fixed-linear.js";
import { Flow } from "../../src/distributions/flow.js";
import { StandardNormal } from "../../src/distributions/standard-normal.js";
import { build } from "../../src/flows/build.js";
import { FlowModel } from "../../src/model/model.js";
import { fit } from "../../src/model/fit.js";
import { sampleToy } from "../../src/data/toys.js";
import { checkBijector, checkFlow, formatReport, type CheckReport } from "../../src/check/index.js";
import { perturbParams } from "../../src/check/params.js";

const status = (r: CheckReport, id: string, layer?: string) =>
  r.checks.filter((c) => c.id === id && (layer === undefined || c.layer?.includes(layer))).map((c) => c.status);
const failed = (r: CheckReport) => [...new Set(r.checks.filter((c) => c.status === "fail").map((c) => c.id))].sort();

/** A FixedLinear whose inverse output and log-dets are altered by the given amounts. */
function altered(inner: FixedLinear, o: { inverseShift?: number; forwardLogDet?: number; inverseLogDet?: number }): Bijector<FixedLinearParams> {
  const shift = (r: BijectionResult, dy: number, dld: number): BijectionResult => ({ y: dy ? r.y.add(dy) : r.y, logDet: dld ? r.logDet.add(dld) : r.logDet });
  return {
    kind: "altered-linear",
    dim: inner.dim,
    contextDim: 0,
    forwardPass: "parallel",
    inversePass: "parallel",
    init: (key) => inner.init(key),
    forward: (p, z) => shift(inner.forward(p, z), 0, o.forwardLogDet ?? 0),
    inverse: (p, x) => shift(inner.inverse(p, x), o.inverseShift ?? 0, o.inverseLogDet ?? 0),
  };
}

const A = [
  [2, -1, 0.5],
  [0.3, 1, 0],
  [1, 0.2, 1.5],
];

test("checkBijector passes an exact bijection and fails each kind of mistake in the check about it", () => {
  defaultDevice("wasm");
  const exact = checkBijector(new FixedLinear(A));
  assert.ok(exact.pass, formatReport(exact).join("\n"));
  assert.deepEqual(
    exact.checks.map((c) => c.id),
    ["round-trip-zxz", "log-det-sum", "round-trip-xzx", "log-det-jacobian-forward", "log-det-jacobian-inverse"],
  );
  for (const c of exact.checks) {
    assert.ok(c.maxError !== null && c.tolerance !== null && c.maxError <= c.tolerance, `${c.id}: ${c.maxError} vs ${c.tolerance}`);
    assert.ok(c.points > 0);
  }
  assert.equal(exact.points.z.length, 16);
  assert.equal(exact.points.x[0]!.length, 3);
  assert.equal(exact.dtype, "float64");

  // an inverse that is off by 1e-6: both round trips fail, nothing else
  const offInverse = checkBijector(altered(new FixedLinear(A), { inverseShift: 1e-6 }));
  assert.deepEqual(failed(offInverse), ["round-trip-xzx", "round-trip-zxz"]);
  assert.ok(offInverse.checks[0]!.maxError! > 5e-7);

  // an inverse log-det that does not undo the forward one: the sum and the inverse Jacobian check fail
  const inconsistent = checkBijector(altered(new FixedLinear(A), { inverseLogDet: 0.01 }));
  assert.deepEqual(failed(inconsistent), ["log-det-jacobian-inverse", "log-det-sum"]);

  // a consistent but wrong pair of log-dets: only the autodiff Jacobian catches it
  const wrong = checkBijector(altered(new FixedLinear(A), { forwardLogDet: 0.5, inverseLogDet: -0.5 }));
  assert.deepEqual(failed(wrong), ["log-det-jacobian-forward", "log-det-jacobian-inverse"]);
  const jf = wrong.checks.find((c) => c.id === "log-det-jacobian-forward")!;
  // det A = 2.98: the error is 0.5 / max(1, log 2.98)
  assert.ok(Math.abs(jf.maxError! - 0.5 / Math.log(2.98)) < 1e-9, `error ${jf.maxError}`);
  assert.ok(!wrong.pass);
});

test("triangularity: a lower-triangular map passes in its order, a full one declared triangular fails", () => {
  defaultDevice("wasm");
  const lower = checkBijector(new FixedLinear([[2, 0, 0], [0.5, 1, 0], [1, -1, 3]]), undefined, { triangular: [1, 2, 3] });
  assert.ok(lower.pass, formatReport(lower).join("\n"));
  assert.deepEqual(status(lower, "triangular"), ["pass", "pass"], "both directions");
  const full = checkBijector(new FixedLinear(A), undefined, { triangular: [1, 2, 3] });
  assert.deepEqual(status(full, "triangular"), ["fail", "fail"]);
  const t = full.checks.find((c) => c.id === "triangular")!;
  assert.ok(t.maxError! > 0.1, `largest forbidden entry ${t.maxError}`);
  // the reversed order is wrong for a lower-triangular map
  const reversed = checkBijector(new FixedLinear([[2, 0, 0], [0.5, 1, 0], [1, -1, 3]]), undefined, { triangular: [3, 2, 1] });
  assert.ok(!reversed.pass);
});

test("checkFlow: a density that does not integrate to one fails the grid integral (and the Jacobian checks)", () => {
  defaultDevice("wasm");
  // log-dets off by ±0.5 consistently: p(x) = e^{−0.5} · the true density, ∫ p = 0.607
  const flow = new Flow(new StandardNormal(2), altered(new FixedLinear([[1.5, 0.3], [-0.2, 0.8]]), { forwardLogDet: 0.5, inverseLogDet: -0.5 }));
  const r = checkFlow(flow, { gridPoints: 200 });
  const integral = r.checks.find((c) => c.id === "integral")!;
  assert.equal(integral.status, "fail");
  assert.ok(Math.abs((integral.figures!.mass as number) - Math.exp(-0.5)) < 2e-3, `∫ p = ${integral.figures!.mass}`);
  assert.deepEqual(failed(r), ["integral", "log-det-jacobian-forward", "log-det-jacobian-inverse"]);
  // the exact map passes everything
  const ok = checkFlow(new Flow(new StandardNormal(2), new FixedLinear([[1.5, 0.3], [-0.2, 0.8]])), { gridPoints: 200 });
  assert.ok(ok.pass, formatReport(ok).join("\n"));
  assert.ok(Math.abs((ok.checks.find((c) => c.id === "integral")!.figures!.mass as number) - 1) < 2e-3);
});

test("checkFlow on a trained float32 model: float64 copy of its params, every autoregressive layer triangular, its own logProb", async () => {
  defaultDevice("wasm");
  const model = await fit({ flow: "maf", layers: 2, hidden: [16] }, { x: sampleToy("moons", 600, 0), n: 600, dim: 2 }, { steps: 30, evalEvery: 10 });
  try {
    const r = checkFlow(model);
    assert.ok(r.pass, formatReport(r).join("\n"));
    assert.equal(r.paramsDType, "float32");
    assert.equal(r.dtype, "float64");
    assert.equal(r.randomParams, false);
    assert.deepEqual(status(r, "model-log-prob"), ["pass"]);
    assert.deepEqual(status(r, "integral"), ["pass"]);
    assert.equal(status(r, "triangular", "masked-autoregressive").length, 4, "2 MAF layers × 2 directions");
    assert.ok(r.subject.startsWith("model (maf"));
    // the report is plain JSON
    assert.deepEqual(JSON.parse(JSON.stringify(r)).checks.length, r.checks.length);
  } finally {
    model.dispose();
  }
});

test("checkFlow on a conditional flow and on an image flow with conv conditioners (Jacobian on the small-image proxy)", () => {
  defaultDevice("wasm");
  const cond = build({ flow: "iaf", dim: 3, layers: 2, hidden: [8], contextDim: 2 }).flow;
  const rc = checkFlow(cond, { context: [0.5, -1] });
  assert.ok(rc.pass, formatReport(rc).join("\n"));
  assert.deepEqual(rc.points.context![0], [0.5, -1]);
  assert.equal(status(rc, "triangular", "inverse-autoregressive").length, 4);

  // D = 81 > 64 with conv conditioners: the model's own conv weights on a [1, 4, 4] image
  const { flow, config } = build({ flow: "realnvp", image: [1, 9, 9], layers: 1, hidden: [2], scales: 1, logit: null });
  const params = perturbParams(flow.init(keyFromSeed(3), "float32"), 5, 0.3);
  const model = new FlowModel(flow, params, { config, preprocessing: null, context: null, data: null, training: null });
  try {
    const r = checkFlow(model, { points: 2 });
    assert.ok(r.pass, formatReport(r).join("\n"));
    assert.deepEqual(status(r, "log-det-jacobian-forward"), ["skipped", "pass"]);
    const proxy = r.checks.filter((c) => c.layer?.startsWith("proxy [1, 4, 4], the model's params"));
    assert.deepEqual(proxy.map((c) => c.id).sort(), ["log-det-jacobian-forward", "log-det-jacobian-inverse", "log-det-sum", "round-trip-xzx", "round-trip-zxz"]);
    assert.deepEqual(status(r, "integral"), ["skipped"]);
  } finally {
    model.dispose();
  }
});
