/**
 * The engine's matmul ceiling on this machine: one jitted N×N×N float32 matmul (default 512),
 * GFLOP/s = 2N³ / median call time over `reps` calls after two warm-up calls. One JSON line.
 *
 *   node --import tsx bench/matmul.ts [--n 512] [--reps 15] [--threads]
 *
 * --threads (bench/threads-flag.ts) turns on the wasm worker pool before the engine loads.
 */
import "./threads-flag.js";
import { jit, np, type Array } from "../src/engine/jax.js";
import { fromValues } from "../src/engine/dtype.js";
import { hostRng } from "../src/engine/random.js";
import { env, quantile, round } from "./common.js";

const argv = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const N = opt("n", 512);
const REPS = opt("reps", 15);
const rng = hostRng(0);
const values = (): Float32Array => Float32Array.from({ length: N * N }, () => rng() - 0.5);
const a = fromValues(values(), [N, N], "float32");
const b = fromValues(values(), [N, N], "float32");
const mm = jit((x: Array, y: Array) => np.matmul(x, y)) as unknown as ((x: Array, y: Array) => Array) & { dispose(): void };
const times: number[] = [];
for (let r = -2; r < REPS; r++) {
  const t = performance.now();
  await mm(a.ref, b.ref).data();
  if (r >= 0) times.push(performance.now() - t);
}
mm.dispose();
a.dispose();
b.dispose();
const med = quantile(times.slice().sort((x, y) => x - y), 0.5);
process.stdout.write(
  JSON.stringify({
    config: "MATMUL",
    name: `matmul ${N}³ float32, one jitted call`,
    n: N,
    reps: REPS,
    ms_median: round(med, 3),
    ms_min: round(Math.min(...times), 3),
    gflops_per_s: round((2 * N ** 3) / (med * 1e6), 2),
    env: env(),
    timestamp: new Date().toISOString(),
  }) + "\n",
);
