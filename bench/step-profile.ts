/**
 * Micro-benchmark of one C1 training step (docs/reference/CONFIGS.md §1: realnvp, 8 affine
 * couplings on 2-D data, conditioner 1→64→64→2, batch 256, Adam 1e-3), to see where the library's
 * step time goes. Prints one JSON line per measurement on stdout.
 *
 *   node --import tsx bench/step-profile.ts [--steps 600] [--rounds 3] [--layers 8] [--variants a,b]
 *                                            [--baseline DIR] [--no-train]
 *
 * Variants (each timed the same way, INTERLEAVED in one process because the 2-core machine is
 * shared: compare medians and ratios, not absolute numbers):
 *   build   `build({flow: "realnvp", dim: 2, layers: 8, hidden: [64, 64]})`, whatever it builds now;
 *   chain   the same flow as an explicit Chain of 8 AffineCoupling layers (one params leaf per
 *           tensor per layer, the layout before CouplingStack existed; today's Coupling code);
 *   baseline (with --baseline DIR) `build` of another checkout, e.g. the last commit.
 * Measurements per variant:
 *   bare    loss = −mean logProb, valueAndGrad and the Adam update in ONE jit, on a fixed batch;
 *   train   the same flow through `trainFlow` (fresh shuffled batches, no validation set), with
 *           `recordStepTimes`, so the loop's own overhead shows as train − bare.
 * Step time: wall time of [step call, await loss] per step; median over steps 100 ≤ i < 600 (docs/reference/CONFIGS.md).
 * Bare steps of the variants alternate in blocks of 25 ("paired blocks": the median over blocks of
 * the ratio of adjacent blocks' medians, the figure least affected by other load); trainFlow runs
 * alternate whole runs.
 * No ratio to PyTorch here: a peer figure from another machine and day means nothing next to these
 * (issue 10); `npm run bench -- --peer` times both sides in one run.
 * `kernels` is the number of kernel launches of the jitted bare step (from the compiled program).
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Array } from "../src/engine/jax.js";
import { fromValues } from "../src/engine/dtype.js";
import { keyFromSeed } from "../src/engine/random.js";
import { countParams, disposeTree, refTree, treeLeaves } from "../src/engine/tree.js";
import { build } from "../src/flows/build.js";
import { Chain } from "../src/bijectors/chain.js";
import { AffineCoupling } from "../src/bijectors/affine-coupling.js";
import { couplingMask } from "../src/bijectors/masks.js";
import { Flow, type FlowParams } from "../src/distributions/flow.js";
import { StandardNormal } from "../src/distributions/standard-normal.js";
import { adamInit, type AdamState } from "../src/train/adam.js";
import { bareStep, countKernels } from "./kernels.js";
import { trainFlow } from "../src/train/fit.js";
import { sampleToy } from "../src/data/toys.js";

const args = process.argv.slice(2);
const flag = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : def;
};
const STEPS = Number(flag("steps", "600"));
const ROUNDS = Number(flag("rounds", "3"));
const WITH_TRAIN = !args.includes("--no-train");
const BATCH = 256;
const LAYERS = Number(flag("layers", "8"));
const HIDDEN = [64, 64];

const VARIANTS: Record<string, () => Flow> = {
  build: () => build({ flow: "realnvp", dim: 2, layers: LAYERS, hidden: HIDDEN }).flow,
  chain: () =>
    new Flow(
      new StandardNormal(2),
      new Chain(
        globalThis.Array.from(
          { length: LAYERS },
          (_, l) => new AffineCoupling({ dim: 2, mask: couplingMask(2, "half", l % 2 === 1), hidden: HIDDEN, scaleBound: 3 }),
        ),
      ),
    ),
};
// --baseline DIR: also time `build` from another checkout of this library (e.g. an export of the
// last commit: `git archive HEAD | tar -x -C DIR && ln -s $PWD/node_modules DIR/`), interleaved
// with the variants above: a before/after comparison under the same machine load. Its flow is
// trained with THIS checkout's Adam and trainFlow.
const baselineDir = flag("baseline", "");
if (baselineDir) {
  const url = pathToFileURL(resolve(baselineDir, "src/flows/build.ts")).href;
  const mod = (await import(url)) as { build: typeof build };
  VARIANTS.baseline = () => mod.build({ flow: "realnvp", dim: 2, layers: LAYERS, hidden: HIDDEN }).flow;
}
const chosen = flag("variants", Object.keys(VARIANTS).join(",")).split(",");

function median(v: number[]): number {
  const s = v.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
function quantile(v: number[], q: number): number {
  const s = v.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
/** Median, p10 and p90 over steps 100 ≤ i < 600 (all steps when fewer were run). */
function window(times: number[]): { median: number; p10: number; p90: number } {
  const w = times.length > 600 ? times.slice(100, 600) : times.length > 100 ? times.slice(100) : times;
  return { median: round(median(w)), p10: round(quantile(w, 0.1)), p90: round(quantile(w, 0.9)) };
}
const round = (x: number, d = 3): number => Number(x.toFixed(d));

type State = { params: FlowParams; adam: AdamState };
type StepFn = ((s: State, lr: Array, x: Array) => [Array, State]) & { dispose(): void };

interface Bare {
  flow: Flow;
  step: StepFn;
  state: State;
  lr: Array;
  x: Array;
  kernels: number;
  leaves: number;
  params: number;
  times: number[];
}

