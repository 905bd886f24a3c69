/**
 * Maximum-likelihood training of a flow: minimise the negative log-likelihood
 *     L(θ) = −(1/B) Σ_i log p_θ(x_i)
 * over shuffled fixed-size minibatches with Adam. Functional (no file I/O); the CLI and the model
 * file build on it.
 *
 * Engine shape of the loop (docs/reference/ENGINE-NOTES.md):
 *  - the WHOLE step (loss, gradient, Adam update, batch-norm running statistics written back into
 *    the params) is ONE `jit`; the learning rate and Adam's t are arrays, so it is traced once;
 *  - minibatches have a fixed size (the last partial batch of an epoch is dropped; N < batch size
 *    uses batch = N);
 *  - the loop is async: it awaits every loss and yields to the event loop every ~50 ms, so a page
 *    stays responsive and an AbortSignal is honoured;
 *  - validation is exact over the whole validation set in evaluation mode (train/evaluate.ts);
 *  - the best params are kept as extra references (not copies of the data: arrays are immutable)
 *    and returned at the end; a divergence (train/divergence.ts: a non-finite loss, one exploding
 *    step, or evaluations far above the best several times running) stops training and returns them.
 */
import { blockUntilReady, jit, np, valueAndGrad, type Array, type JsTree } from "../engine/jax.js";
import { floatDTypeOf, fromValues, typedArrayFor, type FloatDType } from "../engine/dtype.js";
import { ConfigError, ContextError, NonFiniteError, ShapeError } from "../engine/errors.js";
import { rejectUnknownKeys } from "../engine/validate.js";
import { hostRng } from "../engine/random.js";
import { disposeTree, refTree, setPath, treeLeaves } from "../engine/tree.js";
import type { Flow, FlowParams } from "../distributions/flow.js";
import { checkRows, contextWidth, splitRows, type Rows } from "../data/split.js";
import { adamInit, adamUpdate, disposeAdamState, paramsDType, validateAdamHyper, type AdamHyper, type AdamState } from "./adam.js";
import { learningRate, parseSchedule, type Schedule } from "./schedules.js";
import { makeEvaluator, meanAndStdError } from "./evaluate.js";
import { checkDequantization, checkLevels, dequantizeSeeded, EVAL_NOISE_SEED, type Dequantization } from "../data/dequantize.js";
import { describeDivergence, divergenceMonitor, shiftDivergence, type Divergence, type DivergenceMonitor, type DivergenceOptions } from "./divergence.js";

/** Training data: n rows of dim values (row-major), optionally with n rows of context. */
export type TrainData = Rows;

/** What `onProgress` receives. */
export interface ProgressEvent {
  phase: "compiling" | "training" | "done";
  /** Steps completed. */
  step: number;
  totalSteps: number;
  /** Mean training loss (nats per row) since the previous event; NaN before the first step. */
  trainLoss: number;
  /** Validation loss (−mean log p, nats per row) when one was computed for this event. */
  valLoss?: number;
  /** Training speed since the previous event (compilation excluded). */
  stepsPerSec: number;
  /** Learning rate of the last step. */
  lr: number;
}

export interface TrainOptions {
  /** Number of optimisation steps (give steps or epochs, not both). Default: 1000 when neither is given. */
  steps?: number;
  /** Number of passes over the training rows (steps = epochs · ⌊n_train / batch⌋). */
  epochs?: number;
  /** Minibatch size (fixed; the last partial batch is dropped; capped at n_train). Default 256. */
  batchSize?: number;
  /** Base learning rate. Default 1e-3. */
  lr?: number;
  /** Learning-rate schedule. Default constant. */
  schedule?: Schedule;
  /** Adam β₁, β₂, ε (defaults 0.9, 0.999, 1e-8). */
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled (AdamW) weight decay. Default 0. */
  weightDecay?: number;
  /** Global gradient-norm clipping. Default: none. */
  clipNorm?: number;
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
  /** Return the best params seen (true, default) or the last ones (false; not after divergence). */
  restoreBest?: boolean;
  /** Record the wall time of every step in `result.stepTimesMs` (benchmarks). Default false. */
  recordStepTimes?: boolean;
  /** Called before the first step ("compiling"), after every evaluation ("training"), and at the end ("done"). */
  onProgress?: (event: ProgressEvent) => void;
  /** Abort training (the best params so far are returned, stopReason "aborted"). */
  signal?: AbortSignal;
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
   * Divergence detection beyond non-finite losses (train/divergence.ts): stop when the monitored
   * loss stays far above the best for several evaluations, or one step's loss explodes.
   * Default `{ factor: 1, evaluations: 3 }`; `false`: stop only on a non-finite loss.
   */
  divergence?: DivergenceOptions | false;
  /**
   * Added to every loss quoted in `result.message` (and `result.divergence`): the caller's units,
   * e.g. +Σ log σ_d when the flow models standardised data. Training is unchanged. Default 0.
   */
  lossOffset?: number;
}

