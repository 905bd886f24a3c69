import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, grad, jit, np, type Array } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { disposeTree, refTree, setPath, treeLeaves, treePaths } from "../../src/engine/tree.js";
import { ContextError } from "../../src/engine/errors.js";
import { MaskedAutoregressive } from "../../src/bijectors/masked-autoregressive.js";
import { InverseAutoregressive } from "../../src/bijectors/inverse-autoregressive.js";
import { withPassListener, type Autoregressive, type AutoregressiveOptions, type AutoregressiveParams } from "../../src/bijectors/autoregressive.js";
import { AdditiveTransformer } from "../../src/bijectors/transformers/additive.js";
import { checkBijector, forwardJacobian, host, perturb } from "../support/checks.js";

const CASES: AutoregressiveOptions[] = [
  { dim: 2, hidden: [8] },
  { dim: 2, hidden: [8], contextDim: 3 },
  { dim: 5, hidden: [10, 10], activation: "tanh" },
  { dim: 5, hidden: [10], contextDim: 3, order: [3, 5, 1, 4, 2], degrees: { random: 7 } },
];

const layers = (o: AutoregressiveOptions): Autoregressive[] => [new MaskedAutoregressive(o), new InverseAutoregressive(o)];

test("MAF and IAF layers: pass kinds", () => {
  const [maf, iaf] = layers({ dim: 3, hidden: [4] });
  assert.deepEqual([maf!.forwardPass, maf!.inversePass], ["sequential", "parallel"]);
  assert.deepEqual([iaf!.forwardPass, iaf!.inversePass], ["parallel", "sequential"]);
});

test("MAF and IAF: round trip and log-det vs autodiff Jacobian, float64 on cpu (D = 2, 5; context; random degrees; custom order)", () => {
  defaultDevice("cpu");
  CASES.forEach((c, i) => {
    for (const b of layers(c)) checkBijector(b, { dtype: "float64", roundTripTol: 1e-10, logDetTol: 1e-9, seed: 30 + i, jacobianSamples: 2, n: 8 });
  });
});

test("MAF and IAF: round trip and log-det in float32 on wasm", () => {
  defaultDevice("wasm");
  CASES.forEach((c, i) => {
    for (const b of layers(c)) checkBijector(b, { dtype: "float32", roundTripTol: 1e-4, logDetTol: 1e-4, seed: 40 + i, jacobianSamples: 1, n: 8 });
  });
});

test("MAF and IAF with a pluggable additive transformer: exact round trip, log-det exactly 0", () => {
  defaultDevice("cpu");
  for (const b of layers({ dim: 4, hidden: [8], contextDim: 3, transformer: new AdditiveTransformer() })) {
    checkBijector(b, { dtype: "float64", roundTripTol: 1e-10, logDetTol: 1e-9, seed: 3, jacobianSamples: 1 });
    const p = perturb(b.init(keyFromSeed(1), "float64"), 2);
    const r = b.forward(p, fromValues([0.1, 0.2, -0.3, 0.4], [1, 4], "float64"), fromValues([1, 2, 3], [1, 3], "float64"));
    assert.deepEqual(host(r.logDet), [0]);
    r.y.dispose();
    r.logDet.dispose();
  }
});

const sample = (d: number, seed: number) => Array.from({ length: d }, (_, i) => Math.sin(seed * 2.3 + i * 1.13) * 1.2);

test("MAF and IAF: Jacobians are triangular in the degree order, with nonzero diagonal, both directions", () => {
  defaultDevice("cpu");
  const configs: AutoregressiveOptions[] = [
    { dim: 5, hidden: [12, 12] },
    { dim: 5, hidden: [12, 12], degrees: { random: 11 } },
    { dim: 5, hidden: [12], order: [2, 5, 4, 1, 3], contextDim: 3 },
  ];
  configs.forEach((c, k) => {
    for (const b of layers(c)) {
      const p = perturb(b.init(keyFromSeed(k), "float64"), 60 + k, 0.5);
      const order = b.made.order;
      for (const direction of ["forward", "inverse"] as const) {
        const ctx = c.contextDim ? sample(3, 9) : undefined;
        const J = forwardJacobian(b, p, sample(5, k), ctx, "float64", direction);
        let below = 0;
        for (let i = 0; i < 5; i++)
          for (let j = 0; j < 5; j++) {
            const v = J[i * 5 + j]!;
            if (i === j) assert.ok(v !== 0 && Number.isFinite(v), `${b.kind} ${direction}: ∂x_${i}/∂z_${i} = ${v}`);
            else if (order[j]! > order[i]!) assert.equal(v, 0, `${b.kind} ${direction} (case ${k}): ∂x_${i}/∂z_${j} = ${v}, must be 0`);
            else if (v !== 0) below++;
          }
        assert.ok(below >= 6, `${b.kind} ${direction} (case ${k}): only ${below} of 10 allowed off-diagonal derivatives nonzero`);
      }
      disposeTree(p);
    }
  });
});