function setupBare(name: string): Bare {
  const flow = VARIANTS[name]!();
  const params = flow.init(keyFromSeed(0), "float32");
  const leaves = treeLeaves(params).length;
  const nParams = countParams(params);
  const state: State = { params, adam: adamInit(params) };
  const x = fromValues(sampleToy("8gaussians", BATCH, 1), [BATCH, 2], "float32");
  const lr = fromValues([1e-3], [], "float32");
  const step = bareStep(flow);
  const b: Bare = { flow, step, state, lr, x, kernels: 0, leaves, params: nParams, times: [] };
  // the first call compiles; count its kernels from the printed program
  b.kernels = countKernels(() => {
    const [loss, next] = step(b.state, lr.ref, x.ref);
    b.state = next;
    loss.dataSync();
  });
  return b;
}

async function runBare(b: Bare, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const [loss, next] = b.step(b.state, b.lr.ref, b.x.ref);
    b.state = next;
    await loss.data();
    b.times.push(performance.now() - t0);
  }
}

async function runTrain(name: string): Promise<number[]> {
  const flow = VARIANTS[name]!();
  const params = flow.init(keyFromSeed(0), "float32");
  const n = BATCH * 50;
  const data = { x: sampleToy("8gaussians", n, 1), n, dim: 2 };
  const r = await trainFlow(flow, params, data, {
    steps: STEPS,
    batchSize: BATCH,
    lr: 1e-3,
    validationFraction: 0,
    evalEvery: STEPS,
    recordStepTimes: true,
  });
  disposeTree(r.params);
  return r.stepTimesMs!;
}

async function main(): Promise<void> {
  const bares: Record<string, Bare> = {};
  for (const name of chosen) bares[name] = setupBare(name);
  const cpu: Record<string, number[]> = {};
  const train: Record<string, number[]> = {};
  for (const name of chosen) {
    cpu[name] = [];
    train[name] = [];
  }
  // Bare steps: STEPS per variant, interleaved in blocks of BLOCK steps (variant A, B, A, B ...),
  // so that a change in the machine's load hits every variant alike. CPU time per step is
  // recorded per block too (less sensitive to waiting for a core than wall time).
  const BLOCK = 25;
  const blockMedians: Record<string, number[]> = {};
  for (const name of chosen) blockMedians[name] = [];
  for (let done = 0; done < STEPS; done += BLOCK)
    for (const name of chosen) {
      const b = bares[name]!;
      const n = Math.min(BLOCK, STEPS - done);
      const c0 = process.cpuUsage();
      await runBare(b, n);
      const c = process.cpuUsage(c0);
      cpu[name]!.push((c.user + c.system) / 1000 / n);
      if (done >= 100) blockMedians[name]!.push(median(b.times.slice(-n)));
    }
  for (const name of chosen) {
    const b = bares[name]!;
    console.log(JSON.stringify({ variant: name, what: "bare", ms_per_step: window(b.times), cpu_ms_per_step_median_of_blocks: round(median(cpu[name]!)) }));
  }
  // trainFlow: whole runs of STEPS steps, alternating variants, ROUNDS times
  if (WITH_TRAIN)
    for (let r = 0; r < ROUNDS; r++)
      for (const name of chosen) {
        const t = await runTrain(name);
        const w = window(t);
        train[name]!.push(w.median);
        console.log(JSON.stringify({ round: r, variant: name, what: "train", ms_per_step: w }));
      }
  const summary: Record<string, unknown> = {};
  for (const name of chosen) {
    const b = bares[name]!;
    summary[name] = {
      leaves: b.leaves,
      params: b.params,
      kernels_bare_step: b.kernels,
      bare_ms: window(b.times).median,
      bare_cpu_ms: round(median(cpu[name]!)),
      train_ms_median_of_rounds: WITH_TRAIN ? round(median(train[name]!)) : undefined,
    };
  }
  const names = chosen;
  const ratios: Record<string, number> = {};
  if (names.length > 1) {
    type S = { bare_ms: number; bare_cpu_ms: number; train_ms_median_of_rounds?: number };
    const base = summary[names[0]!] as S;
    for (const name of names.slice(1)) {
      const s = summary[name] as S;
      ratios[`bare ${name}/${names[0]}`] = round(s.bare_ms / base.bare_ms);
      // ratio of adjacent blocks (run back to back, so under nearly the same load), median over blocks
      ratios[`bare ${name}/${names[0]} paired blocks`] = round(median(blockMedians[name]!.map((m, i) => m / blockMedians[names[0]!]![i]!)));
      ratios[`bare cpu ${name}/${names[0]}`] = round(s.bare_cpu_ms / base.bare_cpu_ms);
      if (WITH_TRAIN) ratios[`train ${name}/${names[0]}`] = round(s.train_ms_median_of_rounds! / base.train_ms_median_of_rounds!);
    }
  }
  console.log(JSON.stringify({ what: "summary", steps: STEPS, rounds: ROUNDS, layers: LAYERS, summary, ratios }));
  for (const b of Object.values(bares)) {
    disposeTree(b.state.params);
    b.state.adam.m.dispose();
    b.state.adam.v.dispose();
    b.state.adam.t.dispose();
    b.lr.dispose();
    b.x.dispose();
    b.step.dispose();
  }
}

await main();
