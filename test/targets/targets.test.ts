// The built-in VI targets: their stated log Z is the log of the integral of their own logDensity
// (midpoint rule; the funnel in coordinates that follow its neck), and their gradients under jit
// match central differences (float64 on the exact cpu device), as reparametrised VI needs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, grad, jit, type Array } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { builtinTarget, TARGET_NAMES } from "../../src/targets/builtin.js";
import { checkTargetOutput, columns } from "../../src/targets/target.js";
import { ConfigError, NonFiniteError, ShapeError } from "../../src/engine/errors.js";
import { gridMass } from "../support/grid.js";

const BOXES: Record<string, [number, number, number, number]> = {
  "two-moons": [-4, 4, -4, 4],
  ring: [-4, 4, -4, 4],
  banana: [-5.5, 5.5, -3, 30],
  mixture: [-6, 6, -6, 6],
};

test("every built-in target's log Z is the log of the integral of its logDensity", () => {
  for (const name of Object.keys(BOXES)) {
    const t = builtinTarget(name);
    const { mass, nonFinite } = gridMass((x) => t.logDensity(x), { box: BOXES[name]!, points: 500, dtype: "float64", batch: 50_000 });
    assert.equal(nonFinite, 0, name);
    assert.ok(Math.abs(Math.log(mass) - t.logZ!) < 2e-4, `${name}: quadrature ${Math.log(mass)} vs stated ${t.logZ}`);
  }
  // funnel: x = e^{v/2}·t, dx = e^{v/2} dt, so the grid follows the neck
  const f = builtinTarget("funnel");
  const G = 400;
  const [v0, v1, t0, t1] = [-16, 16, -9, 9];
  const hv = (v1 - v0) / G;
  const ht = (t1 - t0) / G;
  const pts = new Float64Array(2 * G * G);
  const jac = new Float64Array(G * G);
  for (let i = 0; i < G; i++)
    for (let j = 0; j < G; j++) {
      const v = v0 + (i + 0.5) * hv;
      pts[2 * (i * G + j)] = v;
      pts[2 * (i * G + j) + 1] = Math.exp(v / 2) * (t0 + (j + 0.5) * ht);
      jac[i * G + j] = Math.exp(v / 2);
    }
  const lp = f.logDensity(fromValues(pts, [G * G, 2], "float64")).dataSync() as Float64Array;
  let mass = 0;
  for (let k = 0; k < G * G; k++) mass += Math.exp(lp[k]!) * jac[k]! * hv * ht;
  assert.ok(Math.abs(Math.log(mass) - f.logZ!) < 2e-4, `funnel: quadrature ${Math.log(mass)} vs stated ${f.logZ}`);
});

test("targets differentiate under jit: the gradient of Σ log p̃ matches central differences (float64, cpu)", () => {
  defaultDevice("cpu");
  try {
    const points = [0.3, -1.1, 1.7, 0.4, -0.6, 2.2, 1.2, -0.9];
    const N = points.length / 2;
    for (const name of TARGET_NAMES) {
      const t = builtinTarget(name);
      const g = jit(grad((x: Array) => t.logDensity(x).sum()));
      const analytic = g(fromValues(points, [N, 2], "float64")).dataSync() as Float64Array;
      const f = (p: number[]): Float64Array => t.logDensity(fromValues(p, [N, 2], "float64")).dataSync() as Float64Array;
      const h = 1e-6;
      for (let k = 0; k < points.length; k++) {
        const up = points.slice();
        const down = points.slice();
        up[k]! += h;
        down[k]! -= h;
        const row = Math.floor(k / 2);
        const fd = (f(up)[row]! - f(down)[row]!) / (2 * h);
        assert.ok(Math.abs(analytic[k]! - fd) < 1e-6 * Math.max(1, Math.abs(fd)), `${name}: ∂/∂x[${k}] ${analytic[k]} vs ${fd}`);
      }
      g.dispose();
    }
  } finally {
    defaultDevice("wasm");
  }
});

test("columns gives the columns of x; checkTargetOutput names wrong shapes, NaN and plain numbers", () => {
  const x = fromValues([1, 2, 3, 4, 5, 6], [3, 2], "float32");
  const [a, b] = columns(x);
  assert.deepEqual(Array.from(a!.dataSync()), [1, 3, 5]);
  assert.deepEqual(Array.from(b!.dataSync()), [2, 4, 6]);
  const batch = () => fromValues([0.1, 0.2, -0.3, 0.4], [2, 2], "float32");
  const mk = (logDensity: (x: Array) => unknown) => ({ name: "t", dim: 2, description: "", logDensity: logDensity as (x: Array) => Array });
  assert.throws(() => checkTargetOutput(mk((x) => x.mul(2)), batch()), (e: unknown) => e instanceof ShapeError && /must return shape \[2\].*got \[2, 2\]/.test((e as Error).message));
  assert.throws(() => checkTargetOutput(mk((x) => x.sum(1).mul(Number.NaN)), batch()), (e: unknown) => e instanceof NonFiniteError && /NaN at row 0/.test((e as Error).message));
  assert.throws(() => checkTargetOutput(mk(() => 1.5), batch()), (e: unknown) => e instanceof ConfigError && /plain numbers, which cannot be differentiated/.test((e as Error).message));
  assert.throws(() => checkTargetOutput({ ...mk((x) => x.sum(1)), dim: 3 }, batch()), (e: unknown) => e instanceof ShapeError && /3-dimensional, the flow is 2-dimensional/.test((e as Error).message));
  // −∞ (outside the support) is allowed
  const lp = checkTargetOutput(mk((x) => x.sum(1).mul(Number.POSITIVE_INFINITY).neg()), batch());
  assert.equal(lp.length, 2);
});

test("an unknown target name says which one was meant", () => {
  assert.throws(() => builtinTarget("mixtrue"), /unknown target "mixtrue" \(did you mean mixture\?\); built-in targets: two-moons, ring, banana, funnel, mixture/);
  assert.throws(() => builtinTarget("gaussian"), (e: unknown) => e instanceof ConfigError && !/did you mean/.test((e as Error).message));
});
