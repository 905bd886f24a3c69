/**
 * `npm run bench`: the reference workloads of ../shared/bench/CONFIGS.md, run with this library,
 * one JSON line per configuration on stdout (progress goes to stderr).
 *
 *   C1 realnvp2d  8 affine couplings (hidden [64, 64], flipped half masks, no permutations),
 *                 batch 256, Adam 1e-3, 3,000 steps of fresh data, on 8gaussians / checkerboard /
 *                 moons; test NLL on 20,000 points; log-prob and sampling throughput at 10,000.
 *   C4 iaf-vs-maf-sampling  MAF and IAF (D = 64, 3 hidden layers of 256, 5 layers, reverse
 *                 permutations, same weights), untrained: density and sampling throughput.
 *
 * Flags: --config C1|C4|all (default C1), --datasets a,b (C1), --steps N (C1, quick runs).
 * Timings follow CONFIGS.md §0: per-step wall time of the training loop (the batch is built inside
 * the loop here, a few µs), median over steps 100..599; throughput = batch / median call time.
 * Our variant "affine-softclamp3": log-scale s = 3·tanh(raw/3), output layer zero-initialised
 * (identity at init), the rest PyTorch's default init. The closest peer variant is normflows'
 * exp-scale zero-init RealNVP; `peer_kl` quotes it, `peer_kl_variants` all three (PEERS.md).
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { jit, type Array } from "../src/engine/jax.js";
import { fromValues } from "../src/engine/dtype.js";
import { keyFromSeed, normal, type Key } from "../src/engine/random.js";
import { countParams, disposeTree, refTree, treeToHost } from "../src/engine/tree.js";
import { build } from "../src/flows/build.js";
import type { FlowConfig } from "../src/flows/config.js";
import type { Flow, FlowParams } from "../src/distributions/flow.js";
import { trainFlow } from "../src/train/fit.js";
import { makeEvaluator, meanAndStdError } from "../src/train/evaluate.js";
import { parseToyName, sampleToy, toyInfo, type ToyName } from "../src/data/toys.js";

// ------------------------------------------------------------------------------ peers (PEERS.md)

/** KL and ms/step of the plain-PyTorch peer, 1 thread (PEERS.md, C1 table). */
const PEER_C1: Record<string, Record<string, { kl: number; ms: number; test_nll: number }>> = {
  "8gaussians": {
    "affine-softplus-clamp3": { kl: 0.1182, ms: 2.83, test_nll: 2.9493 },
    "affine-sigmoid": { kl: 0.232, ms: 2.69, test_nll: 3.0631 },
    "affine-exp-zeroinit": { kl: 0.1006, ms: 2.59, test_nll: 2.9317 },
  },
  checkerboard: {
    "affine-softplus-clamp3": { kl: 0.1889, ms: 2.85, test_nll: 3.6547 },
    "affine-sigmoid": { kl: 0.2391, ms: 2.72, test_nll: 3.7048 },
    "affine-exp-zeroinit": { kl: 0.2263, ms: 2.55, test_nll: 3.692 },
  },
  moons: {
    "affine-softplus-clamp3": { kl: 0.0547, ms: 2.8, test_nll: 1.7294 },
    "affine-sigmoid": { kl: 0.5101, ms: 2.72, test_nll: 2.1848 },
    "affine-exp-zeroinit": { kl: 0.0831, ms: 2.58, test_nll: 1.7579 },
  },
};

/** C4 peer items/s (PEERS.md). */
const PEER_C4: Record<string, number> = {
  maf_logprob_b10000: 45919,
  maf_logprob_b1000: 54357,
  maf_sample_b1000: 850,
  iaf_sample_b10000: 45157,
  iaf_sample_b1000: 52428,
  iaf_logprob_b1000: 847,
};

// ------------------------------------------------------------------------------ helpers

