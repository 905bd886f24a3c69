/**
 * The speed patch of jax-js (scripts/patch-jax-js.mjs, docs/performance.md): it is installed in
 * every chunk, its paths are taken (a jitted call's second run reuses each kernel's Executable and
 * wasm instance instead of hashing the kernel and instantiating its module again; a long
 * concatenation is traced in two levels), it changes no bit of any result (2-row matmul tiles,
 * concatenation), and the patch script reports a target text it cannot find instead of patching
 * blindly.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { jax, jit, np, valueAndGrad, type Array } from "../../src/engine/jax.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { refTree } from "../../src/engine/tree.js";
import { build } from "../../src/flows/build.js";
import type { FlowParams } from "../../src/distributions/flow.js";

const SPEED_MARK = "/* nflow-patch: speed v1 */"; // scripts/patch-jax-js.mjs

type Speed = { on: boolean; stats: { instances: number; instanceHits: number; prepares: number; prepareHits: number } };
const speed = (): Speed => {
  const s = (globalThis as { __nflowJaxSpeed?: Speed }).__nflowJaxSpeed;
  assert.ok(s, "globalThis.__nflowJaxSpeed is missing: the speed patch of @jax-js/jax is not in effect");
  return s;
};

test("the speed patch of @jax-js/jax is installed in every chunk (npm install runs scripts/patch-jax-js.mjs)", () => {
  const dist = dirname(createRequire(import.meta.url).resolve("@jax-js/jax"));
  for (const f of ["index.js", "index.cjs", ...readdirSync(dist).filter((n) => /^backend-.*\.c?js$/.test(n))])
    assert.ok(readFileSync(join(dist, f), "utf8").includes(SPEED_MARK), `${f} has no speed patch`);
});

