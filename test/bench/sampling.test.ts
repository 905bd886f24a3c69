import { test } from "node:test";
import assert from "node:assert/strict";
import { jit, np, type Array, type JsTree } from "../../src/engine/jax.js";
import { keyFromSeed, type Key } from "../../src/engine/random.js";
import { mapTree, refTree, disposeTree } from "../../src/engine/tree.js";
import { build, buildBase, buildLayers } from "../../src/flows/build.js";
import { Chain } from "../../src/bijectors/chain.js";
import { Permutation } from "../../src/bijectors/permutation.js";
import { Flow, type FlowParams } from "../../src/distributions/flow.js";
import { passwiseSampler } from "../../bench/sampling.js";

test("passwiseSampler draws exactly what Flow.sample draws from the same key (MAF with permutations)", async () => {
  const D = 12;
  const { config } = build({ flow: "maf", dim: D, layers: 2, hidden: [8, 8], permutation: "reverse" });
  const flow = new Flow(buildBase(config), new Chain([...buildLayers(config), Permutation.reverse(D)]));
  let i = 0;
  // shift every leaf so that the zero-initialised heads do not make each layer the identity
  const p = mapTree(flow.init(keyFromSeed(0), "float32"), (leaf) => leaf.add(np.full(leaf.shape, 0.05 * ((i++ % 5) - 2), { dtype: leaf.dtype })));
  const whole = jit(((pp: FlowParams, k: Key) => flow.sample(pp, k, 5)) as unknown as (...a: any[]) => JsTree<Array>) as unknown as ((pp: FlowParams, k: Key) => Array) & { dispose(): void };
  const a = (await whole(refTree(p), keyFromSeed(3)).data()) as Float32Array;
  whole.dispose();
  const sampler = passwiseSampler(flow);
  const b = (await (await sampler.sample(refTree(p), keyFromSeed(3), 5)).data()) as Float32Array;
  sampler.dispose();
  disposeTree(p);
  assert.equal(b.length, 5 * D);
  let scale = 0;
  for (let j = 0; j < a.length; j++) {
    assert.ok(Math.abs(a[j]! - b[j]!) <= 1e-6 * Math.max(1, Math.abs(a[j]!)), `entry ${j}: ${a[j]} vs ${b[j]}`);
    scale = Math.max(scale, Math.abs(a[j]!));
  }
  assert.ok(scale > 0.5, "the samples are not degenerate");
});
