import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, grad, jit, type Array } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { ConfigError } from "../../src/engine/errors.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { disposeTree, refTree } from "../../src/engine/tree.js";
import { Linear, type LinearParams } from "../../src/bijectors/linear.js";
import { checkBijector, host, logAbsDetHost, perturb } from "../support/checks.js";

/** A = P·L·U and b rebuilt on the host from the params (P[i][perm[i]] = 1). */
function hostAffine(p: LinearParams, perm: readonly number[]): { A: number[][]; b: number[] } {
  const D = perm.length;
  const lo = host(p.lower);
  const up = host(p.upper);
  const d = host(p.logDiag).map(Math.exp);
  const L = [...Array(D)].map((_, i) => [...Array(D)].map((_, j) => (i === j ? 1 : i > j ? lo[i * D + j]! : 0)));
  const U = [...Array(D)].map((_, i) => [...Array(D)].map((_, j) => (i === j ? d[i]! : j > i ? up[i * D + j]! : 0)));
  const LU = L.map((row) => U[0]!.map((_, j) => row.reduce((s, v, k) => s + v * U[k]![j]!, 0)));
  return { A: perm.map((pi) => LU[pi]!), b: host(p.bias) };
}

function linearParams(lin: Linear, seed: number): LinearParams {
  return perturb(lin.init(keyFromSeed(seed), "float64"), seed, 0.5);
}

test("linear: identity at init; forward is x = A z + b for the host-built A = P·L·U; log-det Σ logDiag", () => {
  defaultDevice("cpu");
  const id = new Linear({ dim: 3 });
  const p0 = id.init(keyFromSeed(0), "float64");
  const z0 = [0.3, -1, 2, 4, 5, 6];
  const o0 = id.forward(p0, fromValues(z0, [2, 3], "float64"));
  assert.deepEqual(host(o0.y), z0);
  assert.deepEqual(host(o0.logDet), [0, 0]);

  for (const perm of [[0, 1, 2, 3, 4], [3, 0, 4, 1, 2]]) {
    const lin = new Linear({ dim: 5, permutation: perm });
    const p = linearParams(lin, 7);
    const { A, b } = hostAffine(p, perm);
    const z = [...Array(15)].map((_, i) => Math.sin(3 * i + 1) * 2);
    const out = lin.forward(refTree(p), fromValues(z, [3, 5], "float64"));
    const x = host(out.y);
    const ld = host(out.logDet);
    for (let r = 0; r < 3; r++)
      for (let i = 0; i < 5; i++) {
        const want = A[i]!.reduce((s, a, j) => s + a * z[r * 5 + j]!, b[i]!);
        assert.ok(Math.abs(x[r * 5 + i]! - want) < 1e-12, `x[${r},${i}] = ${x[r * 5 + i]} vs ${want}`);
      }
    const sumLog = host(p.logDiag).reduce((s, v) => s + v, 0);
    const ref = logAbsDetHost(A.flat(), 5);
    ld.forEach((v) => assert.ok(Math.abs(v - sumLog) < 1e-13 && Math.abs(v - ref) < 1e-10, `logDet ${v} vs ${ref}`));
    disposeTree(p);
  }
});

test("linear: round trip and Jacobian log-det on random params (float64, cpu), several D and permutations", () => {
  defaultDevice("cpu");
  for (const [dim, perm] of [[1, undefined], [2, [1, 0]], [5, undefined], [7, [6, 2, 0, 5, 1, 3, 4]], [8, undefined]] as const) {
    const lin = new Linear({ dim, permutation: perm });
    checkBijector(lin, { dtype: "float64", roundTripTol: 1e-10, logDetTol: 1e-9, perturbScale: 0.6, jacobianSamples: 2 });
  }
});

test("linear: the doubling inverse stays exact where a Neumann series would cancel (L and U entries 1.3, D = 32)", () => {
  defaultDevice("cpu");
  // With these entries Σ(−N)^k in float64 leaves errors of ~4e-6 in L⁻¹ (measured); doubling: ~1e-15.
  const D = 32;
  const lin = new Linear({ dim: D });
  const ones = new Float64Array(D * D).fill(1.3);
  const p: LinearParams = {
    lower: fromValues(ones, [D, D], "float64"),
    upper: fromValues(ones, [D, D], "float64"),
    logDiag: fromValues(new Float64Array(D).fill(0.1), [D], "float64"),
    bias: fromValues(new Float64Array(D), [D], "float64"),
  };
  const z = [...Array(2 * D)].map((_, i) => Math.cos(i));
  const fwd = lin.forward(refTree(p), fromValues(z, [2, D], "float64"));
  fwd.logDet.dispose();
  const back = lin.inverse(refTree(p), fwd.y);
  back.logDet.dispose();
  const zb = host(back.y);
  const err = Math.max(...zb.map((v, i) => Math.abs(v - z[i]!)));
  assert.ok(err < 1e-12, `round trip error ${err}`);
  disposeTree(p);
});

test("linear: gradients through the inverse under jit match central differences (float64, cpu)", () => {
  defaultDevice("cpu");
  const lin = new Linear({ dim: 3, permutation: [2, 0, 1] });
  const p = linearParams(lin, 3);
  const xv = [0.5, -1, 2, 1.5, 0.2, -0.7];
  const loss = (q: LinearParams): Array => {
    const r = lin.inverse(q, fromValues(xv, [2, 3], "float64"));
    return r.y.mul(r.y.ref).sum().mul(0.5).sub(r.logDet.sum());
  };
  const g = jit(grad(loss))(refTree(p));
  const h = 1e-6;
  for (const [leaf, idx] of [["lower", 3], ["lower", 7], ["upper", 1], ["upper", 5], ["logDiag", 2], ["bias", 0]] as const) {
    const base = host(p[leaf]);
    const shape = p[leaf].shape;
    const at = (delta: number): number => {
      const v = base.slice();
      v[idx] = v[idx]! + delta;
      const q = { ...refTree(p), [leaf]: fromValues(v, shape, "float64") };
      p[leaf].dispose(); // refTree above added one reference to the replaced leaf
      return host(loss(q))[0]!;
    };
    const fd = (at(h) - at(-h)) / (2 * h);
    const an = host(g[leaf])[idx]!;
    assert.ok(Math.abs(fd - an) < 1e-6 * Math.max(1, Math.abs(fd)), `${leaf}[${idx}]: grad ${an} vs finite difference ${fd}`);
  }
  // entries outside the strict triangles are masked out: their gradient is exactly zero
  assert.equal(host(g.lower)[0], 0);
  assert.equal(host(g.upper)[3], 0);
  disposeTree(g);
  disposeTree(p);
});

test("linear: invalid options throw ConfigError", () => {
  assert.throws(() => new Linear({ dim: 0 }), ConfigError);
  assert.throws(() => new Linear({ dim: 3, permutation: [0, 1] }), ConfigError);
  assert.throws(() => new Linear({ dim: 3, permutation: [0, 1, 1] }), ConfigError);
});

test("linear in float32 on wasm", () => {
  defaultDevice("wasm");
  checkBijector(new Linear({ dim: 6, permutation: [5, 4, 3, 2, 1, 0] }), { dtype: "float32", n: 32, roundTripTol: 1e-4, logDetTol: 1e-3 });
});