interface Args {
  config: "C1" | "C4" | "all";
  datasets: ToyName[];
  steps: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { config: "C1", datasets: ["8gaussians", "checkerboard", "moons"], steps: 3000 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (flag === "--config" && value) {
      const c = value.toUpperCase();
      if (c !== "C1" && c !== "C4" && c !== "ALL") throw new Error(`--config: expected C1, C4 or all, got ${value} (C2 and C3 are not implemented)`);
      args.config = c === "ALL" ? "all" : c;
      i++;
    } else if (flag === "--datasets" && value) {
      args.datasets = value.split(",").map((d) => parseToyName(d.trim()));
      i++;
    } else if (flag === "--steps" && value) {
      args.steps = Number(value);
      if (!Number.isInteger(args.steps) || args.steps < 1) throw new Error(`--steps: expected a positive integer, got ${value}`);
      i++;
    } else throw new Error(`unknown flag ${flag} (flags: --config C1|C4|all, --datasets a,b, --steps N)`);
  }
  return args;
}

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function round(v: number, digits = 4): number {
  return Number.isFinite(v) ? Number(v.toFixed(digits)) : v;
}

/** CPU counters of the whole machine (/proc/stat, Linux) and of this process. */
function cpuSnapshot(): { busy: number; total: number; own: number } | undefined {
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

/** Share of all CPU time used by OTHER processes between two snapshots (CONFIGS.md "contention"). */
function otherBusy(a: ReturnType<typeof cpuSnapshot>, b: ReturnType<typeof cpuSnapshot>): number | null {
  if (!a || !b || b.total <= a.total) return null;
  return round(Math.max(0, (b.busy - a.busy - (b.own - a.own)) / (b.total - a.total)), 3);
}

interface Throughput {
  items_per_s: number;
  batch: number;
  reps: number;
  median_s: number;
  min_s: number;
  all_s: number[];
  contention: number | null;
}

/** One warm-up call, then `reps` timed calls; items/s = batch / median call time. */
async function throughput(batch: number, reps: number, call: (rep: number) => Promise<void>, warmup?: () => Promise<void>): Promise<Throughput> {
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
  return {
    items_per_s: Math.round(batch / median),
    batch,
    reps,
    median_s: round(median, 6),
    min_s: round(sorted[0]!, 6),
    all_s: times.map((t) => round(t, 6)),
    contention,
  };
}

function env(): Record<string, unknown> {
  let jaxVersion = "unknown";
  try {
    jaxVersion = JSON.parse(readFileSync(new URL("../node_modules/@jax-js/jax/package.json", import.meta.url), "utf8")).version;
  } catch {
    // the version is informative only
  }
  return { node: process.version, jax_js: jaxVersion, device: "wasm", dtype: "float32", cpu: cpus()[0]?.model ?? "unknown", cpus: cpus().length };
}

type Jitted<F> = F & { dispose(): void };

/** A jitted log-prob (evaluation mode) for throughput blocks. */
function logProbFn(flow: Flow): Jitted<(p: FlowParams, x: Array) => Array> {
  return jit((p: FlowParams, x: Array) => flow.logProb(p, x)) as unknown as Jitted<(p: FlowParams, x: Array) => Array>;
}

/** A jitted sampler of n rows (n is static: one compiled sampler per size; keys come from outside). */
function samplerFor(flow: Flow, n: number): Jitted<(p: FlowParams, key: Key) => Array> {
  return jit((p: FlowParams, key: Key) => flow.sample(p, key, n)) as unknown as Jitted<(p: FlowParams, key: Key) => Array>;
}

// ------------------------------------------------------------------------------ C1

const C1_CONFIG: FlowConfig = { flow: "realnvp", dim: 2, layers: 8, hidden: [64, 64], mask: "half", permutation: "none", scaleBound: 3, seed: 0, dtype: "float32" };

/** Training rows for `steps` fresh batches of 256 (moons: one make_moons(256) per batch, as the peer). */
function c1TrainingRows(dataset: ToyName, steps: number, batch: number): Float64Array {
  if (dataset !== "moons") return sampleToy(dataset, steps * batch, 1);
  const x = new Float64Array(steps * batch * 2);
  for (let s = 0; s < steps; s++) x.set(sampleToy("moons", batch, 1_000_003 * (s + 1)), s * batch * 2);
  return x;
}

async function runC1(dataset: ToyName, steps: number): Promise<Record<string, unknown>> {
  const batch = 256;
  const { flow, config } = build(C1_CONFIG);
  const params = flow.init(keyFromSeed(config.seed), "float32");
  const nParams = countParams(params);
  const nTest = 20000;
  const test = { x: sampleToy(dataset, nTest, 2), n: nTest, dim: 2 };
  const x = c1TrainingRows(dataset, steps, batch);
  const n = steps * batch;
  log(`C1 ${dataset}: training ${steps} steps (${nParams} parameters)…`);
  const before = cpuSnapshot();
  // every row is used once: one epoch of `steps` batches = a fresh batch each step. The test set is
  // passed as the validation set only to record the eval curve; the LAST params are kept, as the peer does.
  const result = await trainFlow(flow, params, { x, n, dim: 2 }, {
    steps,
    batchSize: batch,
    lr: 1e-3,
    validation: test,
    evalEvery: 500,
    restoreBest: false,
    recordStepTimes: true,
    seed: 1,
    onProgress: (e) => {
      if (e.phase === "training") log(`  step ${e.step}: train ${e.trainLoss.toFixed(4)}, test ${e.valLoss?.toFixed(4)}, ${e.stepsPerSec.toFixed(1)} steps/s`);
    },
  });
  const trainContention = otherBusy(before, cpuSnapshot());
  const times = result.stepTimesMs!;
  const window = times.slice(100, 600).sort((a, b) => a - b);
  const all = times.slice().sort((a, b) => a - b);

  const evaluator = makeEvaluator(flow, { batchSize: 10000 });
  const lp = await evaluator.logProbs(result.params, test);
  evaluator.dispose();
  const { mean, se } = meanAndStdError(lp);
  const testNll = -mean;
  const info = toyInfo(dataset);

  // throughput: log-prob of 10,000 test points, sample(10,000); 11 reps each
  const B = 10000;
  const logProb = logProbFn(flow);
  const xb = fromValues(Float32Array.from(test.x.subarray(0, 2 * B)), [B, 2], "float32");
  const p = result.params;
  const lpTp = await throughput(B, 11, async () => {
    await logProb(refTree(p), xb.ref).data();
  });
  const sampler = samplerFor(flow, B);
  let seed = 100;
  const sTp = await throughput(B, 11, async () => {
    await sampler(refTree(p), keyFromSeed(seed++)).data();
  });
  sampler.dispose();
  logProb.dispose();
  xb.dispose();
  disposeTree(p);

  const variant = "affine-softclamp3";
  const peers = PEER_C1[dataset];
  const losses = result.losses;
  const last100 = losses.slice(-100);
  return {
    config: "C1",
    name: "realnvp2d",
    dataset,
    peer: "plain PyTorch (PEERS.md), 1 thread",
    variant,
    dim: 2,
    layers: 8,
    hidden: [64, 64],
    batch,
    lr: 1e-3,
    steps: result.steps,
    n_params: nParams,
    ms_per_step_median: round(quantile(window, 0.5), 3),
    ms_per_step_p10: round(quantile(window, 0.1), 3),
    ms_per_step_p90: round(quantile(window, 0.9), 3),
    ms_per_step_median_all: round(quantile(all, 0.5), 3),
    timed_steps: window.length,
    first_step_ms: round(times[0] ?? NaN, 1),
    train_wall_s: round(result.wallTimeSec, 2),
    train_loss_first: round(losses[0] ?? NaN),
    train_loss_last100_mean: round(last100.reduce((a, b) => a + b, 0) / Math.max(1, last100.length)),
    first_nonfinite_step: result.stopReason === "diverged" ? result.steps : null,
    stop_reason: result.stopReason,
    eval_curve: result.history.map((h) => [h.step, round(h.valLoss ?? NaN)]),
    eval_curve_metric: "test_nll",
    train_contention: trainContention,
    test_n: nTest,
    test_nll: round(testNll),
    test_nll_se: round(se),
    entropy: info.entropy,
    entropy_method: info.entropyMethod,
    kl: round(testNll - info.entropy!),
    logprob_items_per_s: lpTp.items_per_s,
    sample_items_per_s: sTp.items_per_s,
    logprob_throughput: lpTp,
    sample_throughput: sTp,
    peer_kl: peers?.["affine-exp-zeroinit"]?.kl ?? null,
    peer_kl_variants: peers ? Object.fromEntries(Object.entries(peers).map(([k, v]) => [k, v.kl])) : null,
    peer_ms_per_step: peers ? Object.fromEntries(Object.entries(peers).map(([k, v]) => [k, v.ms])) : null,
    env: env(),
    timestamp: new Date().toISOString(),
  };
}

// ------------------------------------------------------------------------------ C4

async function runC4(): Promise<Record<string, unknown>> {
  const D = 64;
  const common = { dim: D, layers: 5, hidden: [256, 256, 256], permutation: "reverse" as const, seed: 0, dtype: "float32" as const };
  const maf = build({ flow: "maf", ...common }).flow;
  const iaf = build({ flow: "iaf", ...common }).flow;
  const pm = maf.init(keyFromSeed(0), "float32");
  const pi = iaf.init(keyFromSeed(0), "float32");
  const hm = treeToHost(pm);
  const hi = treeToHost(pi);
  const sameWeights =
    Object.keys(hm).length === Object.keys(hi).length &&
    Object.entries(hm).every(([k, v]) => hi[k] !== undefined && v.data.every((x, j) => x === hi[k]!.data[j]));
  log(`C4: MAF/IAF D=${D}, ${countParams(pm)} parameters each, identical weights: ${sameWeights}`);

  const points = (n: number): Array => normal(keyFromSeed(2), [n, D], "float32");
  const out: Record<string, unknown> = {};
  const lpM = logProbFn(maf);
  const lpI = logProbFn(iaf);
  let seed = 1000;

  const block = async (key: string, batch: number, reps: number, run: () => Promise<void>, warm?: () => Promise<void>): Promise<void> => {
    log(`C4 ${key}…`);
    const t = await throughput(batch, reps, run, warm);
    out[key] = t;
    log(`  ${t.items_per_s} items/s (peer ${PEER_C4[key]})`);
  };

  for (const B of [10000, 1000]) {
    const x = points(B);
    await block(`maf_logprob_b${B}`, B, 5, async () => {
      await lpM(refTree(pm), x.ref).data();
    });
    x.dispose();
  }
  {
    const s100 = samplerFor(maf, 100);
    const s1000 = samplerFor(maf, 1000);
    await block(
      "maf_sample_b1000",
      1000,
      3,
      async () => {
        await s1000(refTree(pm), keyFromSeed(seed++)).data();
      },
      async () => {
        await s100(refTree(pm), keyFromSeed(seed++)).data();
        await s1000(refTree(pm), keyFromSeed(seed++)).data(); // compile the timed shape outside the timing
      },
    );
    s100.dispose();
    s1000.dispose();
  }
  for (const B of [10000, 1000]) {
    const s = samplerFor(iaf, B);
    await block(`iaf_sample_b${B}`, B, 5, async () => {
      await s(refTree(pi), keyFromSeed(seed++)).data();
    });
    s.dispose();
  }
  {
    const x100 = points(100);
    const x = points(1000);
    await block(
      "iaf_logprob_b1000",
      1000,
      3,
      async () => {
        await lpI(refTree(pi), x.ref).data();
      },
      async () => {
        await lpI(refTree(pi), x100.ref).data();
        await lpI(refTree(pi), x.ref).data();
      },
    );
    x.dispose();
    x100.dispose();
  }
  lpM.dispose();
  lpI.dispose();
  disposeTree(pm);
  disposeTree(pi);
  const ips = (k: string): number => (out[k] as Throughput).items_per_s;
  return {
    config: "C4",
    name: "iaf-vs-maf-sampling",
    dataset: "standard-normal inputs",
    variant: "affine-softclamp3",
    dim: D,
    layers: 5,
    hidden: [256, 256, 256],
    identical_weights: sameWeights,
    ...out,
    ratio_sample_iaf_over_maf_b1000: round(ips("iaf_sample_b1000") / ips("maf_sample_b1000"), 2),
    ratio_logprob_maf_over_iaf_b1000: round(ips("maf_logprob_b1000") / ips("iaf_logprob_b1000"), 2),
    peer_items_per_s: PEER_C4,
    env: env(),
    timestamp: new Date().toISOString(),
  };
}

// ------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.config === "C1" || args.config === "all")
    for (const d of args.datasets) process.stdout.write(JSON.stringify(await runC1(d, args.steps)) + "\n");
  if (args.config === "C4" || args.config === "all") process.stdout.write(JSON.stringify(await runC4()) + "\n");
}

main().catch((e: unknown) => {
  process.stderr.write(`[bench] failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