/** Every option of trainFlow: a misspelt option is an error, not a silent default. */
export const TRAIN_OPTION_KEYS = [
  "steps", "epochs", "batchSize", "lr", "schedule", "beta1", "beta2", "eps", "weightDecay", "clipNorm",
  "validationFraction", "validation", "patience", "evalEvery", "evalBatchSize", "seed", "dtype", "restoreBest",
  "recordStepTimes", "onProgress", "signal", "microBatchSize", "dequantize", "divergence", "lossOffset",
] as const satisfies readonly (keyof TrainOptions)[];

export type StopReason = "completed" | "early-stopped" | "diverged" | "aborted";

export interface HistoryEntry {
  /** Steps completed (0: the initial params, evaluated when there is a validation set). */
  step: number;
  /** Mean training loss over the steps since the previous entry (NaN at step 0). */
  trainLoss: number;
  valLoss?: number;
}

export interface TrainResult {
  /** The best params (or the last ones with restoreBest: false). Owned by the caller. */
  params: FlowParams;
  history: HistoryEntry[];
  /** Step after which the returned best params were taken (0 = the initial params). */
  bestStep: number;
  /** Best monitored loss: validation loss, or the training loss when there is no validation set. */
  bestValLoss: number;
  /** Which loss was monitored for the best params and early stopping. */
  monitor: "validation" | "train";
  stopReason: StopReason;
  /** A sentence for people: what happened, and what to try after a divergence. */
  message: string;
  /** What stopped a diverged run (losses shifted by `lossOffset`). */
  divergence?: Divergence;
  /** True when the returned params are the initial ones (bestStep 0): no step improved on them. */
  untrained: boolean;
  /** Steps completed. */
  steps: number;
  wallTimeSec: number;
  seed: number;
  /** Per-step wall times (ms) when `recordStepTimes` was set. */
  stepTimesMs?: number[];
  /** The loss of every step (nats per row). */
  losses: number[];
  /** Rows used for training and validation, and the batch size used. */
  nTrain: number;
  nValidation: number;
  batchSize: number;
}

