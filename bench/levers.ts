/**
 * Measurements behind docs/performance.md (issue 10's levers): where a step's time goes, and each
 * change's gain, timed A/B INTERLEAVED in one process (the 2-core machine is shared: compare the
 * medians of alternating rounds, not absolute figures from different runs).
 *
 *   node --import tsx bench/levers.ts [--work c1step,c1lp,c1sample,c2step,c2lp,matmul] [--rounds 7]
 *                                     [--ab speed|none] [--profile]
 *
 * --ab speed   alternates the speed patch of jax-js (scripts/patch-jax-js.mjs, `globalThis.__nflowJaxSpeed.on`)
 *              on and off, round by round; --ab concat compares the two-level np.concatenate (traced
 *              with the patch on) with jax-js's chain (traced with it off), both timed with the rest
 *              of the patch on; --ab none times the current state only.
 * --ab sub:<part>  the speed patch on, one switchable part of it (`__nflowJaxSpeed[part]`, e.g. kSums) on vs off.
 * --profile    one traced C1 step / log-prob call: kernels, time per kernel (jax-js's profiler), the
 *              top kernels by time, and the split between wasm and JavaScript.
 * Workloads (docs/reference/CONFIGS.md): c1step = C1's jitted train step (loss, gradients, Adam in one
 * jit, batch 256, fixed batch); c1lp / c1sample = log-prob / sample at 10,000; c2step = C2's MAF(5)
 * (D = 8, MADE 3×512) step at batch 512; c2lp = its log-prob at 10,000; matmul = a 512³ float32
 * matmul in one jitted call (GFLOP/s); c5step = one C5 gradient pass of 16
 * images and Adam (a C5 step of 64 is 4 passes); c6step / c6lp = C6's NICE step at batch 200 / log-prob at 1,000
 * (CONFIGS-IMAGES.md §3; 15.2 M parameters); mm<m>x<k>x<n> / mmT… / mmL… = one [m,k]·[k,n] product (T: the
 * right operand stored [n,k] and read transposed, a dense layer's input gradient g·Wᵀ; L: the left one
 * stored [k,m], a weight gradient xᵀ·g).
 * Prints one JSON line per workload: wall-time medians per variant (ms, items/s, GFLOP/s), the least
 * process CPU time per unit over the rounds (cpu_ms_min; robust to waiting for a core), and the median
 * over rounds of the ratio first/second variant.
 */
import { blockUntilReady, jit, np, setDebug, valueAndGrad, type Array, type JsTree } from "../src/engine/jax.js";
import { fromValues } from "../src/engine/dtype.js";
import { keyFromSeed } from "../src/engine/random.js";
import { relaxedSimdState } from "../src/engine/wasm-simd.js";
import { threadCount, threadStats } from "../src/engine/threads.js";
import { refTree } from "../src/engine/tree.js";
import { build, buildBase, buildLayers } from "../src/flows/build.js";
import { Chain } from "../src/bijectors/chain.js";
import { Permutation } from "../src/bijectors/permutation.js";
import { Flow, type FlowParams } from "../src/distributions/flow.js";
import { adamInit, adamUpdate, type AdamState } from "../src/train/adam.js";
import { sampleToy } from "../src/data/toys.js";
import { sampleGmm } from "../src/data/gmm.js";

const args = process.argv.slice(2);
const flag = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : def;
};
const WORK = flag("work", "c1step,c1lp,c1sample,c2step,matmul").split(",");
const ROUNDS = Number(flag("rounds", "7"));
const AB = flag("ab", "speed");
const PROFILE = args.includes("--profile");
// LEVERS_OFF=kSums,...: those parts of the speed patch off (for --ab none / --profile)
for (const part of (process.env.LEVERS_OFF ?? "").split(",").filter(Boolean))
  if ((globalThis as { __nflowJaxSpeed?: object }).__nflowJaxSpeed) ((globalThis as unknown as { __nflowJaxSpeed: Record<string, boolean> }).__nflowJaxSpeed)[part] = false;

type SpeedState = { on: boolean; stats: Record<string, number> };
const speed = (globalThis as { __nflowJaxSpeed?: SpeedState }).__nflowJaxSpeed;

