/**
 * Pieces shared by the benchmark configurations (bench/run.ts C1–C4, bench/images.ts C5–C6):
 * logging, quantiles, CPU contention (docs/reference/CONFIGS.md §0), throughput blocks, step statistics and
 * the environment record.
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { jit, type Array } from "../src/engine/jax.js";
import { threadCount } from "../src/engine/threads.js";
import { relaxedSimdState } from "../src/engine/wasm-simd.js";
import type { Key } from "../src/engine/random.js";
import type { Flow, FlowParams } from "../src/distributions/flow.js";

export function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function round(v: number, digits = 4): number {
  return Number.isFinite(v) ? Number(v.toFixed(digits)) : v;
}

/** CPU counters of the whole machine (/proc/stat, Linux) and of this process. */
export function cpuSnapshot(): { busy: number; total: number; own: number } | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = v[3]! + (v[4] ?? 0);
    const total = v.reduce((a, b) => a + b, 0);
    const u = process.cpuUsage();
    return { busy: total - idle, total, own: (u.user + u.system) / 1e4 }; // µs → USER_HZ ticks (100/s)
  } catch {
    return undefined;
  }
}

/** Share of all CPU time used by OTHER processes between two snapshots (docs/reference/CONFIGS.md "contention"). */
export function otherBusy(a: ReturnType<typeof cpuSnapshot>, b: ReturnType<typeof cpuSnapshot>): number | null {
  if (!a || !b || b.total <= a.total) return null;
  return round(Math.max(0, (b.busy - a.busy - (b.own - a.own)) / (b.total - a.total)), 3);
}

export interface Throughput {
  items_per_s: number;
  batch: number;
  reps: number;
  median_s: number;
  min_s: number;
  all_s: number[];
  contention: number | null;
}

/** One warm-up call, then `reps` timed calls; items/s = batch / median call time. */
export async function throughput(batch: number, reps: number, call: (rep: number) => Promise<void>, warmup?: () => Promise<void>): Promise<Throughput> {
  await (warmup ?? (() => call(-1)))();
  const a = cpuSnapshot();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    await call(r);
    times.push((performance.now() - t) / 1000);
  }
  const contention = otherBusy(a, cpuSnapshot());
  const sorted = times.slice().sort((x, y) => x - y);
  const median = quantile(sorted, 0.5);
  const rate = batch / median;
  return {
    items_per_s: rate >= 100 ? Math.round(rate) : round(rate, 3),
    batch,
    reps,
    median_s: round(median, 6),
    min_s: round(sorted[0]!, 6),
    all_s: times.map((t) => round(t, 6)),
    contention,
  };
}

export function env(): Record<string, unknown> {
  let jaxVersion = "unknown";
  try {
    jaxVersion = JSON.parse(readFileSync(new URL("../node_modules/@jax-js/jax/package.json", import.meta.url), "utf8")).version;
  } catch {
    // the version is informative only
  }
  return { node: process.version, jax_js: jaxVersion, device: "wasm", dtype: "float32", cpu: cpus()[0]?.model ?? "unknown", cpus: cpus().length, threads: threadCount(), relaxed_simd: relaxedSimdState() };
}

export type Jitted<F> = F & { dispose(): void };

/** A jitted log-prob (evaluation mode) for throughput blocks. */
export function logProbFn(flow: Flow): Jitted<(p: FlowParams, x: Array) => Array> {
  return jit((p: FlowParams, x: Array) => flow.logProb(p, x)) as unknown as Jitted<(p: FlowParams, x: Array) => Array>;
}

/** A jitted sampler of n rows (n is static: one compiled sampler per size; keys come from outside). */
export function samplerFor(flow: Flow, n: number): Jitted<(p: FlowParams, key: Key) => Array> {
  return jit((p: FlowParams, key: Key) => flow.sample(p, key, n)) as unknown as Jitted<(p: FlowParams, key: Key) => Array>;
}

export interface StepStats {
  ms_per_step_median: number;
  ms_per_step_p10: number;
  ms_per_step_p90: number;
  ms_per_step_median_all: number;
  timed_steps: number;
  first_step_ms: number;
}

/** docs/reference/CONFIGS.md §0: median, p10, p90 over steps 100 ≤ i < 600, and the median over all steps. */
export function stepStats(times: number[]): StepStats {
  const window = times.slice(100, 600).sort((a, b) => a - b);
  const all = times.slice().sort((a, b) => a - b);
  return {
    ms_per_step_median: round(quantile(window, 0.5), 3),
    ms_per_step_p10: round(quantile(window, 0.1), 3),
    ms_per_step_p90: round(quantile(window, 0.9), 3),
    ms_per_step_median_all: round(quantile(all, 0.5), 3),
    timed_steps: window.length,
    first_step_ms: round(times[0] ?? NaN, 1),
  };
}

/** The first training loss and the mean of the last 100. */
export function lossStats(losses: readonly number[]): { train_loss_first: number; train_loss_last100_mean: number } {
  const last100 = losses.slice(-100);
  return {
    train_loss_first: round(losses[0] ?? NaN),
    train_loss_last100_mean: round(last100.reduce((a, b) => a + b, 0) / Math.max(1, last100.length)),
  };
}

/** Why a shortened run is not comparable with the peer's (undefined for a full run). */
export function shortRunNote(steps: number, full: number, metric: string): string | undefined {
  if (steps >= full) return undefined;
  const window = steps <= 100 ? "no step falls in the timed window 100..599 (the ms_per_step_* window keys are null)" : steps < 600 ? `the timed window is steps 100..${steps - 1} only` : "";
  return [`--steps ${steps} < ${full} of docs/reference/CONFIGS.md: ${metric} NOT comparable with the peer's (model undertrained)`, window].filter(Boolean).join("; ");
}
