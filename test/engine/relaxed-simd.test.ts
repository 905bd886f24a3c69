/**
 * Relaxed SIMD (engine/wasm-simd.ts, docs/performance.md): on Node 20 the engine turns V8's
 * `--experimental-wasm-relaxed-simd` on before jax-js compiles a kernel, so jax-js's matmul kernels
 * use the fused multiply-add; `NFLOW_RELAXED_SIMD=0` keeps plain SIMD. Shown by the arithmetic,
 * not by a timing: one dot product whose value is 2^-24 when the multiply-add rounds once and 0
 * when the product is rounded before the add.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { jit, np, type Array } from "../../src/engine/jax.js";
import { relaxedSimdAvailable, relaxedSimdState } from "../../src/engine/wasm-simd.js";

/**
 * (A·B)[i, j] = (−1)·(1 + 2⁻¹¹) + (1 + 2⁻¹²)·(1 + 2⁻¹²) + 0 + … . The exact product is
 * 1 + 2⁻¹¹ + 2⁻²⁴, a tie in float32 that rounds to 1 + 2⁻¹¹: a separate multiply and add gives 0, a
 * fused one 2⁻²⁴. 128×64 by 64×128: large enough for jax-js's tiled SIMD matmul (and jit arguments, so
 * no constant folding in JS doubles).
 */
function fmaProbe(): Float32Array {
  const M = 128;
  const K = 64;
  const N = 128;
  const a = new Float32Array(M * K);
  const b = new Float32Array(K * N);
  for (let i = 0; i < M; i++) {
    a[i * K] = -1;
    a[i * K + 1] = 1 + 2 ** -12;
  }
  for (let j = 0; j < N; j++) {
    b[j] = 1 + 2 ** -11;
    b[N + j] = 1 + 2 ** -12;
  }
  const mm = jit((x: Array, y: Array) => np.matmul(x, y));
  const out = mm(np.array(a, { dtype: np.float32 }).reshape([M, K]), np.array(b, { dtype: np.float32 }).reshape([K, N])).dataSync() as Float32Array;
  mm.dispose();
  return out;
}

const CHILD = `
import { relaxedSimdState } from "./src/engine/wasm-simd.ts";
import { jit, np } from "./src/engine/jax.ts";
const a = new Float32Array(128 * 64), b = new Float32Array(64 * 128);
for (let i = 0; i < 128; i++) { a[i * 64] = -1; a[i * 64 + 1] = 1 + 2 ** -12; }
for (let j = 0; j < 128; j++) { b[j] = 1 + 2 ** -11; b[128 + j] = 1 + 2 ** -12; }
const out = jit((x, y) => np.matmul(x, y))(np.array(a, { dtype: np.float32 }).reshape([128, 64]), np.array(b, { dtype: np.float32 }).reshape([64, 128])).dataSync();
console.log(JSON.stringify({ state: relaxedSimdState(), value: out[0] }));
`;

function child(env: Record<string, string>): { state: string; value: number } {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", CHILD], { cwd: root, encoding: "utf8", env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

test("the engine has relaxed SIMD on (Node 20: V8 flag set at load; newer runtimes: native)", () => {
  const state = relaxedSimdState();
  assert.ok(state === "enabled" || state === "native", `relaxed SIMD state: ${state}`);
  assert.equal(relaxedSimdAvailable(), true, "a relaxed-SIMD module validates");
});

test("jax-js's matmul kernel uses the fused multiply-add (the product is not rounded before the add)", () => {
  const out = fmaProbe();
  assert.equal(out[0], 2 ** -24, `fused: 2^-24, separate multiply and add: 0; got ${out[0]}`);
  assert.ok(out.every((v) => v === 2 ** -24), "every output element");
});

test("NFLOW_RELAXED_SIMD=0 keeps plain SIMD on Node 20 (multiply, round, add); the default turns it on", { skip: relaxedSimdState() === "native" ? "this runtime has relaxed SIMD natively" : false }, () => {
  assert.deepEqual(child({ NFLOW_RELAXED_SIMD: "0" }), { state: "off-by-env", value: 0 });
  assert.deepEqual(child({ NFLOW_RELAXED_SIMD: "" }), { state: "enabled", value: 2 ** -24 });
});
