/**
 * CouplingStack = Chain of its couplings, with params stacked on a layer axis and the full-width
 * (folded one-hot) form: exactness on its own (round trips, log-det vs autodiff Jacobian), the
 * same init, values, intermediates and — under jit, where jax-js's slice gradient can go wrong —
 * the same gradients as the Chain. Also: the full-width single Coupling equals the select-and-place
 * path it replaced.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, grad, jit, type Array } from "../../src/engine/jax.js";
import { fromValues, type FloatDType } from "../../src/engine/dtype.js";
import { ConfigError, ContextError } from "../../src/engine/errors.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { disposeTree, refTree, treeLeaves, treePaths, type Params } from "../../src/engine/tree.js";
import { AffineCoupling } from "../../src/bijectors/affine-coupling.js";
import { AdditiveCoupling } from "../../src/bijectors/additive-coupling.js";
import type { Bijector } from "../../src/bijectors/bijector.js";
import { Chain } from "../../src/bijectors/chain.js";
import { Coupling, FULL_WIDTH_MAX_DIM, type CouplingParams } from "../../src/bijectors/coupling.js";
import { CouplingStack, type CouplingStackParams } from "../../src/bijectors/coupling-stack.js";
import { couplingMask } from "../../src/bijectors/masks.js";
import { AffineTransformer } from "../../src/bijectors/transformers/affine.js";
import type { ElementwiseTransformer, TransformerResult } from "../../src/bijectors/transformers/transformer.js";
import { Flow } from "../../src/distributions/flow.js";
import { StandardNormal } from "../../src/distributions/standard-normal.js";
import { checkBijector, host, perturb } from "../support/checks.js";

type Spec = { name: string; dim: number; layers: number; contextDim?: number; make: (l: number) => Coupling };

const affine = (dim: number, mask: "half" | "alternating", o: { contextDim?: number; hidden?: number[]; scaleBound?: number } = {}) =>
  (l: number) => new AffineCoupling({ dim, mask: couplingMask(dim, mask, l % 2 === 1), hidden: o.hidden ?? [8, 8], contextDim: o.contextDim, scaleBound: o.scaleBound });

/** The affine transformer WITHOUT `identityAtZero`: couplings built on it pick and place columns. */
class SelectAndPlaceAffine implements ElementwiseTransformer {
  readonly kind = "affine-select";
  readonly paramCount = 2;
  private readonly inner: AffineTransformer;
  constructor(scaleBound = 3) {
    this.inner = new AffineTransformer({ scaleBound });
  }
  forward(u: Array, theta: Array[]): TransformerResult {
    return this.inner.forward(u, theta);
  }
  inverse(y: Array, theta: Array[]): TransformerResult {
    return this.inner.inverse(y, theta);
  }
}

const SPECS: Spec[] = [
  { name: "affine D=2 half", dim: 2, layers: 3, make: affine(2, "half") },
  { name: "affine D=4 alternating, context 3", dim: 4, layers: 3, contextDim: 3, make: affine(4, "alternating", { contextDim: 3 }) },
  { name: "affine D=2 no scale bound", dim: 2, layers: 2, make: affine(2, "half", { scaleBound: Infinity }) },
  { name: "affine D=6 no hidden layer", dim: 6, layers: 2, make: affine(6, "half", { hidden: [] }) },
  {
    name: "additive D=4 half, context 2",
    dim: 4,
    layers: 2,
    contextDim: 2,
    make: (l) => new AdditiveCoupling({ dim: 4, mask: couplingMask(4, "half", l % 2 === 1), hidden: [8], contextDim: 2 }),
  },
  {
    name: "select-and-place transformer (no full width)",
    dim: 4,
    layers: 2,
    make: (l) => new Coupling({ dim: 4, mask: couplingMask(4, "half", l % 2 === 1), hidden: [8], transformer: new SelectAndPlaceAffine() }),
  },
];

function build(spec: Spec): { chain: Chain; stack: CouplingStack } {
  const couplings = Array.from({ length: spec.layers }, (_, l) => spec.make(l));
  return { chain: new Chain(couplings), stack: new CouplingStack(couplings) };
}

