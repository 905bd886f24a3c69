/**
 * The pool-inline patch of jax-js (scripts/patch-jax-js.mjs, part 4; docs/performance.md "Threads"):
 * with the worker pool on, a cheap kernel of the asynchronous path runs at once on the main thread
 * when the pool has nothing in flight, instead of going through the pool's promise queue. The patch
 * is installed in every backend chunk, its path is taken (no worker thread starts for a small flow),
 * a slow kernel still goes to the threads, and the results are bit for bit those of the unpatched
 * pool path and of the single-threaded engine.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { blockUntilReady, jit, np, valueAndGrad, type Array } from "../../src/engine/jax.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { refTree } from "../../src/engine/tree.js";
import { build } from "../../src/flows/build.js";
import type { FlowParams } from "../../src/distributions/flow.js";
import { encodeFloats } from "./fixtures/threads-inputs.js";

const POOL_MARK = "/* nflow-patch: pool-inline v1 */"; // scripts/patch-jax-js.mjs
const root = fileURLToPath(new URL("../..", import.meta.url));
const child = fileURLToPath(new URL("./fixtures/pool-inline-child.ts", import.meta.url));

test("the pool-inline patch of @jax-js/jax is installed in every backend chunk (npm install runs scripts/patch-jax-js.mjs)", () => {
  const dist = dirname(createRequire(import.meta.url).resolve("@jax-js/jax"));
  const chunks = readdirSync(dist).filter((n) => /^backend-.*\.c?js$/.test(n));
  assert.ok(chunks.length >= 2);
  for (const f of chunks) assert.ok(readFileSync(join(dist, f), "utf8").includes(POOL_MARK), `${f} has no pool-inline patch`);
});

/** The child's small program, here on the single-threaded engine (the same flow, params and batch). */
async function singleThreaded(): Promise<string[]> {
  const { flow } = build({ flow: "realnvp", dim: 2, layers: 2, hidden: [16], seed: 0, dtype: "float32" });
  const params = flow.init(keyFromSeed(3), "float32");
  const x = np.array(Float32Array.from({ length: 512 }, (_, i) => Math.sin(0.37 * i)), { dtype: np.float32 }).reshape([256, 2]);
  const f = jit((p: FlowParams, xb: Array) => valueAndGrad((q: FlowParams) => flow.logProb(q, xb).mean())(p));
  const leaves = (t: unknown): Array[] => (t && typeof t === "object" && "dataSync" in t ? [t as Array] : Object.values(t as object).flatMap(leaves));
  const [v, g] = f(refTree(params), x);
  const outs = [v, ...leaves(g)];
  await blockUntilReady(outs);
  const bytes: string[] = [];
  for (const a of outs) bytes.push(encodeFloats((await a.data()) as Float32Array));
  f.dispose();
  return bytes;
}

test("with threads, a small flow's kernels skip the pool's queue (no worker starts), a slow matmul still goes to the threads, same bits", async () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", child], {
    cwd: root,
    env: { ...process.env, NFLOW_THREADS: "2" },
    encoding: "utf8",
    maxBuffer: 16 << 20,
    timeout: 120_000,
  });
  assert.equal(r.signal, null, `the child did not exit on its own (killed by ${r.signal}); stderr: ${r.stderr}`);
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
  assert.equal(out.count, 2, "the child runs with 2 worker threads");
  assert.ok((out.poolInlineRuns as number) > 10, `the patched path ran the small program's kernels: ${JSON.stringify(out.poolInlineRuns)}`);
  assert.equal(out.liveAfterSmall, 0, "no worker thread started: no kernel went through the pool");
  assert.equal((out.statsAfterSmall as { threaded: number }).threaded, 0);
  assert.equal(out.poolInlineRunsWhenOff, 0, "switched off, the patch runs nothing");
  assert.equal(out.liveWhenOff, 2, "switched off, jax-js's pool starts its workers (its own path)");
  assert.equal(out.offSame, true, "same bits through the pool's queue");
  assert.ok((out.matmulThreaded as number) >= 1, `a kernel of several ms goes to the threads: ${JSON.stringify(out.matmulThreaded)}`);
  assert.ok((out.poolInlineRunsAfterMatmul as number) > 10, "once the pool has drained, cheap kernels skip its queue again");
  assert.equal(out.againSame, true);
  assert.deepEqual(out.onValues, await singleThreaded(), "same bits as the single-threaded engine");
});