type StepState = { params: FlowParams; adam: AdamState };
type StepFn = ((s: StepState, lr: Array, x: Array, c?: Array) => [Array, StepState] | Promise<[Array, StepState]>) & { dispose(): void };

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
  const baseLr = o.lr ?? 1e-3;

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
  const evalEvery = o.evalEvery ?? Math.min(100, Math.max(1, totalSteps));
  const patience = o.patience ?? Infinity;
  const micro = o.microBatchSize ?? batch;
  let watch: DivergenceMonitor;
  try {
    watch = divergenceMonitor(o.divergence, flow.dim);
    if (o.steps !== undefined && o.epochs !== undefined) throw new ConfigError(`train: steps and epochs: give one of them (the length of training), got steps ${o.steps} and epochs ${o.epochs}`);
    if (!Number.isInteger(batch) || batch < 1) throw new ConfigError(`train: batchSize must be an integer ≥ 1, got ${o.batchSize}`);
    if (!Number.isInteger(totalSteps) || totalSteps < 0)
      throw new ConfigError(`train: steps must be an integer ≥ 0, got ${totalSteps} (steps ${o.steps}, epochs ${o.epochs})`);
    if (!Number.isInteger(evalEvery) || evalEvery < 1) throw new ConfigError(`train: evalEvery must be an integer ≥ 1, got ${evalEvery}`);
    if (!(patience >= 1)) throw new ConfigError(`train: patience must be ≥ 1 evaluations, got ${patience}`);
    if (!(baseLr > 0)) throw new ConfigError(`train: lr must be > 0, got ${baseLr}`);
    if (!Number.isInteger(micro) || micro < 1 || batch % Math.min(micro, batch) !== 0)
      throw new ConfigError(`train: microBatchSize must be an integer that divides the batch size ${batch}, got ${o.microBatchSize}`);
    if (o.lossOffset !== undefined && !Number.isFinite(o.lossOffset)) throw new ConfigError(`train: lossOffset must be a finite number, got ${o.lossOffset}`);
  } catch (e) {
    disposeTree(params);
    throw e;
  }
  const monitor = validation ? "validation" : "train";
  const levels = o.dequantize?.levels;
  if (validation && levels !== undefined)
    validation = { ...validation, x: dequantizeSeeded(validation.x, levels, (seed + EVAL_NOISE_SEED) >>> 0) };

  // --- compiled functions
  const K = flow.contextDim;
  const hyper = { beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay, clipNorm: o.clipNorm };
  const microBatches = batch / Math.min(micro, batch);
  /** −mean log p of a batch and the batch-norm statistics it reports (consumes p, x, context). */
  const lossOf = (p: FlowParams, x: Array, context: Array | undefined): [Array, Record<string, Array>] => {
    const r = flow.logProbAndState(p, x, context, { training: true });
    // mean().neg(), not a bare mean(): float64 jit(grad) of a loss ENDING in a bare reduction is wrong
    // in jax-js 0.1.25 (test/engine/conformance.test.ts pins both forms).
    return [r.logProb.mean().neg(), r.state ?? {}];
  };
  const withStats = (p: FlowParams, stats: Record<string, Array>): FlowParams => {
    let out = p;
    for (const [path, value] of Object.entries(stats)) out = setPath(out, path, value);
    return out;
  };
  const stepBody = (state: StepState, lr: Array, x: Array, context: Array | undefined): [Array, StepState] => {
    const [[loss, stats], grads] = valueAndGrad((p: FlowParams) => lossOf(p, x, context), { hasAux: true })(refTree(state.params));
    const updated = adamUpdate(state.params, grads as FlowParams, state.adam, { lr, ...hyper });
    return [loss, { params: withStats(updated.params, stats), adam: updated.state }];
  };
  // Two traced signatures: jit arguments must be arrays, so "no context" is a different arity.
  type Traced = (...args: any[]) => JsTree<Array>;
  const fused = (): StepFn =>
    (K > 0
      ? jit(((s: StepState, lr: Array, x: Array, c: Array) => stepBody(s, lr, x, c)) as unknown as Traced)
      : jit(((s: StepState, lr: Array, x: Array) => stepBody(s, lr, x, undefined)) as unknown as Traced)) as unknown as StepFn;
  const step: StepFn = microBatches > 1 ? accumulatingStep(lossOf, withStats, hyper, K, microBatches) : fused();
  const evaluator = validation ? makeEvaluator(flow, { batchSize: o.evalBatchSize, dtype }) : undefined;

  // --- state
  let state: StepState = { params, adam: adamInit(params) };
  let best: FlowParams = refTree(params);
  let bestLoss = Infinity;
  let bestStep = 0;
  let evalsSinceBest = 0;
  const history: HistoryEntry[] = [];
  const losses: number[] = [];
  const stepTimes: number[] | undefined = o.recordStepTimes ? [] : undefined;
  let stopReason: StopReason = "completed";
  let divergence: Divergence | undefined;
  let stepsDone = 0;

  // --- batches: a seeded shuffle per epoch, fixed batch size
  const rng = hostRng((seed ^ 0x5eed) >>> 0);
  const noise = hostRng((seed ^ 0xde9a) >>> 0); // dequantisation noise, its own stream
  const invLevels = levels === undefined ? 0 : 1 / levels;
  const order = globalThis.Array.from({ length: nTrain }, (_, i) => i);
  let cursor = stepsPerEpoch * batch; // forces a shuffle before the first batch
  const Typed = typedArrayFor(dtype);
  const { dim } = train;
  const nextBatch = (): { x: Array; c?: Array } => {
    if (cursor + batch > stepsPerEpoch * batch) {
      for (let i = nTrain - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      cursor = 0;
    }
    const xb = new Typed(batch * dim);
    const cb = K > 0 ? new Typed(batch * K) : undefined;
    for (let i = 0; i < batch; i++) {
      const r = order[cursor + i]!;
      if (levels === undefined) for (let d = 0; d < dim; d++) xb[i * dim + d] = train.x[r * dim + d]!;
      else for (let d = 0; d < dim; d++) xb[i * dim + d] = (train.x[r * dim + d]! + noise()) * invLevels;
      if (cb) for (let k = 0; k < K; k++) cb[i * K + k] = train.context![r * K + k]!;
    }
    cursor += batch;
    return { x: fromValues(xb, [batch, dim], dtype), c: cb ? fromValues(cb, [batch, K], dtype) : undefined };
  };

  const evaluate = async (): Promise<number | undefined> => {
    if (!evaluator || !validation) return undefined;
    const lp = await evaluator.logProbs(state.params, validation);
    return -meanAndStdError(lp).mean;
  };

  let windowLoss = 0;
  let windowSteps = 0;
  let windowTime = 0;
  let lastYield = performance.now();
  let lastLr = learningRate(schedule, 0, Math.max(1, totalSteps), baseLr);
  const progress = (phase: ProgressEvent["phase"], valLoss?: number): void => {
    if (!o.onProgress) return;
    const trainLoss = windowSteps > 0 ? windowLoss / windowSteps : NaN;
    const stepsPerSec = windowTime > 0 ? (windowSteps * 1000) / windowTime : 0;
    const e: ProgressEvent = { phase, step: stepsDone, totalSteps, trainLoss, stepsPerSec, lr: lastLr };
    if (valLoss !== undefined) e.valLoss = valLoss;
    o.onProgress(e);
  };

  /** One evaluation: history, best params, early stopping and blow-up. Returns why to stop, if it should. */
  const checkpoint = async (phase: ProgressEvent["phase"]): Promise<"early-stopped" | "diverged" | undefined> => {
    const trainLoss = windowSteps > 0 ? windowLoss / windowSteps : NaN;
    const valLoss = await evaluate();
    const entry: HistoryEntry = { step: stepsDone, trainLoss };
    if (valLoss !== undefined) entry.valLoss = valLoss;
    history.push(entry);
    const monitored = monitor === "validation" ? valLoss! : trainLoss;
    if (Number.isFinite(monitored) && monitored < bestLoss) {
      disposeTree(best);
      best = refTree(state.params);
      bestLoss = monitored;
      bestStep = stepsDone;
      evalsSinceBest = 0;
    } else {
      evalsSinceBest++;
    }
    progress(phase, valLoss);
    windowLoss = 0;
    windowSteps = 0;
    windowTime = 0;
    divergence = watch.evaluation(monitored, bestLoss, stepsDone, lastLr, monitor);
    if (divergence) return "diverged";
    return evalsSinceBest >= patience ? "early-stopped" : undefined;
  };

  progress("compiling");
  let lastCheckpointStep = 0;
  try {
    // The initial params are a candidate too: a run that only gets worse returns them.
    if (validation) {
      const v0 = await evaluate();
      history.push({ step: 0, trainLoss: NaN, valLoss: v0! });
      if (Number.isFinite(v0)) bestLoss = v0!;
    }
    for (let s = 0; s < totalSteps; s++) {
      if (o.signal?.aborted) {
        stopReason = "aborted";
        break;
      }
      const ts = performance.now();
      lastLr = learningRate(schedule, s, totalSteps, baseLr);
      const lr = fromValues([lastLr], [], dtype);
      const { x, c } = nextBatch();
      const [loss, next] = await (c ? step(state, lr, x, c) : step(state, lr, x));
      state = next;
      const value = ((await loss.data()) as Float32Array | Float64Array)[0]!;
      const te = performance.now();
      stepsDone = s + 1;
      if (stepTimes) stepTimes.push(te - ts);
      losses.push(value);
      divergence = watch.step(value, bestLoss, stepsDone, lastLr);
      if (divergence) {
        stopReason = "diverged";
        break;
      }
      // without a validation set, the first loss (a batch at the initial params) scores the initial params
      if (s === 0 && monitor === "train") bestLoss = value;
      windowLoss += value;
      windowSteps++;
      if (s > 0) windowTime += te - ts; // the first step includes compilation
      if (stepsDone % evalEvery === 0) {
        lastCheckpointStep = stepsDone;
        const stop = await checkpoint("training");
        if (stop) {
          stopReason = stop;
          break;
        }
      }
      if (performance.now() - lastYield > 50) {
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
        lastYield = performance.now();
      }
    }
    if (stopReason !== "diverged" && stepsDone > lastCheckpointStep) {
      const stop = await checkpoint("training");
      if (stop === "diverged") stopReason = stop;
    }
  } catch (e) {
    disposeTree(state.params);
    disposeAdamState(state.adam);
    disposeTree(best);
    step.dispose();
    evaluator?.dispose();
    throw e;
  }

  // --- result
  let out: FlowParams;
  if (stopReason === "diverged" || o.restoreBest !== false) {
    disposeTree(state.params);
    out = best;
  } else {
    disposeTree(best);
    out = state.params;
  }
  disposeAdamState(state.adam);
  step.dispose();
  evaluator?.dispose();
  // With the wasm worker pool (engine/threads.ts) the last step's kernels may still be running, and
  // jax-js refuses a synchronous read (save, dataSync) of an array with work in flight: settle them.
  await blockUntilReady(out);

  const offset = o.lossOffset ?? 0;
  const returnedBest = stopReason === "diverged" || o.restoreBest !== false;
  const untrained = returnedBest && bestStep === 0;
  const shifted = divergence ? shiftDivergence(divergence, offset) : undefined;
  const message = stopMessage({ stopReason, stepsDone, patience, monitor, bestStep, bestLoss: bestLoss + offset, returnedBest, divergence: shifted, baseLr });
  const result: TrainResult = {
    params: out,
    history,
    bestStep,
    bestValLoss: bestLoss,
    monitor,
    stopReason,
    message,
    untrained,
    steps: stepsDone,
    wallTimeSec: (performance.now() - t0) / 1000,
    seed,
    losses,
    nTrain,
    nValidation: validation?.n ?? 0,
    batchSize: batch,
  };
  if (stepTimes) result.stepTimesMs = stepTimes;
  if (shifted) result.divergence = shifted;
  windowSteps = 0;
  progress("done", history.at(-1)?.valLoss);
  return result;
}

