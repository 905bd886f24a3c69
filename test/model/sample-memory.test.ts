/**
 * FlowModel.sample with a new seed on every call (its default) must not grow the process: jax-js
 * compiles one kernel per distinct constant, and `random.key(seed)` made the seed a constant, so
 * every new seed used to add a WebAssembly module (~20 KB) to a cache that is never emptied.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { random } from "../../src/engine/jax.js";
import { NonFiniteError } from "../../src/engine/errors.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { build } from "../../src/flows/build.js";
import { FlowModel } from "../../src/model/model.js";

function tinyModel(): FlowModel {
  const { flow, config } = build({ flow: "realnvp", dim: 2, layers: 2, hidden: [4] });
  return new FlowModel(flow, flow.init(keyFromSeed(1), "float32"), { config, preprocessing: null, context: null, data: null, training: null });
}

test("keyFromSeed: the same key bits as random.key (so the same draws as before)", () => {
  for (const seed of [0, 1, 7, 123456789, 0xffffffff, 0x9e3779b1]) {
    const ours = Array.from(keyFromSeed(seed).dataSync() as Uint32Array);
    const theirs = Array.from(random.key(seed).dataSync() as Uint32Array);
    assert.deepEqual(ours, theirs, `seed ${seed}`);
    assert.deepEqual(ours, [0, seed >>> 0]);
  }
  const a = Array.from(random.normal(keyFromSeed(42), [5]).dataSync() as Float32Array);
  const b = Array.from(random.normal(random.key(42), [5]).dataSync() as Float32Array);
  assert.deepEqual(a, b);
});

test("FlowModel.sample: 20,000 calls with new seeds keep the memory flat", () => {
  // A real collection between checkpoints, so that the RSS says what is held, not what awaits the GC.
  v8.setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const model = tinyModel();
  try {
    // warm-up: compile the one sampling kernel, let the allocator reach its working size
    for (let i = 0; i < 2000; i++) model.sample(1, { seed: 1_000_000 + i });
    const rss: number[] = [];
    let finite = 0;
    for (let block = 0; block <= 10; block++) {
      gc();
      rss.push(process.memoryUsage().rss / 2 ** 20);
      if (block === 10) break;
      for (let i = 0; i < 2000; i++) {
        const [row] = model.sample(1); // the default seed: a new one on every call
        if (row!.length === 2 && row!.every(Number.isFinite)) finite++;
      }
    }
    assert.equal(finite, 20_000);
    // The RSS of a flat process wanders by ±25 MB between checkpoints; a leak raises even its
    // lowest late readings. Before the fix: ≈ 18 KB per new seed, 212 → 577 MB here (+300 MB).
    const low = (a: number[]): number => Math.min(...a);
    const grown = low(rss.slice(-3)) - low(rss.slice(0, 3));
    assert.ok(grown < 40, `RSS grew by ${grown.toFixed(1)} MB over 20,000 calls with new seeds (checkpoints ${rss.map((r) => r.toFixed(0)).join(" ")} MB)`);
  } finally {
    model.dispose();
  }
});

test("FlowModel: inputs beyond the float32 range are a NonFiniteError naming row and column (not a NaN result)", () => {
  const model = tinyModel();
  try {
    for (const op of ["logProb", "encode", "decode"] as const)
      assert.throws(
        () => model[op]([[0, 1], [2, -1e39]]),
        (e: Error) => e instanceof NonFiniteError && /row 1, column 1 is -1e\+39, beyond the range of float32/.test(e.message),
        op,
      );
    assert.equal(model.logProb([[0, 1e38 / 1e30]]).length, 1, "in range: evaluated");
  } finally {
    model.dispose();
  }
});
