/**
 * Maximum-likelihood training of a flow: minimise the negative log-likelihood
 *     L(θ) = −(1/B) Σ_i log p_θ(x_i)
 * over shuffled fixed-size minibatches with Adam. Functional (no file I/O); the CLI and the model
 * file build on it.
 *
 * The loop itself (steps, schedules, progress, abort, divergence, best params kept) is
 * train/loop.ts, shared with variational inference; this file is what maximum likelihood adds:
 *  - the data: checks, the validation split, fixed-size minibatches (train/batches.ts: the last
 *    partial batch of an epoch is dropped; N < batch size uses batch = N), dequantisation;
 *  - the loss −mean log p with batch-norm running statistics written back into the params, as one
 *    jitted step (train/step.ts), or in gradient passes over slices of the batch (microBatchSize);
 *  - the monitored loss: exact over the whole validation set in evaluation mode (train/evaluate.ts).
 */
import type { FloatDType } from "../engine/dtype.js";
import { ConfigError, ContextError, NonFiniteError, ShapeError } from "../engine/errors.js";
import { rejectUnknownKeys } from "../engine/validate.js";
import { disposeTree } from "../engine/tree.js";
import type { Flow, FlowParams } from "../distributions/flow.js";
import { initializeFromData, needsDataInitialization } from "../distributions/data-init.js";
import { checkRows, contextWidth, splitRows, type Rows } from "../data/split.js";
import { paramsDType, validateAdamHyper } from "./adam.js";
import { parseSchedule } from "./schedules.js";
import { makeEvaluator, meanAndStdError } from "./evaluate.js";
import { checkDequantization, checkLevels, dequantizeSeeded, EVAL_NOISE_SEED, type Dequantization } from "../data/dequantize.js";
import { divergenceMonitor, type Divergence, type DivergenceMonitor } from "./divergence.js";
import { checkLoopOptions, runTrainingLoop, OPTIMIZER_OPTION_KEYS, type OptimizerOptions, type LoopResult, type HistoryEntry, type Objective, type ProgressEvent, type StopReason } from "./loop.js";
import { accumulatingStep, fusedStep, type LossFn, type StepFn } from "./step.js";
import { minibatches } from "./batches.js";

export type { HistoryEntry, ProgressEvent, StopReason } from "./loop.js";

/** Training data: n rows of dim values (row-major), optionally with n rows of context. */
export type TrainData = Rows;

export interface TrainOptions extends OptimizerOptions {
  /** Number of optimisation steps (give steps or epochs, not both). Default: 1000 when neither is given. */
  steps?: number;
  /** Number of passes over the training rows (steps = epochs · ⌊n_train / batch⌋). */
  epochs?: number;
  /** Minibatch size (fixed; the last partial batch is dropped; capped at n_train). Default 256. */
  batchSize?: number;
  /**
   * Share of the data held out for validation when `validation` is not given. Default 0.1 (0: none).
   * Without a validation set the best params are scored by the mean training loss of the steps
   * before each evaluation (a lagged and noisy score; the first batch's loss scores the initial params).
   */
  validationFraction?: number;
  /** An explicit validation set (then no rows are held out of `data`). */
  validation?: TrainData;
  /** Stop after this many evaluations without improvement of the monitored loss. Default: never. */
  patience?: number;
  /** Steps between evaluations (validation loss, best-params check, progress). Default min(100, steps). */
  evalEvery?: number;
  /** Rows per validation call. Default 2048. */
  evalBatchSize?: number;
  /** Seed of the validation split and of the shuffles. Default 0. */
  seed?: number;
  /** Float dtype of the batches; must match the params (the default). */
  dtype?: FloatDType;
  /**
   * Rows per gradient pass (must divide the batch size). Default: the whole batch in one pass.
   * Smaller passes, whose gradients are summed before one Adam update, bound the memory of a
   * step: a compiled step keeps every activation of its batch for the backward pass, and wasm
   * memory ends at 4 GiB (a multi-scale RealNVP on MNIST needs passes of ≤ 16 images). The
   * update is the same as the whole batch's, except that batch norm sees each pass's statistics.
   */
  microBatchSize?: number;
  /**
   * Uniform dequantisation of discrete data (data/dequantize.ts): the rows hold integer levels b,
   * every training batch is x = (b + u)/L with fresh noise u, and the validation rows are
   * dequantised once with a fixed seed, so validation losses are comparable across evaluations.
   */
  dequantize?: Dequantization;
  /**
   * Added to every loss quoted in `result.message` (and `result.divergence`): the caller's units,
   * e.g. +Σ log σ_d when the flow models standardised data. Training is unchanged. Default 0.
   */
  lossOffset?: number;
}

