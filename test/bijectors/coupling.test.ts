import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, grad, jit, np, type Array } from "../../src/engine/jax.js";
import { fromValues, type FloatDType } from "../../src/engine/dtype.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { disposeTree, refTree, setPath, treeLeaves, treePaths } from "../../src/engine/tree.js";
import { ContextError } from "../../src/engine/errors.js";
import { AffineCoupling } from "../../src/bijectors/affine-coupling.js";
import { AdditiveCoupling } from "../../src/bijectors/additive-coupling.js";
import { Coupling, type CouplingParams } from "../../src/bijectors/coupling.js";
import { couplingMask } from "../../src/bijectors/masks.js";
import { checkBijector, host, perturb } from "../support/checks.js";

const CASES: { dim: number; mask: boolean[]; contextDim: number }[] = [
  { dim: 2, mask: couplingMask(2, "half"), contextDim: 0 },
  { dim: 2, mask: couplingMask(2, "half", true), contextDim: 3 },
  { dim: 5, mask: couplingMask(5, "half"), contextDim: 3 },
  { dim: 5, mask: couplingMask(5, "alternating", true), contextDim: 0 },
  { dim: 5, mask: couplingMask(5, "alternating"), contextDim: 3 },
];

function couplings(c: (typeof CASES)[number]): Coupling[] {
  return [
    new AffineCoupling({ ...c, hidden: [8, 8], activation: "tanh" }),
    new AdditiveCoupling({ ...c, hidden: [8] }),
  ];
}

test("couplings: round trip and log-det vs autodiff Jacobian, float64 on cpu (D = 2, 5; half, alternating; with and without context)", () => {
  defaultDevice("cpu");
  CASES.forEach((c, i) => {
    for (const b of couplings(c)) checkBijector(b, { dtype: "float64", roundTripTol: 1e-10, logDetTol: 1e-9, seed: 10 + i, n: 8, jacobianSamples: 2 });
  });
});

test("couplings: round trip and log-det in float32 on wasm", () => {
  defaultDevice("wasm");
  CASES.forEach((c, i) => {
    for (const b of couplings(c)) checkBijector(b, { dtype: "float32", roundTripTol: 1e-4, logDetTol: 1e-4, seed: 20 + i, n: 8, jacobianSamples: 1 });
  });
});

function batch(n: number, d: number, seed: number, dtype: FloatDType = "float64"): Array {
  const v = Array.from({ length: n * d }, (_, i) => Math.sin(seed * 7.1 + i * 1.37) * 1.5);
  return fromValues(v, [n, d], dtype);
}

test("additive coupling: log-det is exactly 0 in both directions (volume preserving)", () => {
  defaultDevice("cpu");
  const b = new AdditiveCoupling({ dim: 5, mask: couplingMask(5, "alternating"), hidden: [8], contextDim: 3 });
  const p = perturb(b.init(keyFromSeed(3), "float64"), 7);
  const f = b.forward(refTree(p), batch(6, 5, 1), batch(6, 3, 2));
  const i = b.inverse(p, f.y, batch(6, 3, 2));
  assert.deepEqual(host(f.logDet), [0, 0, 0, 0, 0, 0]);
  assert.deepEqual(host(i.logDet), [0, 0, 0, 0, 0, 0]);
  [f.logDet, i.y, i.logDet].forEach((a) => a.dispose());
});

test("couplings are the identity at init (zeroed last layer), and passing dims never change", () => {
  defaultDevice("cpu");
  for (const b of couplings({ dim: 5, mask: couplingMask(5, "half"), contextDim: 3 })) {
    const p = b.init(keyFromSeed(4), "float64");
    const zv = host(batch(4, 5, 3));
    const f = b.forward(refTree(p), batch(4, 5, 3), batch(4, 3, 5));
    assert.deepEqual(host(f.y), zv, `${b.kind}: not the identity at init`);
    assert.deepEqual(host(f.logDet), [0, 0, 0, 0]);
    f.y.dispose();
    f.logDet.dispose();
    // after perturbation the transformed dims move, the passing ones do not
    const q = perturb(p, 9);
    const g = b.forward(q, batch(4, 5, 3), batch(4, 3, 5));
    const xv = host(g.y);
    g.y.dispose();
    g.logDet.dispose();
    for (let n = 0; n < 4; n++)
      for (let d = 0; d < 5; d++) {
        const same = xv[n * 5 + d] === zv[n * 5 + d];
        assert.equal(same, b.mask[d], `${b.kind}: dim ${d} changed=${!same}, mask ${b.mask[d]}`);
      }
  }
});