const median = (v: number[]): number => {
  const s = v.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const r3 = (x: number): number => Number(x.toPrecision(4));

/** A workload: `run(n)` does n units and resolves when done; `unit` names what one unit is. */
interface Work {
  name: string;
  /** Units per timed sample (steps, calls) and what a unit yields (items, flops). */
  perSample: number;
  items: number;
  itemName: string;
  run(n: number): Promise<void>;
  /** One call traced for the kernel profile. */
  once(): Promise<void>;
}

type State = { params: FlowParams; adam: AdamState };

function stepWork(name: string, flow: Flow, x: Array, perSample: number): Work {
  let state: State = { params: flow.init(keyFromSeed(0), "float32"), adam: undefined as unknown as AdamState };
  state.adam = adamInit(state.params);
  const lr = fromValues([1e-3], [], "float32");
  const step = jit(((s: State, lrA: Array, xb: Array): [Array, State] => {
    const lossOf = (p: FlowParams): Array => flow.logProb(p, xb).mean().neg();
    const [loss, grads] = valueAndGrad(lossOf)(refTree(s.params));
    const u = adamUpdate(s.params, grads as FlowParams, s.adam, { lr: lrA });
    return [loss, { params: u.params, adam: u.state }];
  }) as unknown as (...a: any[]) => JsTree<Array>) as unknown as (s: State, lr: Array, x: Array) => [Array, State];
  const one = async (): Promise<void> => {
    const [loss, next] = step(state, lr.ref, x.ref);
    state = next;
    await loss.data();
  };
  return {
    name,
    perSample,
    items: 1,
    itemName: "step",
    async run(n) {
      for (let i = 0; i < n; i++) await one();
      // with threads, kernels after the loss may still be queued in jax-js's pool: let them finish
      // inside this round (a busy pool also keeps the next variant's kernels in its queue)
      await blockUntilReady(state as unknown as JsTree<Array>);
    },
    once: one,
  };
}

function c1Flow(): Flow {
  return build({ flow: "realnvp", dim: 2, layers: 8, hidden: [64, 64], mask: "half", permutation: "none", scaleBound: 3, seed: 0, dtype: "float32" }).flow;
}
function c2Flow(): Flow {
  const { config } = build({ flow: "maf", dim: 8, layers: 5, hidden: [512, 512, 512], permutation: "reverse", seed: 0, dtype: "float32" });
  return new Flow(buildBase(config), new Chain([...buildLayers(config), Permutation.reverse(8)]));
}

/** C6 (CONFIGS-IMAGES.md §3): NICE, 4 additive couplings with MLPs 392-1000×4-392, on flat 784-vectors. */
function c6Flow(): Flow {
  return build({ flow: "nice", image: [1, 28, 28], layers: 4, hidden: [1000, 1000, 1000, 1000], seed: 0, dtype: "float32" }).flow;
}
/** C5 (CONFIGS-IMAGES.md §2): multi-scale RealNVP with ResNet(32, 2 blocks) conditioners, logit α = 0.05. */
function c5Flow(): Flow {
  return build({ flow: "realnvp", image: [1, 28, 28], layers: 3, hidden: [32, 32], scales: 2, logit: 0.05, seed: 0, dtype: "float32" }).flow;
}
/** Pixel-like rows in [0, 1) for C6 (timing only: the values do not change the work). */
function c6Rows(n: number): Array {
  const frac = (v: number): number => v - Math.floor(v);
  return fromValues(Float64Array.from({ length: n * 784 }, (_, i) => frac(Math.sin(i * 12.9898) * 43758.5453)), [n, 784], "float32");
}

function logProbWork(name: string, flow: Flow, x: Array, batch: number, perSample: number): Work {
  const params = flow.init(keyFromSeed(0), "float32");
  const lp = jit((p: FlowParams, xb: Array) => flow.logProb(p, xb)) as unknown as (p: FlowParams, x: Array) => Array;
  const one = async (): Promise<void> => {
    await lp(refTree(params), x.ref).data();
  };
  return {
    name,
    perSample,
    items: batch,
    itemName: "item",
    async run(n) {
      for (let i = 0; i < n; i++) await one();
    },
    once: one,
  };
}

function sampleWork(name: string, flow: Flow, batch: number, perSample: number): Work {
  const params = flow.init(keyFromSeed(0), "float32");
  const s = jit((p: FlowParams, key: Array) => flow.sample(p, key, batch)) as unknown as (p: FlowParams, key: Array) => Array;
  let seed = 100;
  const one = async (): Promise<void> => {
    await s(refTree(params), keyFromSeed(seed++)).data();
  };
  return { name, perSample, items: batch, itemName: "item", run: async (n) => { for (let i = 0; i < n; i++) await one(); }, once: one };
}

function matmulWork(n: number, perSample: number): Work {
  const a = np.array(Float32Array.from({ length: n * n }, (_, i) => Math.sin(i)), { dtype: np.float32 }).reshape([n, n]);
  const b = np.array(Float32Array.from({ length: n * n }, (_, i) => Math.cos(i)), { dtype: np.float32 }).reshape([n, n]);
  const mm = jit((x: Array, y: Array) => np.matmul(x, y)) as unknown as (x: Array, y: Array) => Array;
  const one = async (): Promise<void> => {
    await mm(a.ref, b.ref).data();
  };
  return { name: `matmul${n}`, perSample, items: 2 * n * n * n, itemName: "flop", run: async (k) => { for (let i = 0; i < k; i++) await one(); }, once: one };
}

/**
 * One jitted float32 product [m, k]·[k, n] ("T": b given as [n, k] and read transposed, as a dense
 * layer's input gradient g·Wᵀ; "L": a given as [k, m], as a weight gradient xᵀ·g), `name` e.g.
 * mm512x512x512, mmT256x64x64 or mmL512x512x512 (m, k, n).
 */
function shapedMatmulWork(name: string): Work {
  const [, t, m, k, n] = name.match(/^mm([TL]?)(\d+)x(\d+)x(\d+)$/)!.map((v, i) => (i < 2 ? v : Number(v))) as [string, string, number, number, number];
  const a = np.array(Float32Array.from({ length: m * k }, (_, i) => Math.sin(i)), { dtype: np.float32 }).reshape(t === "L" ? [k, m] : [m, k]);
  const b = np.array(Float32Array.from({ length: k * n }, (_, i) => Math.cos(i)), { dtype: np.float32 }).reshape(t === "T" ? [n, k] : [k, n]);
  const mm = jit((x: Array, y: Array) => np.matmul(t === "L" ? x.transpose([1, 0]) : x, t === "T" ? y.transpose([1, 0]) : y)) as unknown as (x: Array, y: Array) => Array;
  const one = async (): Promise<void> => {
    await mm(a.ref, b.ref).data();
  };
  const flops = 2 * m * k * n;
  const perSample = Math.max(1, Math.round(2e8 / flops));
  return { name, perSample, items: flops, itemName: "flop", run: async (c) => { for (let i = 0; i < c; i++) await one(); }, once: one };
}

function makeWork(name: string): Work {
  if (name.startsWith("mm")) return shapedMatmulWork(name);
  switch (name) {
    case "c1step":
      return stepWork(name, c1Flow(), fromValues(sampleToy("moons", 256, 1), [256, 2], "float32"), 50);
    case "c1lp":
      return logProbWork(name, c1Flow(), fromValues(sampleToy("moons", 10000, 2), [10000, 2], "float32"), 10000, 3);
    case "c1sample":
      return sampleWork(name, c1Flow(), 10000, 3);
    case "c2step":
      return stepWork(name, c2Flow(), fromValues(sampleGmm(8, 512, 1), [512, 8], "float32"), 2);
    case "c2lp":
      return logProbWork(name, c2Flow(), fromValues(sampleGmm(8, 10000, 1), [10000, 8], "float32"), 10000, 1);
    case "c5step":
      // one gradient pass of 16 images: C5's batch of 64 runs as 4 such passes (bench/images.ts microBatch)
      return stepWork(name, c5Flow(), c6Rows(16), 1);
    case "c6step":
      return stepWork(name, c6Flow(), c6Rows(200), 1);
    case "c6lp":
      return logProbWork(name, c6Flow(), c6Rows(1000), 1000, 1);
    case "matmul":
      return matmulWork(512, 5);
    default:
      throw new Error(`unknown workload ${name}`);
  }
}

/** Kernel launches of the outermost jitted program of one call (jax-js's debug print). */
async function countKernels(w: Work): Promise<number> {
  const info = console.info;
  let text = "";
  console.info = (...m: unknown[]) => {
    text += m.map(String).join(" ") + "\n";
  };
  setDebug(4);
  try {
    await w.once();
  } finally {
    setDebug(0);
    console.info = info;
  }
  return (text.split("device = ").at(-1)!.match(/execute \(/g) ?? []).length;
}

type KernelLike = { size: number; reduction?: { size: number; op: string }; exp: { toString(): string } };

/**
 * One call profiled: every kernel's own wasm time (the speed patch's onKernel hook times the call
 * of the kernel function alone), the MINIMUM over several calls per launch (robust to the other
 * load of a shared machine), grouped by kernel; the rest of the median call's wall time is
 * JavaScript (jax-js's dispatch, bookkeeping, GC).
 */
async function profileOnce(w: Work, reps = 9): Promise<Record<string, unknown>> {
  for (let i = 0; i < 5; i++) await w.once();
  if (!speed) return { work: w.name, what: "profile", error: "speed patch not installed" };
  const label = (k: KernelLike): string => {
    const re = k.reduction ? ` reduce ${k.reduction.op} over ${k.reduction.size}` : "";
    const text = String(k.exp);
    const ops = process.env.LEVERS_EXP ? text.slice(0, Number(process.env.LEVERS_EXP)) : [...new Set(text.match(/\b[A-Z][A-Za-z]+(?=[<(])/g) ?? [])].slice(0, 8).join(",");
    return `size ${k.size}${re} [${ops}]`;
  };
  const names = new WeakMap<object, string>();
  let launch: { name: string; ms: number }[] = [];
  (speed as SpeedState & { onKernel?: (k: KernelLike, ms: number) => void }).onKernel = (k, ms) => {
    let name = names.get(k);
    if (!name) names.set(k, (name = label(k)));
    launch.push({ name, ms });
  };
  const walls: number[] = [];
  const launches: { name: string; ms: number }[][] = [];
  for (let i = 0; i < reps; i++) {
    launch = [];
    const t0 = performance.now();
    await w.once();
    walls.push(performance.now() - t0);
    launches.push(launch);
  }
  delete (speed as { onKernel?: unknown }).onKernel;
  const n = launches[0]!.length;
  const by = new Map<string, { n: number; ms: number }>();
  let wasmMs = 0;
  for (let j = 0; j < n; j++) {
    const ms = Math.min(...launches.map((l) => l[j]?.ms ?? Infinity));
    const name = launches[0]![j]!.name;
    const e = by.get(name) ?? { n: 0, ms: 0 };
    e.n++;
    e.ms += ms;
    by.set(name, e);
    wasmMs += ms;
  }
  const wall = Math.min(...walls);
  const top = [...by]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, Number(process.env.LEVERS_TOP ?? 15))
    .map(([name, v]) => ({ kernel: name, launches: v.n, ms: r3(v.ms) }));
  return { work: w.name, what: "profile", kernels_per_call: n, wall_ms_min: r3(wall), wasm_ms_min_per_launch: r3(wasmMs), rest_ms: r3(wall - wasmMs), top };
}

async function main(): Promise<void> {
  const variants: [string, () => void][] =
    AB === "speed" && speed
      ? [
          ["speed-on", () => (speed.on = true)],
          ["speed-off", () => (speed.on = false)],
        ]
      : AB.startsWith("sub:") && speed
        ? [
            // a switchable part of the speed patch, `__nflowJaxSpeed[part]` (none today; the 2 December
            // second pass used it for its trials, docs/performance.md), on vs off with the rest on
            [`${AB.slice(4)}-on`, () => ((speed.on = true), ((speed as unknown as Record<string, boolean>)[AB.slice(4)] = true))],
            [`${AB.slice(4)}-off`, () => ((speed.on = true), ((speed as unknown as Record<string, boolean>)[AB.slice(4)] = false))],
          ]
        : [["current", () => undefined]];
  if (AB === "concat" && speed) {
    // the two-level concatenate acts when a function is TRACED: trace one copy with the patch off
    // (jax-js's chain of concatenations), one with it on, then time both with the patch on
    for (const name of WORK) {
      speed.on = false;
      const chain = makeWork(name);
      const kChain = await countKernels(chain);
      speed.on = true;
      const tree = makeWork(name);
      const kTree = await countKernels(tree);
      const times: Record<string, number[]> = { tree: [], chain: [] };
      const cpu: Record<string, number[]> = { tree: [], chain: [] };
      await chain.run(1);
      await tree.run(1);
      for (let r = 0; r < ROUNDS; r++)
        for (const [v, w] of [["tree", tree], ["chain", chain]] as const) {
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          await w.run(w.perSample);
          times[v]!.push((performance.now() - t0) / w.perSample);
          const c = process.cpuUsage(c0);
          cpu[v]!.push((c.user + c.system) / 1000 / w.perSample);
        }
      console.log(
        JSON.stringify({
          work: name,
          ab: "concatenate: two-level vs jax-js's chain (both traced, then timed with the rest of the patch on)",
          kernels: { tree: kTree, chain: kChain },
          tree: { ms: r3(median(times.tree!)), cpu_ms_min: r3(Math.min(...cpu.tree!)) },
          chain: { ms: r3(median(times.chain!)), cpu_ms_min: r3(Math.min(...cpu.chain!)) },
          ratio_median_of_rounds: r3(median(times.tree!.map((x, i) => x / times.chain![i]!))),
        }),
      );
    }
    return;
  }
  for (const name of WORK) {
    const w = makeWork(name);
    const kernels = await countKernels(w); // the first call compiles and prints the program
    if (PROFILE) console.log(JSON.stringify(await profileOnce(w)));
    const times: Record<string, number[]> = {};
    const cpu: Record<string, number[]> = {};
    // every variant after the first gets its own copy, traced (first call) under that variant:
    // parts of the patch act at trace time (np.concatenate)
    const ws: Record<string, Work> = {};
    for (const [i, [v, set]] of variants.entries()) {
      set();
      if (i === 0) ws[v] = w;
      else {
        ws[v] = makeWork(name);
        await ws[v]!.once();
      }
      await ws[v]!.run(Math.max(1, w.perSample >> 1)); // warm this variant
      times[v] = [];
      cpu[v] = [];
    }
    for (let r = 0; r < ROUNDS; r++)
      for (const [v, set] of variants) {
        set();
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await ws[v]!.run(w.perSample);
        times[v]!.push((performance.now() - t0) / w.perSample);
        const c = process.cpuUsage(c0);
        cpu[v]!.push((c.user + c.system) / 1000 / w.perSample);
      }
    variants[0]![1]();
    const out: Record<string, unknown> = { work: name, kernels, rounds: ROUNDS, per_round: w.perSample, relaxed_simd: relaxedSimdState(), threads: threadCount() };
    // kernels of the asynchronous path so far: on the worker threads / run on the main thread
    if (threadCount() > 0) out.thread_stats = threadStats();
    for (const [v] of variants) {
      const ms = median(times[v]!);
      const c = Math.min(...cpu[v]!);
      const o: Record<string, number> =
        w.itemName === "flop" ? { ms: r3(ms), gflop_s: r3(w.items / ms / 1e6) } : w.itemName === "step" ? { ms_per_step: r3(ms) } : { ms: r3(ms), items_per_s: Math.round(w.items / (ms / 1000)) };
      // process CPU time per unit, least over rounds: less sensitive than wall time to waiting for a core
      // on a shared machine (it counts worker threads too)
      o.cpu_ms_min = r3(c);
      out[v] = o;
    }
    if (variants.length === 2) out.ratio_median_of_rounds = r3(median(times[variants[0]![0]]!.map((t, i) => t / times[variants[1]![0]]![i]!)));
    console.log(JSON.stringify(out));
  }
}

await main();
