/**
 * The lecture's worked example, exactly: z ~ Uniform([0, 2]²), x = f(z) = A z with
 * A = [[2, −1], [2, 1]] (det A = 4). f maps the square onto the parallelogram with vertices
 * (0,0), (−2,2), (2,6), (4,4) [f(2,0) = (4,4), f(0,2) = (−2,2), f(2,2) = (2,6)], and by the
 * change of variables
 *     p_X(x) = p_Z(f⁻¹(x)) · |det J_{f⁻¹}(x)| = (1/4) · (1/4) = 1/16   inside, 0 outside.
 * Forgetting the Jacobian leaves 1/4 on an area of 16: total mass 4.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, jit, type Array } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { FixedLinear } from "../../src/bijectors/fixed-linear.js";
import { UniformBox } from "../../src/distributions/uniform-box.js";
import { Flow, type FlowParams } from "../../src/distributions/flow.js";
import { host } from "../support/checks.js";
import { gridMass } from "../support/grid.js";

const A = [[2, -1], [2, 1]];
const f = (z: number[]): number[] => [A[0]![0]! * z[0]! + A[0]![1]! * z[1]!, A[1]![0]! * z[0]! + A[1]![1]! * z[1]!];

function lectureFlow(): { flow: Flow; p: FlowParams } {
  const flow = new Flow(new UniformBox([0, 0], [2, 2]), new FixedLinear(A));
  return { flow, p: flow.init(keyFromSeed(0), "float64") };
}

test("lecture: log p = log(1/16) inside the parallelogram, −Infinity outside", () => {
  defaultDevice("cpu");
  const { flow, p } = lectureFlow();
  assert.deepEqual([f([2, 0]), f([0, 2]), f([2, 2])], [[4, 4], [-2, 2], [2, 6]]);
  const eps = 1e-6;
  // images of points just inside / just outside each edge of the square, the vertices, the centre
  const inside = [[eps, eps], [2 - eps, 1], [1, 2 - eps], [eps, 1], [1, eps], [1, 1], [2 - eps, 2 - eps]].map(f);
  const vertices = [[0, 0], [-2, 2], [2, 6], [4, 4]]; // the closed box's corners map onto these exactly
  const outside = [[-eps, 1], [2 + eps, 1], [1, -eps], [1, 2 + eps], [-eps, -eps], [3, 3]].map(f);
  const far = [[0, 5], [4, 0], [-3, 3], [5, 5], [0, -1e-3]];
  const pts = [...inside, ...vertices, ...outside, ...far];
  const lp = host(flow.logProb(p, fromValues(pts.flat(), [pts.length, 2], "float64")));
  const nIn = inside.length + vertices.length;
  for (let i = 0; i < nIn; i++)
    assert.ok(Math.abs(lp[i]! - Math.log(1 / 16)) < 1e-14, `point ${pts[i]}: log p = ${lp[i]}, expected log(1/16)`);
  for (let i = nIn; i < pts.length; i++) assert.equal(lp[i], -Infinity, `point ${pts[i]} is outside`);
});

test("lecture: P(S) under the base equals P(f(S)) under the flow (Monte Carlo, 3 standard errors)", () => {
  defaultDevice("wasm");
  const { flow, p } = lectureFlow();
  const n = 40000;
  const r = flow.sampleAndLogProb(p, keyFromSeed(42), n, undefined, { dtype: "float64" });
  // every sample lies in the parallelogram, where the density is 1/16
  const lps = host(r.logProb);
  assert.ok(lps.every((v) => Math.abs(v - Math.log(1 / 16)) < 1e-12), "a sample has log p ≠ log(1/16)");
  // x ∈ S′ = f(S), S = [0, 1]², exactly when f⁻¹(x) ∈ S; P_base(S) = 1/4
  const back = flow.inverse({ base: {}, bijector: {} }, r.x.ref);
  back.logDet.dispose();
  const z = host(back.y);
  let hits = 0;
  for (let i = 0; i < n; i++) if (z[2 * i]! >= 0 && z[2 * i]! <= 1 && z[2 * i + 1]! >= 0 && z[2 * i + 1]! <= 1) hits++;
  const se = Math.sqrt((0.25 * 0.75) / n);
  assert.ok(Math.abs(hits / n - 0.25) < 3 * se, `P(S′) = ${hits / n}, expected 0.25 ± ${3 * se}`);
  // the same count by plain geometry in x-space: S′ has vertices (0,0), (2,2), (1,3), (−1,1) and is
  // {x : 0 ≤ x₁ + x₂ ≤ 4, 0 ≤ x₂ − x₁ ≤ 2} (the rows of 4·A⁻¹ = [[1, 1], [−2, 2]])
  const x = host(r.x);
  let geometric = 0;
  for (let i = 0; i < n; i++) {
    const [a, b] = [x[2 * i]! + x[2 * i + 1]!, x[2 * i + 1]! - x[2 * i]!];
    if (a >= 0 && a <= 4 && b >= 0 && b <= 2) geometric++;
  }
  assert.ok(Math.abs(geometric - hits) <= 2, `geometric count ${geometric} vs mapped-back count ${hits}`);
  // and S′ has area |det A|·|S| = 4, so P(S′) = 4 · 1/16 = 1/4 under the flow's density too
  r.x.dispose();
  defaultDevice("cpu");
});

test("lecture: the density integrates to 1; without the Jacobian it would integrate to 4", () => {
  defaultDevice("wasm");
  const { flow } = lectureFlow();
  // offset so that no grid midpoint falls exactly on an edge (the closed support would count it
  // in full, a systematic O(h) excess)
  const box: [number, number, number, number] = [-2.53, 4.47, -0.5, 6.5];
  const spec = { box, points: 420, dtype: "float64" as const, batch: 420 * 105 };
  const withJacobian = jit((q: FlowParams, x: Array) => flow.logProb(q, x));
  const right = gridMass((x) => withJacobian({ base: {}, bijector: {} }, x), spec);
  // the "forgot the Jacobian" density: p_Z(f⁻¹(x)) alone
  const noJacobian = jit((x: Array) => {
    const r = flow.bijector.inverse({}, x);
    r.logDet.dispose();
    return flow.base.logProb({}, r.y);
  });
  const wrong = gridMass((x) => noJacobian(x), spec);
  withJacobian.dispose();
  noJacobian.dispose();
  assert.equal(right.nonFinite, 0);
  assert.ok(Math.abs(right.mass - 1) < 1e-3, `∫ p = ${right.mass}`);
  assert.ok(Math.abs(wrong.mass - 4) < 4e-3, `∫ p without Jacobian = ${wrong.mass}`);
  defaultDevice("cpu");
});