test("conditional couplings: the output depends on the context, and a missing context is an error", () => {
  defaultDevice("cpu");
  for (const b of couplings({ dim: 5, mask: couplingMask(5, "alternating"), contextDim: 3 })) {
    const p = perturb(b.init(keyFromSeed(5), "float64"), 11);
    const x1 = host(b.forward(refTree(p), batch(4, 5, 1), batch(4, 3, 2)).y);
    const x2 = host(b.forward(refTree(p), batch(4, 5, 1), batch(4, 3, 3)).y);
    let diff = 0;
    for (let i = 0; i < x1.length; i++) diff = Math.max(diff, Math.abs(x1[i]! - x2[i]!));
    assert.ok(diff > 1e-3, `${b.kind}: two contexts gave the same x (max diff ${diff})`);
    assert.throws(() => b.forward(refTree(p), batch(4, 5, 1)), ContextError);
    disposeTree(p);
  }
});

/** Σ_n [−½‖g(x_n)‖² + log|det J_g(x_n)|]: a log-likelihood up to a constant. */
function nllLoss(b: Coupling, x: Array, ctx: Array | undefined) {
  return (p: CouplingParams): Array => {
    const r = b.inverse(p, x.ref, ctx?.ref);
    return np.square(r.y).sum().mul(-0.5).add(r.logDet.sum());
  };
}

/** Gradients of the loss reach every leaf, and the jitted gradient equals the eager one. */
function checkGradients(b: Coupling, p: CouplingParams, x: Array, ctx: Array | undefined): void {
  const loss = nllLoss(b, x, ctx);
  const g = grad(loss)(refTree(p));
  const gj = jit(grad(loss))(refTree(p));
  const paths = treePaths(g);
  const eager = treeLeaves(g).map(host);
  const jitted = treeLeaves(gj).map(host);
  eager.forEach((v, i) => {
    assert.ok(v.some((e) => e !== 0), `${b.kind}: gradient of ${paths[i]} is zero everywhere`);
    v.forEach((e, j) => assert.ok(Math.abs(e - jitted[i]![j]!) <= 1e-9 * (1 + Math.abs(e)), `${b.kind}: jit gradient differs at ${paths[i]}`));
  });
  disposeTree(g);
  disposeTree(gj);
  disposeTree(p);
  x.dispose();
  ctx?.dispose();
}

test("couplings: the gradient of a log-likelihood reaches every parameter leaf, under jit too", () => {
  defaultDevice("cpu");
  for (const contextDim of [0, 3])
    for (const b of couplings({ dim: 5, mask: couplingMask(5, "half"), contextDim })) {
      const p = perturb(b.init(keyFromSeed(6), "float64"), 13);
      checkGradients(b, p, batch(8, 5, 4), contextDim ? batch(8, 3, 6) : undefined);
    }
});

test("affine coupling: huge raw log-scales are soft-clamped, outputs stay finite and |logDet| < k·B", () => {
  defaultDevice("cpu");
  const b = new AffineCoupling({ dim: 4, mask: couplingMask(4, "half"), hidden: [8], scaleBound: 2 });
  let p = perturb(b.init(keyFromSeed(8), "float64"), 17) as CouplingParams;
  // last bias = [shift (2), raw log-scale (2)]: make the raw log-scales enormous
  p = setPath(p, "net.b.1", fromValues([0.1, -0.2, 1e6, -1e6], [4], "float64"));
  const f = b.forward(refTree(p), batch(5, 4, 2));
  const x = host(f.y);
  const ld = host(f.logDet);
  assert.ok(x.every(Number.isFinite) && ld.every(Number.isFinite), "non-finite output");
  ld.forEach((v) => assert.ok(Math.abs(v) < 2 * 2 + 1e-12, `logDet ${v} exceeds k·B = 4`));
  const i = b.inverse(p, f.y);
  assert.ok(host(i.y).every(Number.isFinite));
  i.y.dispose();
  i.logDet.dispose();
});