test("MAF and IAF: identity at init, context changes the output, missing context throws", () => {
  defaultDevice("cpu");
  for (const b of layers({ dim: 4, hidden: [8], contextDim: 3 })) {
    const p = b.init(keyFromSeed(2), "float64");
    const z = [0.5, -1, 2, 0.25, 1.5, 0.3, -0.2, -2];
    const f = b.forward(refTree(p), fromValues(z, [2, 4], "float64"), fromValues([1, 2, 3, 4, 5, 6], [2, 3], "float64"));
    assert.deepEqual(host(f.y), z);
    assert.deepEqual(host(f.logDet), [0, 0]);
    f.y.dispose();
    f.logDet.dispose();
    const q = perturb(p, 4);
    const x1 = host(b.forward(refTree(q), fromValues(z, [2, 4], "float64"), fromValues([1, 2, 3, 4, 5, 6], [2, 3], "float64")).y);
    const x2 = host(b.forward(refTree(q), fromValues(z, [2, 4], "float64"), fromValues([1, 2, 3, 4, 5, 7], [2, 3], "float64")).y);
    assert.ok(x1.some((v, i) => Math.abs(v - x2[i]!) > 1e-6), `${b.kind}: the context has no effect`);
    assert.throws(() => b.inverse(refTree(q), fromValues(z, [2, 4], "float64")), ContextError);
    disposeTree(q);
  }
});

test("MAF and IAF: log-likelihood gradients reach every leaf and match under jit (sequential passes included)", () => {
  defaultDevice("cpu");
  for (const b of layers({ dim: 3, hidden: [6], contextDim: 2, activation: "tanh" })) {
    const p = perturb(b.init(keyFromSeed(5), "float64"), 8);
    const x = fromValues(sample(12, 1), [4, 3], "float64");
    const ctx = fromValues(sample(8, 2), [4, 2], "float64");
    const loss = (q: AutoregressiveParams): Array => {
      const r = b.inverse(q, x.ref, ctx.ref);
      return np.square(r.y).sum().mul(-0.5).add(r.logDet.sum());
    };
    const g = grad(loss)(refTree(p));
    const gj = jit(grad(loss))(refTree(p));
    const paths = treePaths(g);
    const gl = treeLeaves(g).map(host);
    const jl = treeLeaves(gj).map(host);
    gl.forEach((v, i) => {
      assert.ok(v.some((e) => e !== 0), `${b.kind}: gradient of ${paths[i]} is zero`);
      v.forEach((e, j) => assert.ok(Math.abs(e - jl[i]![j]!) <= 1e-9 * (1 + Math.abs(e)), `${b.kind}: jit gradient differs at ${paths[i]}`));
    });
    [g, gj, p].forEach((t) => disposeTree(t));
    x.dispose();
    ctx.dispose();
  }
});

test("MAF and IAF: huge raw log-scales are soft-clamped (finite outputs, |logDet| < D·B)", () => {
  defaultDevice("cpu");
  for (const b of layers({ dim: 3, hidden: [6] })) {
    let p = perturb(b.init(keyFromSeed(6), "float64"), 9);
    p = setPath(p, "made.heads.b.1", fromValues([1e6, -1e6, 1e6], [3], "float64"));
    for (const direction of ["forward", "inverse"] as const) {
      const r = b[direction](refTree(p), fromValues(sample(6, 3), [2, 3], "float64"));
      const y = host(r.y);
      const ld = host(r.logDet);
      assert.ok(y.every(Number.isFinite) && ld.every(Number.isFinite), `${b.kind} ${direction}: non-finite output`);
      ld.forEach((v) => assert.ok(Math.abs(v) < 9 + 1e-12, `${b.kind}: |logDet| ${v} ≥ D·B`));
    }
    disposeTree(p);
  }
});

test("MAF sampling / IAF density: eager sequential passes (groups of compiled passes) equal the traced, unrolled passes", () => {
  defaultDevice("cpu");
  for (const [Layer, direction] of [
    [MaskedAutoregressive, "forward"],
    [InverseAutoregressive, "inverse"],
  ] as const) {
    // D = 37: a remainder group of 5 passes, then two of PASSES_PER_CALL = 16
    for (const [contextDim, D] of [[0, 5], [2, 5], [2, 37]] as const) {
      const layer = new Layer({ dim: D, hidden: [7, 7], contextDim });
      const p = perturb(layer.init(keyFromSeed(11), "float64"), 5);
      const v = (): Array => fromValues(Array.from({ length: 3 * D }, (_, i) => Math.sin(i + 0.5)), [3, D], "float64");
      const c = (): Array | undefined => (contextDim ? fromValues([0.3, -1, 2, 0.1, -0.4, 0.9], [3, 2], "float64") : undefined);
      const groups: number[] = [];
      const eager = withPassListener((k) => groups.push(k), () => layer[direction](refTree(p), v(), c()));
      assert.deepEqual(groups, D === 37 ? [5, 16, 16] : [5], "the listener hears every pass, group by group");
      const traced = contextDim
        ? jit((q: AutoregressiveParams, x: Array, ctx: Array) => { const r = layer[direction](q, x, ctx); return [r.y, r.logDet]; })(refTree(p), v(), c()!)
        : jit((q: AutoregressiveParams, x: Array) => { const r = layer[direction](q, x); return [r.y, r.logDet]; })(refTree(p), v());
      const [ye, le, yt, lt] = [host(eager.y), host(eager.logDet), host(traced[0]!), host(traced[1]!)];
      ye.forEach((a, i) => assert.ok(Math.abs(a - yt[i]!) < 1e-12, `${layer.kind} ${direction}: y differs at ${i}: ${a} vs ${yt[i]}`));
      le.forEach((a, i) => assert.ok(Math.abs(a - lt[i]!) < 1e-12, `${layer.kind} ${direction}: logDet differs at ${i}`));
      [eager.y, eager.logDet, traced[0]!, traced[1]!].forEach((a) => a.dispose());
      disposeTree(p);
    }
  }
});