function batch(n: number, d: number, seed: number, dtype: FloatDType): Array {
  return fromValues(Array.from({ length: n * d }, (_, i) => Math.sin(seed * 7.1 + i * 1.37) * 1.5), [n, d], dtype);
}

/** Random chain params and the same params stacked. */
function randomParams(spec: Spec, dtype: FloatDType, seed: number): { pc: { layers: CouplingParams[] }; ps: CouplingStackParams; stack: CouplingStack; chain: Chain } {
  const { chain, stack } = build(spec);
  const pc = perturb(chain.init(keyFromSeed(seed), dtype), seed + 1) as { layers: CouplingParams[] };
  return { pc, ps: stack.stack(refTree(pc.layers)), stack, chain };
}

function maxRelDiff(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!) / Math.max(1, Math.abs(v))), 0);
}

test("coupling stack: round trip and log-det vs autodiff Jacobian, float64 on cpu", () => {
  defaultDevice("cpu");
  SPECS.forEach((spec, i) =>
    checkBijector(build(spec).stack, { dtype: "float64", roundTripTol: 1e-10, logDetTol: 1e-9, seed: 30 + i, n: 8, jacobianSamples: 2 }),
  );
});

test("coupling stack: round trip and log-det in float32 on wasm", () => {
  defaultDevice("wasm");
  SPECS.forEach((spec, i) =>
    checkBijector(build(spec).stack, { dtype: "float32", roundTripTol: 1e-4, logDetTol: 1e-4, seed: 40 + i, n: 8, jacobianSamples: 1 }),
  );
});

test("coupling stack: init, forward, inverse, log-dets and intermediates equal the Chain's (float64, cpu)", () => {
  defaultDevice("cpu");
  SPECS.forEach((spec, i) => {
    const { chain, stack } = build(spec);
    // the same key gives the same params: layer l from the l-th key of splitKey(key, L)
    const fromChain = stack.stack(chain.init(keyFromSeed(50 + i), "float64").layers as CouplingParams[]);
    const own = stack.init(keyFromSeed(50 + i), "float64");
    assert.deepEqual(treeLeaves(own).map(host), treeLeaves(fromChain).map(host), `${spec.name}: init differs`);
    assert.equal(treeLeaves(own)[0]!.shape[0], spec.layers, `${spec.name}: params not stacked on a leading layer axis`);
    disposeTree(own);
    disposeTree(fromChain);

    const { pc, ps } = randomParams(spec, "float64", 60 + i);
    const K = spec.contextDim ?? 0;
    for (const direction of ["forward", "inverse"] as const) {
      const ctx = () => (K ? batch(6, K, 2, "float64") : undefined);
      const a = chain[direction](refTree(pc), batch(6, spec.dim, 1, "float64"), ctx(), { intermediates: true });
      const b = stack[direction](refTree(ps), batch(6, spec.dim, 1, "float64"), ctx(), { intermediates: true });
      assert.ok(maxRelDiff(host(a.y), host(b.y)) <= 1e-12, `${spec.name} ${direction}: y differs`);
      assert.ok(maxRelDiff(host(a.logDet), host(b.logDet)) <= 1e-12, `${spec.name} ${direction}: logDet differs`);
      assert.equal(b.intermediates!.length, spec.layers + 1, `${spec.name}: z(0)…z(L) expected`);
      a.intermediates!.forEach((z, l) => {
        assert.ok(maxRelDiff(host(z), host(b.intermediates![l]!)) <= 1e-12, `${spec.name} ${direction}: intermediate ${l} differs`);
      });
      [a.y, a.logDet, b.y, b.logDet, ...a.intermediates!, ...b.intermediates!].forEach((t) => t.dispose());
    }
    // unstack is the inverse of stack
    const back = stack.unstack(refTree(ps));
    assert.deepEqual(treeLeaves(back).map(host), treeLeaves(pc.layers).map(host));
    disposeTree(back);
    disposeTree(pc);
    disposeTree(ps);
  });
});

