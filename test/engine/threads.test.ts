/**
 * Opt-in wasm worker threads (src/engine/threads.ts). Each threaded run is a child process, because
 * jax-js sets up its worker pool once, when it loads: the child must end on its own (idle worker
 * threads are unref'ed) and its matmul, computed on the workers, must equal the single-threaded one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { np, defaultDevice } from "../../src/engine/jax.js";
import { FlowError } from "../../src/engine/errors.js";
import { enableThreads, threadsActive, threadsFromEnv } from "../../src/engine/threads.js";
import { decodeFloats, matmulOperands, M, K, N } from "./fixtures/threads-inputs.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const child = fileURLToPath(new URL("./fixtures/threads-child.ts", import.meta.url));

/** The single-threaded product, on this process's (default, unthreaded) wasm device. */
function reference(): Float32Array {
  defaultDevice("wasm");
  const { a, b } = matmulOperands();
  return np.matmul(np.array(a, { shape: [M, K] }), np.array(b, { shape: [K, N] })).dataSync() as Float32Array;
}

function runChild(mode: "api" | "env", threadsEnv: string): Record<string, unknown> {
  const r = spawnSync(process.execPath, ["--import", "tsx", child, mode], {
    cwd: root,
    env: { ...process.env, NFLOW_THREADS: threadsEnv },
    encoding: "utf8",
    maxBuffer: 16 << 20,
    // a child whose worker threads hold it open would be killed here (signal SIGTERM, status null)
    timeout: 60_000,
  });
  assert.equal(r.signal, null, `the child did not exit on its own (killed by ${r.signal}); stderr: ${r.stderr}`);
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
}

function assertSameProduct(encoded: unknown, ref: Float32Array): void {
  const values = decodeFloats(encoded as string);
  assert.equal(values.length, M * N);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    scale = Math.max(scale, Math.abs(ref[i]!));
    worst = Math.max(worst, Math.abs(values[i]! - ref[i]!));
  }
  // same kernel, rows split between threads: equal up to float32 rounding of the K = 512 sums
  assert.ok(worst <= 1e-6 * scale, `max |threaded − single| = ${worst} (scale ${scale})`);
}

test("threads: off by default; enabling after the engine has loaded is refused and installs nothing", async () => {
  if (process.env.NFLOW_THREADS !== undefined && threadsFromEnv(process.env.NFLOW_THREADS).on) return; // suite run threaded on purpose
  assert.equal(threadsActive(), false);
  assert.equal(typeof (globalThis as { Worker?: unknown }).Worker, "undefined");
  await assert.rejects(enableThreads(), (e: unknown) => e instanceof FlowError && /before the engine is loaded/.test((e as Error).message));
  assert.equal(typeof (globalThis as { Worker?: unknown }).Worker, "undefined");
  await assert.rejects(enableThreads({ threads: 0 }), FlowError);
});

test("threads: NFLOW_THREADS values", () => {
  for (const v of [undefined, "", "0", "off", "false", "no"]) assert.deepEqual(threadsFromEnv(v), { on: false }, String(v));
  for (const v of ["1", "on", "TRUE", "yes", "auto"]) assert.deepEqual(threadsFromEnv(v), { on: true }, v);
  assert.deepEqual(threadsFromEnv("3"), { on: true, threads: 3 });
  assert.throws(() => threadsFromEnv("two"), FlowError);
  assert.throws(() => threadsFromEnv("-2"), FlowError);
});

/** The child's matmul: timed on the main thread first (cheap kernels stay there), then on the threads. */
function assertRanOnBoth(out: Record<string, unknown>): void {
  const stats = out.stats as { threaded: number; inline: number };
  assert.ok(stats.inline >= 1 && stats.threaded >= 1, `expected main-thread trials and then threaded runs, got ${JSON.stringify(stats)}`);
  assert.equal(out.allRunsSame, true, "main-thread and threaded runs of one kernel give the same bits");
}

test("threads: enableThreads() before the engine loads; the matmul runs on the workers, equals single-threaded, and the process exits without shutdown", () => {
  const out = runChild("api", "0");
  assert.equal(out.active, true);
  assert.equal(out.count, 2);
  assert.equal(out.live, 2);
  assertRanOnBoth(out);
  assertSameProduct(out.values, reference());
});

test("threads: NFLOW_THREADS=2; shutdown ends the workers, the next read restarts them; trained params, and those onCheckpoint gets, are readable synchronously", () => {
  const out = runChild("env", "2");
  assert.equal(out.active, true);
  assert.equal(out.count, 2);
  assert.equal(out.live, 2);
  assertRanOnBoth(out);
  assertSameProduct(out.values, reference());
  assert.equal(out.liveAfterShutdown, 0);
  assert.equal(out.restartSame, true);
  assert.equal(out.liveAfterRestart, 2);
  assert.equal(out.savedLeaves, 4);
  assert.ok(Number(out.checkpointLeaves) > 0, `onCheckpoint read ${out.checkpointLeaves} leaves`);
});

test("threads: nflow train --threads trains on the workers, saves, and exits", () => {
  const dir = mkdtempSync(join(tmpdir(), "nflow-threads-"));
  try {
    const out = join(dir, "m.nflow");
    const args = ["train", "--threads", "--json", "--data", "moons", "--n", "500", "--steps", "5", "--val", "0", "--layers", "2", "--hidden", "16", "--batch", "64", "--out", out];
    const r = spawnSync(process.execPath, ["--import", "tsx", join(root, "src/cli/main.ts"), ...args], {
      cwd: root,
      env: { ...process.env, NFLOW_THREADS: "0" },
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(r.signal, null, `nflow did not exit on its own; stderr: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { ok: boolean; threads: number; steps: number };
    assert.equal(result.ok, true);
    assert.ok(result.threads >= 1, `expected worker threads, got ${result.threads}`);
    assert.equal(result.steps, 5);
    assert.ok(statSync(out).size > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
