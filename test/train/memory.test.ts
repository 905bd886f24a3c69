import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, np, type Array } from "../../src/engine/jax.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { countParams, disposeTree } from "../../src/engine/tree.js";
import { Flow } from "../../src/distributions/flow.js";
import { StandardNormal } from "../../src/distributions/standard-normal.js";
import { Chain } from "../../src/bijectors/chain.js";
import { AffineCoupling } from "../../src/bijectors/affine-coupling.js";
import { trainFlow } from "../../src/train/fit.js";
import { sampleToy } from "../../src/data/toys.js";

defaultDevice("wasm");

const external = (): number => process.memoryUsage().external;

test("no leaks: wasm memory plateaus over hundreds of steps after the first compile", async () => {
  const flow = new Flow(
    new StandardNormal(2),
    new Chain([0, 1].map((l) => new AffineCoupling({ dim: 2, mask: l % 2 === 0 ? [false, true] : [true, false], hidden: [32, 32] }))),
  );
  const params = flow.init(keyFromSeed(1));
  const paramBytes = 4 * countParams(params);
  const x = sampleToy("moons", 4096, 2);
  const mem: number[] = [];
  const r = await trainFlow(flow, params, { x, n: 4096, dim: 2 }, {
    steps: 300, batchSize: 128, evalEvery: 50, onProgress: (e) => { if (e.phase === "training") mem.push(external()); },
  });
  assert.equal(r.stopReason, "completed");
  // from step 100 (warm) to step 300: leaking even one params copy per step would add 200·paramBytes
  const growth = Math.max(...mem.slice(1)) - mem[1]!;
  assert.ok(growth < 0.2 * 200 * paramBytes, `external memory grew by ${growth} bytes over 200 steps (params: ${paramBytes} bytes)`);
  disposeTree(r.params);

  // control: the measure does see wasm allocations of that size
  const before = external();
  const kept: Array[] = [];
  for (let i = 0; i < 200; i++) kept.push(np.ones([paramBytes / 4]).add(i));
  for (const k of kept) k.ref.dataSync();
  const seen = external() - before;
  for (const k of kept) k.dispose();
  assert.ok(seen > 0.2 * 200 * paramBytes, `control allocation of ${200 * paramBytes} bytes moved external memory by only ${seen}`);
});