/** jit(grad(−mean log p)) of Flow(StandardNormal, bij), as host arrays in the stacked layout. */
function jitGrad(spec: Spec, bij: Bijector, p: Params, dtype: FloatDType, useJit: boolean): number[][] {
  const flow = new Flow(new StandardNormal(spec.dim), bij);
  const K = spec.contextDim ?? 0;
  // N = 128: ≥ 128 elements (real kernels, not inline constants), and mean's 1/N is exact even
  // where jax-js 0.1.25 rounds a JS constant to float32 under jit
  const x = batch(128, spec.dim, 3, dtype);
  const loss = (q: Params, x: Array, c?: Array): Array => flow.logProb({ base: {}, bijector: q }, x, c).mean().neg();
  const g = useJit ? jit(grad(loss)) : grad(loss);
  const G = (K ? g(refTree(p), x, batch(128, K, 4, dtype)) : g(refTree(p), x)) as Params;
  const stacked = bij instanceof Chain ? build(spec).stack.stack((G as { layers: CouplingParams[] }).layers) : G;
  const out = treeLeaves(stacked).map(host);
  disposeTree(stacked);
  return out;
}

test("coupling stack: gradients under jit equal the eager Chain's (float64 on cpu, float32 on wasm)", () => {
  for (const [device, dtype, tol] of [["cpu", "float64", 1e-12], ["wasm", "float32", 2e-5]] as const) {
    defaultDevice(device);
    SPECS.forEach((spec, i) => {
      const { pc, ps, stack, chain } = randomParams(spec, dtype, 70 + i);
      const reference = jitGrad(spec, chain, pc, dtype, false); // eager Chain: no slices, no jit
      const paths = treePaths(ps);
      jitGrad(spec, stack, ps, dtype, true).forEach((v, leaf) => {
        const scale = Math.max(1e-300, ...reference[leaf]!.map(Math.abs));
        const err = v.reduce((m, e, j) => Math.max(m, Math.abs(e - reference[leaf]![j]!)), 0) / scale;
        assert.ok(err <= tol, `${spec.name}, ${device} ${dtype}: jit gradient of ${paths[leaf]} off by ${err} (relative)`);
      });
      // every stacked leaf gets a gradient in every layer (no layer silently cut off)
      reference.forEach((v, leaf) => {
        const perLayer = v.length / spec.layers;
        for (let l = 0; l < spec.layers; l++)
          assert.ok(v.slice(l * perLayer, (l + 1) * perLayer).some((e) => e !== 0), `${spec.name}: no gradient for ${paths[leaf]} in layer ${l}`);
      });
      disposeTree(pc);
      disposeTree(ps);
    });
  }
});

test("full-width Coupling equals the select-and-place coupling, values and jit gradients (float64, cpu)", () => {
  defaultDevice("cpu");
  // D = 5 (fan-in 2 or 5: folded first layer), D = 2 (one passing column: outer product), no hidden layer
  const cases = [
    { dim: 5, mask: couplingMask(5, "alternating", true), hidden: [8], contextDim: 0 },
    { dim: 5, mask: couplingMask(5, "alternating", true), hidden: [8], contextDim: 3 },
    { dim: 2, mask: couplingMask(2, "half", true), hidden: [8, 8], contextDim: 0 },
    { dim: 2, mask: couplingMask(2, "half"), hidden: [], contextDim: 0 },
  ];
  for (const { dim, mask, hidden, contextDim } of cases) {
    const full = new AffineCoupling({ dim, mask, hidden, contextDim });
    const plain = new Coupling({ dim, mask, hidden, contextDim, transformer: new SelectAndPlaceAffine() });
    assert.ok(full.fullWidth && !plain.fullWidth);
    // large D selects and places columns (the folds would cost more than the layer)
    assert.equal(new AffineCoupling({ dim: FULL_WIDTH_MAX_DIM + 2, mask: couplingMask(FULL_WIDTH_MAX_DIM + 2, "half"), hidden: [8] }).fullWidth, false);
    const p = perturb(full.init(keyFromSeed(80), "float64"), 81);
    const ctx = () => (contextDim ? batch(7, contextDim, 5, "float64") : undefined);
    for (const direction of ["forward", "inverse"] as const) {
      const a = full[direction](refTree(p), batch(7, dim, 4, "float64"), ctx());
      const b = plain[direction](refTree(p), batch(7, dim, 4, "float64"), ctx());
      assert.ok(maxRelDiff(host(a.y), host(b.y)) <= 1e-12 && maxRelDiff(host(a.logDet), host(b.logDet)) <= 1e-12, `D=${dim} ${direction} differs`);
      [a.y, a.logDet, b.y, b.logDet].forEach((t) => t.dispose());
    }
    const spec: Spec = { name: "single", dim, layers: 1, contextDim, make: () => full };
    const gFull = jitGrad(spec, new Chain([full]), { layers: [p] }, "float64", true);
    const gPlain = jitGrad(spec, new Chain([plain]), { layers: [p] }, "float64", false);
    gFull.forEach((v, i) => assert.ok(maxRelDiff(v, gPlain[i]!) <= 1e-12, `D=${dim}: gradient leaf ${i} differs`));
    disposeTree(p);
  }
});