test("re-running the patch script on a patched tree changes nothing (idempotent)", async () => {
  // @ts-expect-error: a plain .mjs script without types
  const { patchJax } = (await import("../../scripts/patch-jax-js.mjs")) as { patchJax: (dist: string) => [string, string, string][] };
  const dist = dirname(createRequire(import.meta.url).resolve("@jax-js/jax"));
  const dir = mkdtempSync(join(tmpdir(), "nflow-repatch-"));
  try {
    const names = readdirSync(dist).filter((n) => /^(backend-.*|index)\.c?js$/.test(n));
    for (const n of names) writeFileSync(join(dir, n), readFileSync(join(dist, n)));
    const results = patchJax(dir);
    assert.ok(results.length >= 2 * names.length, `every edit set is tried on every chunk: ${JSON.stringify(results)}`);
    for (const [name, result, which] of results) assert.equal(result, "already", `${name} (${which})`);
    for (const n of names) assert.ok(readFileSync(join(dir, n)).equals(readFileSync(join(dist, n))), `${n} rewritten`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A small flow's log-density gradient, jitted: several dozen kernels. */
function program(): { run: () => Float32Array[]; dispose: () => void } {
  const { flow } = build({ flow: "realnvp", dim: 2, layers: 2, hidden: [8], seed: 0, dtype: "float32" });
  const params = flow.init(keyFromSeed(3), "float32");
  const x = np.array(Float32Array.from({ length: 512 }, (_, i) => Math.sin(0.37 * i)), { dtype: np.float32 }).reshape([256, 2]);
  const f = jit((p: FlowParams, xb: Array) => valueAndGrad((q: FlowParams) => flow.logProb(q, xb).mean())(p));
  const run = (): Float32Array[] => {
    const [v, g] = f(refTree(params), x.ref);
    return [v.dataSync() as Float32Array, ...(jaxLeaves(g).map((a) => a.dataSync() as Float32Array))];
  };
  return { run, dispose: () => f.dispose() };
}
const jaxLeaves = (t: unknown): Array[] => (t && typeof t === "object" && "dataSync" in t ? [t as Array] : Object.values(t as object).flatMap(jaxLeaves));

test("a jitted call's repeated run reuses every kernel's Executable and wasm instance (the patched path is taken)", () => {
  const s = speed();
  assert.equal(s.on, true, "the speed patch is on by default");
  const p = program();
  p.run(); // compiles
  const before = { ...s.stats };
  p.run();
  const d = Object.fromEntries(Object.entries(s.stats).map(([k, v]) => [k, v - before[k as keyof typeof before]]));
  assert.ok(d.instanceHits! > 10, `instance reuses on the second run: ${JSON.stringify(d)}`);
  assert.equal(d.instances, 0, `no new wasm instance on the second run: ${JSON.stringify(d)}`);
  assert.equal(d.prepares, 0, `no kernel hashed again on the second run: ${JSON.stringify(d)}`);
  p.dispose();
});

test("results are bit for bit those of unpatched dispatch (patch switched off at run time)", () => {
  const s = speed();
  const p = program();
  try {
    const on = p.run();
    s.on = false;
    const before = s.stats.instances;
    const off = p.run();
    assert.ok(s.stats.instances > before, "switched off, every dispatch instantiates its module again (jax-js's own path)");
    s.on = true;
    const again = p.run();
    assert.equal(on.length, off.length);
    for (let i = 0; i < on.length; i++) {
      assert.deepEqual(Buffer.from(on[i]!.buffer), Buffer.from(off[i]!.buffer), `output ${i} differs with the patch off`);
      assert.deepEqual(Buffer.from(on[i]!.buffer), Buffer.from(again[i]!.buffer), `output ${i} differs on a repeated run`);
    }
  } finally {
    s.on = true;
    p.dispose();
  }
});

test("the patch's matmul tiling (2-row register tiles) gives the same bits as jax-js's (4-row tiles)", () => {
  const s = speed();
  const x = (n: number, f: (i: number) => number): Array => np.array(Float32Array.from({ length: n }, (_, i) => f(i)), { dtype: np.float32 });
  const a = x(256 * 64, (i) => Math.sin(0.1 * i) * 3).reshape([256, 64]);
  const b = x(64 * 96, (i) => Math.cos(0.07 * i) / 7).reshape([64, 96]);
  // forward x·W, and the weight gradient xᵀ·g (reduction over the batch), as in a training step
  const f = jit((p: Array, q: Array) => [np.matmul(p.ref, q.ref), np.matmul(p.ref.transpose([1, 0]), np.matmul(p, q).mul(0.5))]);
  const run = (): Buffer[] => (f(a.ref, b.ref) as Array[]).map((r) => Buffer.from((r.dataSync() as Float32Array).buffer));
  try {
    const on = run();
    s.on = false;
    const off = run();
    s.on = true;
    assert.deepEqual(on, off);
  } finally {
    s.on = true;
    f.dispose();
  }
});

test("np.concatenate of n > 8 arrays joins groups of ⌈√n⌉, then the groups: 5 concatenations for 20 arrays (jax-js's chain: 3), same values", () => {
  const s = speed();
  const xs = (): Array[] => Array.from({ length: 20 }, (_, i) => np.array(Float32Array.from({ length: 130 + i }, (_, j) => Math.sin(i + 0.01 * j)), { dtype: np.float32 }));
  const count = (): number => (String(jax.makeJaxpr((...a: Array[]) => np.concatenate(a))(...xs()).jaxpr).match(/concatenate/g) ?? []).length;
  const values = (): Buffer => {
    const f = jit((...a: Array[]) => np.concatenate(a).mul(2));
    const out = Buffer.from((f(...xs()).dataSync() as Float32Array).buffer);
    f.dispose();
    return out;
  };
  try {
    const tree = values();
    assert.equal(count(), 5);
    s.on = false;
    const chain = values();
    assert.equal(count(), 3);
    s.on = true;
    assert.deepEqual(tree, chain);
  } finally {
    s.on = true;
  }
});

test("the patch script leaves a file whose target text is missing untouched and says which edit failed", async () => {
  // @ts-expect-error: a plain .mjs script without types
  const { patchFile, SPEED_MARK: mark } = (await import("../../scripts/patch-jax-js.mjs")) as {
    patchFile: (path: string, edits: [string, string, string][], mark?: string) => string;
    SPEED_MARK: string;
  };
  assert.equal(mark, SPEED_MARK);
  const dir = mkdtempSync(join(tmpdir(), "nflow-patch-"));
  try {
    const file = join(dir, "chunk.js");
    writeFileSync(file, "const a = 1;\nconst b = 2;\n");
    assert.match(patchFile(file, [["first", "const a = 1;", "const a = 3;"], ["second", "const c = 4;", "x"]], mark), /not patched: second \(target text missing\)/);
    assert.equal(readFileSync(file, "utf8"), "const a = 1;\nconst b = 2;\n", "nothing is written when one edit fails");
    assert.equal(patchFile(file, [["first", "const a = 1;", `${mark}const a = 3;`]], mark), "patched");
    assert.equal(patchFile(file, [["first", "const a = 1;", "never"]], mark), "already", "idempotent");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
