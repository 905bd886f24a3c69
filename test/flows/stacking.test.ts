/**
 * build() merges runs of same-shape couplings into one CouplingStack (params stacked on a layer
 * axis, ENGINE-NOTES.md "Speed"): where it does, and that the flow is the same function as the
 * Chain of buildLayers(config), layer-by-layer intermediates included.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { disposeTree, refTree, treeLeaves, treePaths } from "../../src/engine/tree.js";
import type { Bijector } from "../../src/bijectors/bijector.js";
import { Chain } from "../../src/bijectors/chain.js";
import type { Coupling } from "../../src/bijectors/coupling.js";
import { CouplingStack } from "../../src/bijectors/coupling-stack.js";
import { Flow, type FlowParams } from "../../src/distributions/flow.js";
import { build, buildBase, buildLayers, normalizeConfig } from "../../src/flows/build.js";
import type { FlowConfig } from "../../src/flows/config.js";
import { host, perturb } from "../support/checks.js";

/** Every CouplingStack inside a bijector. */
function stacks(b: Bijector): CouplingStack[] {
  if (b instanceof CouplingStack) return [b];
  if (b instanceof Chain) return b.layers.flatMap(stacks);
  return [];
}

/** The built flow's params in the layout of Chain(buildLayers(c)): stacks unstacked in place. */
function asChainParams(bij: Bijector, p: FlowParams["bijector"]): { layers: unknown[] } {
  if (bij instanceof CouplingStack) return { layers: bij.unstack(p as never) };
  const chain = bij as Chain;
  const layers = (p as { layers: unknown[] }).layers.flatMap((q, i) => {
    const child = chain.layers[i]!;
    return child instanceof CouplingStack ? child.unstack(q as never) : [q];
  });
  return { layers };
}

const x = (n: number, d: number) => fromValues(Array.from({ length: n * d }, (_, i) => Math.sin(i * 0.77) * 1.8), [n, d], "float64");

test("build: realnvp and nice without permutations or batch norm run as one CouplingStack", () => {
  const r = build({ flow: "realnvp", dim: 2, layers: 4, hidden: [8] });
  assert.ok(r.flow.bijector instanceof CouplingStack, "realnvp: the bijector is the stack itself");
  const stack = r.flow.bijector as CouplingStack;
  assert.deepEqual(stack.layers.map((l) => l.kind), ["affine-coupling", "affine-coupling", "affine-coupling", "affine-coupling"]);
  assert.deepEqual(stack.layers.map((l) => l.mask), [[true, false], [false, true], [true, false], [false, true]]);
  const p = r.flow.init(keyFromSeed(0), "float32");
  assert.deepEqual(treePaths(p), ["bijector.net.W.0", "bijector.net.W.1", "bijector.net.b.0", "bijector.net.b.1"]);
  assert.deepEqual(treeLeaves(p).map((a) => a.shape), [[4, 1, 8], [4, 8, 2], [4, 8], [4, 2]]);
  disposeTree(p);

  const nice = build({ flow: "nice", dim: 4, layers: 3, hidden: [8] }).flow.bijector as Chain;
  assert.deepEqual(nice.layers.map((l) => l.kind), ["rescale", "coupling-stack"]);
  assert.deepEqual((nice.layers[1] as CouplingStack).layers.map((l) => l.kind), ["additive-coupling", "additive-coupling", "additive-coupling"]);

  // nothing to stack: permutations or batch norm between couplings, or splits of different sizes (odd D, half mask)
  for (const c of [
    { flow: "realnvp", dim: 2, layers: 3, hidden: [8], permutation: "reverse" },
    { flow: "realnvp", dim: 2, layers: 3, hidden: [8], batchNorm: true },
    { flow: "realnvp", dim: 3, layers: 3, hidden: [8] },
    { flow: "realnvp", dim: 2, layers: 1, hidden: [8] },
    { flow: "maf", dim: 2, layers: 3, hidden: [8] },
  ] as FlowConfig[]) {
    const b = build(c).flow.bijector;
    assert.ok(b instanceof Chain, JSON.stringify(c));
    assert.equal(stacks(b).length, 0, JSON.stringify(c));
  }
});

test("build: the stacked flow is the same function as the Chain of buildLayers (float64, cpu)", () => {
  defaultDevice("cpu");
  const configs: FlowConfig[] = [
    { flow: "realnvp", dim: 2, layers: 3, hidden: [8, 8] },
    { flow: "nice", dim: 4, layers: 3, hidden: [8], mask: "alternating" },
    { flow: "realnvp", dim: 4, layers: 2, hidden: [8], contextDim: 2 },
  ];
  configs.forEach((config, i) => {
    const c = normalizeConfig(config);
    const built = build(c).flow;
    const reference = new Flow(buildBase(c), new Chain(buildLayers(c)));
    assert.equal(stacks(built.bijector).length, 1, `${c.flow}: expected one stack`);
    const p = perturb(built.init(keyFromSeed(10 + i), "float64"), 20 + i);
    const q: FlowParams = { base: refTree(p.base), bijector: asChainParams(built.bijector, refTree(p.bijector)) as never };
    const ctx = () => (c.contextDim ? x(5, c.contextDim) : undefined);
    const a = host(built.logProb(refTree(p), x(5, c.dim), ctx()));
    const b = host(reference.logProb(refTree(q), x(5, c.dim), ctx()));
    a.forEach((v, j) => assert.ok(Math.abs(v - b[j]!) <= 1e-12 * (1 + Math.abs(v)), `${c.flow}: logProb ${v} vs ${b[j]}`));
    // sampling through the stack and through the chain, from the same key
    const s1 = host(built.sample(refTree(p), keyFromSeed(3), 5, ctx()));
    const s2 = host(reference.sample(refTree(q), keyFromSeed(3), 5, ctx()));
    s1.forEach((v, j) => assert.ok(Math.abs(v - s2[j]!) <= 1e-12 * (1 + Math.abs(v)), `${c.flow}: sample differs`));
    // one intermediate per elementary layer: z(0), after the rescale (nice), after each coupling
    const f = built.forward(refTree(p), x(5, c.dim), ctx(), { intermediates: true });
    const g = reference.forward(refTree(q), x(5, c.dim), ctx(), { intermediates: true });
    assert.equal(f.intermediates!.length, buildLayers(c).length + 1);
    assert.equal(f.intermediates!.length, g.intermediates!.length);
    f.intermediates!.forEach((z, l) => {
      const u = host(z);
      const w = host(g.intermediates![l]!);
      u.forEach((v, j) => assert.ok(Math.abs(v - w[j]!) <= 1e-12 * (1 + Math.abs(v)), `${c.flow}: intermediate ${l} differs`));
    });
    [f.y, f.logDet, g.y, g.logDet, ...f.intermediates!, ...g.intermediates!].forEach((t) => t.dispose());
    disposeTree(p);
    disposeTree(q);
  });
});

test("build: a Chain splices the intermediates of a nested composition", () => {
  defaultDevice("cpu");
  const { flow } = build({ flow: "nice", dim: 2, layers: 4, hidden: [4] });
  const p = flow.init(keyFromSeed(1), "float64");
  const r = flow.inverse(p, x(3, 2), undefined, { intermediates: true });
  assert.equal(r.intermediates!.length, 6, "x, four couplings, rescale");
  host(r.intermediates![5]!).forEach((v, j) => assert.equal(v, host(r.y)[j]));
  [r.y, r.logDet, ...r.intermediates!].forEach((t) => t.dispose());
  const couplings = ((flow.bijector as Chain).layers[1] as CouplingStack).layers as readonly Coupling[];
  assert.equal(couplings.length, 4);
});