test("coupling stack: refuses couplings of different shapes; needs its context", () => {
  assert.throws(() => new CouplingStack([]), ConfigError);
  const a = new AffineCoupling({ dim: 4, mask: couplingMask(4, "half"), hidden: [8] });
  const cases: [string, Coupling, RegExp][] = [
    ["hidden", new AffineCoupling({ dim: 4, mask: couplingMask(4, "half", true), hidden: [4] }), /hidden \[4\], expected \[8\]/],
    ["scale bound", new AffineCoupling({ dim: 4, mask: couplingMask(4, "half", true), hidden: [8], scaleBound: 2 }), /transformer/],
    ["transformer", new AdditiveCoupling({ dim: 4, mask: couplingMask(4, "half", true), hidden: [8] }), /transformer/],
    ["split", new AffineCoupling({ dim: 4, mask: [true, false, false, false], hidden: [8] }), /1 passing dimensions, expected 2/],
    ["dim", new AffineCoupling({ dim: 6, mask: couplingMask(6, "half"), hidden: [8] }), /dim 6, expected 4/],
    ["context", new AffineCoupling({ dim: 4, mask: couplingMask(4, "half", true), hidden: [8], contextDim: 2 }), /contextDim 2, expected 0/],
  ];
  for (const [what, b, message] of cases) {
    assert.throws(() => new CouplingStack([a, b]), (e: Error) => e instanceof ConfigError && message.test(e.message), what);
    assert.notEqual(CouplingStack.mismatch(a, b), undefined);
  }
  assert.equal(CouplingStack.mismatch(a, new AffineCoupling({ dim: 4, mask: couplingMask(4, "half", true), hidden: [8] })), undefined);

  defaultDevice("cpu");
  const { stack } = build(SPECS[1]!);
  const p = stack.init(keyFromSeed(90), "float64");
  assert.throws(() => stack.forward(p, batch(3, 4, 1, "float64")), ContextError);
});

test("transformers flagged identityAtZero give exactly u and log-det 0 at θ = 0 (what full width relies on)", () => {
  for (const [device, dtype] of [["cpu", "float64"], ["wasm", "float32"]] as const) {
    defaultDevice(device);
    const u = Array.from({ length: 256 }, (_, i) => Math.sin(i * 0.9) * 10 ** ((i % 7) - 3));
    const transformers: ElementwiseTransformer[] = [
      new AffineTransformer({ scaleBound: 3 }),
      new AffineTransformer({ scaleBound: 0.5 }),
      new AffineTransformer({ scaleBound: Infinity }),
      new AdditiveCoupling({ dim: 2, mask: [true, false], hidden: [] }).transformer,
    ];
    for (const t of transformers) {
      assert.equal(t.identityAtZero, true, t.kind);
      const zeros = () => Array.from({ length: t.paramCount }, () => fromValues(new Array(256).fill(0), [16, 16], dtype));
      for (const direction of ["forward", "inverse"] as const) {
        const r = t[direction](fromValues(u, [16, 16], dtype), zeros());
        const typed = dtype === "float32" ? Float32Array.from(u) : Float64Array.from(u);
        assert.deepEqual(host(r.y), [...typed], `${t.kind} ${direction} ${device}: τ(u; 0) ≠ u`);
        assert.ok(host(r.logDet).every((v) => v === 0), `${t.kind} ${direction} ${device}: log-det ≠ 0 at θ = 0`);
      }
    }
  }
});