/**
 * The sentence of `TrainResult.message`: why training stopped, which params were returned, and
 * (after a divergence) what to change. A run whose best is its initial state says so plainly.
 */
function stopMessage(r: {
  stopReason: StopReason;
  stepsDone: number;
  patience: number;
  monitor: "validation" | "train";
  bestStep: number;
  bestLoss: number;
  returnedBest: boolean;
  divergence: Divergence | undefined;
  baseLr: number;
}): string {
  const what = r.monitor === "validation" ? "validation loss" : "training loss";
  const lossText = Number.isFinite(r.bestLoss) ? ` (${what} ${r.bestLoss.toFixed(4)})` : "";
  const returned = !r.returnedBest
    ? "returned the last parameters"
    : r.bestStep === 0
      ? `no step improved on the initial parameters${lossText}: the returned model is UNTRAINED`
      : `returned the parameters of step ${r.bestStep}${lossText}`;
  switch (r.stopReason) {
    case "diverged":
      return (
        `${r.divergence ? describeDivergence(r.divergence) : `training diverged at step ${r.stepsDone}`}; ${returned}. ` +
        `Try a lower learning rate (lr, e.g. ${(r.baseLr / 10).toPrecision(2)}), gradient clipping (clipNorm, e.g. 5), ` +
        `a tighter scaleBound in the flow config (e.g. 2) or a decaying schedule (e.g. cosine); standardising the data also helps.`
      );
    case "early-stopped":
      return `stopped early at step ${r.stepsDone}: no improvement of the ${what} in ${r.patience} evaluations; ${returned}.`;
    case "aborted":
      return `aborted at step ${r.stepsDone}; ${returned}.`;
    default:
      return `completed ${r.stepsDone} steps; ${returned}.`;
  }
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

/**
 * A training step in `passes` gradient passes over equal slices of the batch (consumes the state,
 * lr, x and c like the fused step): one jitted function computes the loss and gradient of a slice,
 * the gradients are summed, and one jitted Adam update applies their mean, so the update equals
 * the fused step's (mean of equal-size slice means = batch mean). Batch-norm statistics are those
 * of the last slice. Memory is that of one slice's forward and backward pass: each pass is
 * awaited before the next is issued.
 */
function accumulatingStep(
  lossOf: (p: FlowParams, x: Array, c: Array | undefined) => [Array, Record<string, Array>],
  withStats: (p: FlowParams, stats: Record<string, Array>) => FlowParams,
  hyper: Omit<AdamHyper, "lr">,
  K: number,
  passes: number,
): StepFn {
  type Traced = (...args: any[]) => JsTree<Array>;
  // The gradient leaves concatenated into one [P] output: a compiled call with one output per
  // leaf took 2.3 s instead of 1.3 s per pass of 16 images on the C5 RealNVP (60 leaves).
  const body = (p: FlowParams, x: Array, c: Array | undefined) => {
    const [[loss, stats], grads] = valueAndGrad((q: FlowParams) => lossOf(q, x, c), { hasAux: true })(p);
    const flat = np.concatenate(treeLeaves(grads as FlowParams).map((g) => g.reshape([-1])));
    return [loss, stats, flat] as unknown as JsTree<Array>;
  };
  const gradPass = (K > 0
    ? jit(((p: FlowParams, x: Array, c: Array) => body(p, x, c)) as unknown as Traced)
    : jit(((p: FlowParams, x: Array) => body(p, x, undefined)) as unknown as Traced)) as unknown as ((p: FlowParams, x: Array, c?: Array) => [Array, Record<string, Array>, Array]) & { dispose(): void };
  const update = jit(((state: StepState, lr: Array, gradSum: Array, scale: Array) => {
    const u = adamUpdate(state.params, gradSum.mul(scale), state.adam, { lr, ...hyper });
    return { params: u.params, adam: u.state };
  }) as unknown as Traced) as unknown as ((s: StepState, lr: Array, g: Array, scale: Array) => StepState) & { dispose(): void };
  const fn = (async (state: StepState, lr: Array, x: Array, c?: Array): Promise<[Array, StepState]> => {
    const dtype = floatDTypeOf(x) ?? "float32";
    const xs = splitRowBlocks(x, passes);
    const cs = c ? splitRowBlocks(c, passes) : undefined;
    let lossSum: Array | undefined;
    let gradSum: Array | undefined;
    let stats: Record<string, Array> = {};
    for (let i = 0; i < passes; i++) {
      const [loss, st, g] = cs ? gradPass(refTree(state.params), xs[i]!, cs[i]!) : gradPass(refTree(state.params), xs[i]!);
      lossSum = lossSum ? lossSum.add(loss) : loss;
      gradSum = gradSum ? gradSum.add(g) : g;
      for (const v of Object.values(stats)) v.dispose();
      stats = st;
      // jax-js allocates a compiled call's buffers when the call is issued and runs its kernels
      // later: without this wait every pass's activations would be allocated at once
      await blockUntilReady(gradSum);
    }
    const next = update(state, lr, gradSum!, fromValues([1 / passes], [], dtype));
    return [lossSum!.mul(fromValues([1 / passes], [], dtype)), { params: withStats(next.params, stats), adam: next.adam }];
  }) as StepFn;
  fn.dispose = () => {
    gradPass.dispose();
    update.dispose();
  };
  return fn;
}

/** The P equal row blocks of x [B, …] (consumes x): host-side, before the step (x is concrete). */
function splitRowBlocks(x: Array, P: number): Array[] {
  const [B, ...rest] = x.shape as number[];
  const m = B! / P;
  const width = rest.reduce((a, b) => a * b, 1);
  const dtype = floatDTypeOf(x) ?? "float32";
  const values = x.dataSync() as Float32Array | Float64Array;
  return globalThis.Array.from({ length: P }, (_, i) => fromValues(values.subarray(i * m * width, (i + 1) * m * width), [m, ...rest], dtype));
}