/** Every option of trainFlow: a misspelt option is an error, not a silent default. */
export const TRAIN_OPTION_KEYS = [
  ...OPTIMIZER_OPTION_KEYS,
  "steps", "epochs", "batchSize", "validationFraction", "validation", "patience", "evalEvery", "evalBatchSize", "seed",
  "dtype", "microBatchSize", "dequantize", "lossOffset",
] as const satisfies readonly (keyof TrainOptions)[];

/** What trainFlow returns: the loop's result, and the run's seed, wall time, rows and batch size. */
export interface TrainResult extends LoopResult {
  wallTimeSec: number;
  seed: number;
  /** Rows used for training and validation, and the batch size used. */
  nTrain: number;
  nValidation: number;
  batchSize: number;
}

/**
 * Fits `flow` to `data` by maximum likelihood. CONSUMES `params` (pass `refTree(params)` to keep
 * them); the returned `result.params` are new and owned by the caller.
 */
export async function trainFlow(flow: Flow, params: FlowParams, data: TrainData, options: TrainOptions = {}): Promise<TrainResult> {
  const t0 = performance.now();
  const o = options;
  const seed = o.seed ?? 0;
  const dtype = paramsDType(params);
  try {
    rejectUnknownKeys(o, TRAIN_OPTION_KEYS, "train", "option");
    if (o.dtype !== undefined && o.dtype !== dtype)
      throw new ConfigError(`train: dtype ${o.dtype} was requested but the params are ${dtype}`);
    checkData(flow, data, "data");
    if (o.validation) checkData(flow, o.validation, "validation");
    validateAdamHyper(o);
    if (o.dequantize !== undefined) {
      const L = checkDequantization(o.dequantize).levels;
      checkLevels(data.x, L, data.dim, "data");
      if (o.validation) checkLevels(o.validation.x, L, o.validation.dim, "validation");
    }
  } catch (e) {
    disposeTree(params);
    throw e;
  }
  const schedule = parseSchedule(o.schedule);

  // --- data split
  let train: Rows;
  let validation: Rows | undefined;
  if (o.validation) {
    train = data;
    validation = o.validation.n > 0 ? o.validation : undefined;
  } else if ((o.validationFraction ?? 0.1) > 0 && data.n >= 2) {
    const s = splitRows(data, { validationFraction: o.validationFraction ?? 0.1, seed });
    train = s.train;
    validation = s.validation.n > 0 ? s.validation : undefined;
  } else {
    train = data;
  }
  const nTrain = train.n;
  const batch = Math.min(o.batchSize ?? 256, nTrain);
  const stepsPerEpoch = Math.floor(nTrain / batch);
  const totalSteps = o.steps ?? (o.epochs !== undefined ? o.epochs * stepsPerEpoch : 1000);
  const micro = o.microBatchSize ?? batch;
  let watch: DivergenceMonitor;
  let loop: ReturnType<typeof checkLoopOptions>;
  try {
    watch = divergenceMonitor(o.divergence, flow.dim);
    if (o.steps !== undefined && o.epochs !== undefined) throw new ConfigError(`train: steps and epochs: give one of them (the length of training), got steps ${o.steps} and epochs ${o.epochs}`);
    if (!Number.isInteger(batch) || batch < 1) throw new ConfigError(`train: batchSize must be an integer ≥ 1, got ${o.batchSize}`);
    loop = checkLoopOptions(o, totalSteps, "train", ` (steps ${o.steps}, epochs ${o.epochs})`);
    if (!Number.isInteger(micro) || micro < 1 || batch % Math.min(micro, batch) !== 0)
      throw new ConfigError(`train: microBatchSize must be an integer that divides the batch size ${batch}, got ${o.microBatchSize}`);
  } catch (e) {
    disposeTree(params);
    throw e;
  }
  const levels = o.dequantize?.levels;
  if (validation && levels !== undefined)
    validation = { ...validation, x: dequantizeSeeded(validation.x, levels, (seed + EVAL_NOISE_SEED) >>> 0) };

  // --- the loss and its compiled step
  const K = flow.contextDim;
  const hyper = { beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay, clipNorm: o.clipNorm };
  const microBatches = batch / Math.min(micro, batch);
  /** −mean log p of a batch and the batch-norm statistics it reports (consumes p, x, context). */
  const lossOf: LossFn = (p, [x, context]) => {
    const r = flow.logProbAndState(p, x!, context, { training: true });
    // mean().neg(), not a bare mean(): float64 jit(grad) of a loss ENDING in a bare reduction is wrong
    // in jax-js 0.1.25 (test/engine/conformance.test.ts pins both forms).
    return [r.logProb.mean().neg(), r.state ?? {}];
  };
  const inputs = K > 0 ? 2 : 1;
  const step: StepFn = microBatches > 1 ? accumulatingStep(lossOf, hyper, inputs, microBatches) : fusedStep(lossOf, hyper, inputs);
  const evaluator = validation ? makeEvaluator(flow, { batchSize: o.evalBatchSize, dtype }) : undefined;
  const nextBatch = minibatches(train, { batch, seed, dtype, contextDim: K, ...(levels !== undefined ? { levels } : {}) });
  // Data-dependent initialisation (ActNorm, distributions/data-init.ts): once, from the first batch,
  // of the layers whose flag says they never were (a second run or a loaded model keeps its params)
  if (needsDataInitialization(flow, params)) {
    const first = nextBatch();
    params = initializeFromData(flow, params, first.x, first.c);
  }
  const objective: Objective = {
    step: (state, lr) => {
      const { x, c } = nextBatch();
      return c ? step(state, lr, x, c) : step(state, lr, x);
    },
    ...(evaluator && validation
      ? { evaluate: async (p: FlowParams) => -meanAndStdError(await evaluator.logProbs(p, validation)).mean }
      : {}),
    dispose: () => {
      step.dispose();
      evaluator?.dispose();
    },
  };

  const r = await runTrainingLoop(params, objective, {
    totalSteps,
    baseLr: loop.baseLr,
    schedule,
    evalEvery: loop.evalEvery,
    patience: loop.patience,
    dtype,
    restoreBest: o.restoreBest !== false,
    recordStepTimes: o.recordStepTimes === true,
    lossOffset: loop.lossOffset,
    watch,
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...(o.onCheckpoint ? { onCheckpoint: o.onCheckpoint } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const result: TrainResult = {
    params: r.params,
    history: r.history,
    bestStep: r.bestStep,
    bestValLoss: r.bestValLoss,
    monitor: r.monitor,
    stopReason: r.stopReason,
    message: r.message,
    untrained: r.untrained,
    steps: r.steps,
    wallTimeSec: (performance.now() - t0) / 1000,
    seed,
    losses: r.losses,
    nTrain,
    nValidation: validation?.n ?? 0,
    batchSize: batch,
  };
  if (r.stepTimesMs) result.stepTimesMs = r.stepTimesMs;
  if (r.divergence) result.divergence = r.divergence;
  return result;
}

/** Boundary checks of a data set against a flow (shape, context, finiteness). */
function checkData(flow: Flow, rows: Rows, what: string): void {
  checkRows(rows, what);
  if (rows.dim !== flow.dim) throw new ShapeError(`${what}: the flow has dim ${flow.dim}, the data has ${rows.dim} columns`);
  if (what === "data" && rows.n < 1) throw new ShapeError(`${what}: expected at least 1 row, got 0`);
  const K = contextWidth(rows);
  if (flow.contextDim > 0 && (rows.context === undefined || K !== flow.contextDim))
    throw new ContextError(
      `${what}: this flow is conditional and needs a context of ${flow.contextDim} columns per row, got ${rows.context === undefined ? "none" : K}`,
    );
  if (flow.contextDim === 0 && rows.context !== undefined && K > 0)
    throw new ContextError(`${what}: this flow is unconditional (context size 0), but the data has a context of ${K} columns`);
  const firstBad = (a: Float64Array, width: number, name: string): void => {
    for (let i = 0; i < a.length; i++)
      if (!Number.isFinite(a[i]!))
        throw new NonFiniteError(`${what}: expected finite numbers, got ${a[i]} in ${name} row ${Math.floor(i / width)}, column ${i % width}`);
  };
  firstBad(rows.x, rows.dim, "x");
  if (rows.context) firstBad(rows.context, K, "context");
}
