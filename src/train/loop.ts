/**
 * The one training loop of the library: Adam steps on a loss, whatever the loss is. Maximum
 * likelihood (train/fit.ts: −mean log p of minibatches) and variational inference
 * (train/variational.ts: E_q[log q − log p̃] from reparametrised samples) differ only in the
 * `Objective` they hand it; steps, learning-rate schedules, progress, abort, divergence detection,
 * early stopping and the best params kept are the same code for both.
 *
 * Engine shape (docs/reference/ENGINE-NOTES.md): the objective's step is one jitted call whose
 * learning rate is an array (traced once); the loop awaits every loss, yields to the event loop
 * every ~50 ms (a page stays responsive, an AbortSignal is honoured), and keeps the best params as
 * extra references (arrays are immutable: no copies).
 */
import { blockUntilReady, type Array } from "../engine/jax.js";
import { fromValues, type FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import { disposeTree, refTree } from "../engine/tree.js";
import type { FlowParams } from "../distributions/flow.js";
import { adamInit, disposeAdamState, type AdamState } from "./adam.js";
import { learningRate, type Schedule } from "./schedules.js";
import { describeDivergence, shiftDivergence, type Divergence, type DivergenceMonitor, type DivergenceOptions, type Overfitting } from "./divergence.js";

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

/**
 * The options of the optimiser and of the loop that maximum likelihood (trainFlow) and variational
 * inference (fitVariational) share: Adam's hyper-parameters, the schedule, best-params handling,
 * progress, checkpoints, abort and divergence detection.
 */
export interface OptimizerOptions {
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
  /** Return the best params seen (true, default) or the last ones (false; not after divergence). */
  restoreBest?: boolean;
  /** Record the wall time of every step in `result.stepTimesMs` (benchmarks). Default false. */
  recordStepTimes?: boolean;
  /** Called before the first step ("compiling"), after every evaluation ("training"), and at the end ("done"). */
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Awaited after every evaluation (after `onProgress`) with the current params, lent for the call
   * (do not dispose or keep them): training waits until the returned promise settles, so a page can
   * draw the model as it is, or pause training. The time it takes is not counted in stepsPerSec.
   */
  onCheckpoint?: (params: FlowParams, event: ProgressEvent) => void | Promise<void>;
  /** Abort training (the best params so far are returned, stopReason "aborted"). */
  signal?: AbortSignal;
  /**
   * Divergence detection beyond non-finite losses (train/divergence.ts): stop when the monitored
   * loss stays far above the best for several evaluations, or the step loss explodes for 3 steps in a row.
   * Default `{ factor: 1, evaluations: 3 }`; `false`: stop only on a non-finite loss.
   */
  divergence?: DivergenceOptions | false;
}

/** The keys of OptimizerOptions (for the unknown-option checks of trainFlow and fitVariational). */
export const OPTIMIZER_OPTION_KEYS = [
  "lr", "schedule", "beta1", "beta2", "eps", "weightDecay", "clipNorm", "restoreBest", "recordStepTimes",
  "onProgress", "onCheckpoint", "signal", "divergence",
] as const satisfies readonly (keyof OptimizerOptions)[];

export type StopReason = "completed" | "early-stopped" | "diverged" | "aborted";

export interface HistoryEntry {
  /** Steps completed (0: the initial params, evaluated when there is a validation set). */
  step: number;
  /** Mean training loss over the steps since the previous entry (NaN at step 0). */
  trainLoss: number;
  valLoss?: number;
}

/** Params and optimiser state, as a compiled step consumes and returns them. */
export type StepState = { params: FlowParams; adam: AdamState };

/**
 * What is being minimised. The loop owns the state; the objective owns its compiled functions
 * and whatever a step reads (minibatches, PRNG keys).
 */
export interface Objective {
  /** One Adam step at learning rate `lr` (consumes `state` and `lr`): the step's loss [] and the next state. */
  step(state: StepState, lr: Array): [Array, StepState] | Promise<[Array, StepState]>;
  /**
   * The monitored loss of `params` (does NOT consume them), e.g. the exact validation NLL; without
   * it the mean training loss of the steps before each evaluation is monitored.
   */
  evaluate?(params: FlowParams): Promise<number>;
  /** Frees the compiled functions. */
  dispose(): void;
}

/** The checked settings of one run (see `TrainOptions` for their meaning). */
export interface LoopSettings {
  totalSteps: number;
  baseLr: number;
  schedule: Schedule;
  evalEvery: number;
  patience: number;
  dtype: FloatDType;
  restoreBest: boolean;
  recordStepTimes: boolean;
  lossOffset: number;
  watch: DivergenceMonitor;
  onProgress?: (event: ProgressEvent) => void;
  /** Awaited after every evaluation with the current params (lent: valid during the call, not consumed). */
  onCheckpoint?: (params: FlowParams, event: ProgressEvent) => void | Promise<void>;
  signal?: AbortSignal;
  /** The end of a diverged run's message after the knobs every loop has (lr, clipNorm, scaleBound, schedule). */
  divergenceAdvice?: string;
}

/** What the loop returns; the callers add what they know (rows, batch size, wall time). */
export interface LoopResult {
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
  /** Per-step wall times (ms) when `recordStepTimes` was set. */
  stepTimesMs?: number[];
  /** The loss of every step (nats per row). */
  losses: number[];
}

/**
 * Checks the loop's own options (ConfigError naming `what`, e.g. "train"). `totalSteps` is the
 * resolved length (from steps or epochs); defaults: evalEvery min(100, steps), patience never.
 */
export function checkLoopOptions(
  o: { evalEvery?: number; patience?: number; lr?: number; lossOffset?: number },
  totalSteps: number,
  what: string,
  detail = "",
): { evalEvery: number; patience: number; baseLr: number; lossOffset: number } {
  const evalEvery = o.evalEvery ?? Math.min(100, Math.max(1, totalSteps));
  const patience = o.patience ?? Infinity;
  const baseLr = o.lr ?? 1e-3;
  if (!Number.isInteger(totalSteps) || totalSteps < 0) throw new ConfigError(`${what}: steps must be an integer ≥ 0, got ${totalSteps}${detail}`);
  if (!Number.isInteger(evalEvery) || evalEvery < 1) throw new ConfigError(`${what}: evalEvery must be an integer ≥ 1, got ${evalEvery}`);
  if (!(patience >= 1)) throw new ConfigError(`${what}: patience must be ≥ 1 evaluations, got ${patience}`);
  if (!(baseLr > 0)) throw new ConfigError(`${what}: lr must be > 0, got ${baseLr}`);
  if (o.lossOffset !== undefined && !Number.isFinite(o.lossOffset)) throw new ConfigError(`${what}: lossOffset must be a finite number, got ${o.lossOffset}`);
  return { evalEvery, patience, baseLr, lossOffset: o.lossOffset ?? 0 };
}

/**
 * Runs `settings.totalSteps` steps of `objective` from `params` (CONSUMED; the returned params
 * are new and owned by the caller). Disposes the objective. Every `evalEvery` steps (and after the
 * last) it evaluates: history, best params, early stopping after `patience` evaluations without
 * improvement, blow-up detection; every step's loss is checked for non-finite values and
 * explosions. A divergence stops the run and returns the best params.
 */
export async function runTrainingLoop(params: FlowParams, objective: Objective, settings: LoopSettings): Promise<LoopResult> {
  const { totalSteps, baseLr, schedule, evalEvery, patience, dtype, watch, onProgress, signal } = settings;
  const monitor = objective.evaluate ? "validation" : "train";
  let state: StepState = { params, adam: adamInit(params) };
  let best: FlowParams = refTree(params);
  let bestLoss = Infinity;
  let bestStep = 0;
  let evalsSinceBest = 0;
  const history: HistoryEntry[] = [];
  const losses: number[] = [];
  const stepTimes: number[] | undefined = settings.recordStepTimes ? [] : undefined;
  let stopReason: StopReason = "completed";
  let divergence: Divergence | undefined;
  let overfitting: Overfitting | undefined;
  // the best training loss: the first step's (the initial params) and every window's mean
  let bestTrainLoss = Infinity;
  let stepsDone = 0;

  const evaluate = async (): Promise<number | undefined> => (objective.evaluate ? objective.evaluate(state.params) : undefined);

  let windowLoss = 0;
  let windowSteps = 0;
  let windowTime = 0;
  let lastYield = performance.now();
  let lastLr = learningRate(schedule, 0, Math.max(1, totalSteps), baseLr);
  const progressEvent = (phase: ProgressEvent["phase"], valLoss?: number): ProgressEvent => {
    const trainLoss = windowSteps > 0 ? windowLoss / windowSteps : NaN;
    const stepsPerSec = windowTime > 0 ? (windowSteps * 1000) / windowTime : 0;
    const e: ProgressEvent = { phase, step: stepsDone, totalSteps, trainLoss, stepsPerSec, lr: lastLr };
    if (valLoss !== undefined) e.valLoss = valLoss;
    return e;
  };
  const progress = (phase: ProgressEvent["phase"], valLoss?: number): void => {
    if (onProgress) onProgress(progressEvent(phase, valLoss));
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
    // a page draws the current model here, or pauses training by settling later. The params are
    // settled first: with the wasm worker pool (engine/threads.ts) the step's Adam update may still be
    // in flight (only its loss was awaited), and a synchronous read (FlowModel, treeToHost) refuses that
    if (settings.onCheckpoint) {
      await blockUntilReady(state.params);
      await settings.onCheckpoint(state.params, progressEvent(phase, valLoss));
    }
    windowLoss = 0;
    windowSteps = 0;
    windowTime = 0;
    if (Number.isFinite(trainLoss)) bestTrainLoss = Math.min(bestTrainLoss, trainLoss);
    const verdict = watch.check(monitored, bestLoss, stepsDone, lastLr, monitor, { loss: trainLoss, best: bestTrainLoss });
    divergence = verdict.divergence;
    if (divergence) return "diverged";
    // the validation loss ran away while the training loss did not: overfitting, the best params are kept
    overfitting = verdict.overfitting;
    if (overfitting) return "early-stopped";
    return evalsSinceBest >= patience ? "early-stopped" : undefined;
  };

  progress("compiling");
  let lastCheckpointStep = 0;
  try {
    // The initial params are a candidate too: a run that only gets worse returns them.
    if (objective.evaluate) {
      const v0 = await evaluate();
      history.push({ step: 0, trainLoss: NaN, valLoss: v0! });
      if (Number.isFinite(v0)) bestLoss = v0!;
    }
    for (let s = 0; s < totalSteps; s++) {
      if (signal?.aborted) {
        stopReason = "aborted";
        break;
      }
      const ts = performance.now();
      lastLr = learningRate(schedule, s, totalSteps, baseLr);
      const lr = fromValues([lastLr], [], dtype);
      const [loss, next] = await objective.step(state, lr);
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
      if (s === 0 && Number.isFinite(value)) bestTrainLoss = value;
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
      else overfitting = undefined; // the run had completed its steps
    }
  } catch (e) {
    disposeTree(state.params);
    disposeAdamState(state.adam);
    disposeTree(best);
    objective.dispose();
    throw e;
  }

  // --- result
  const returnedBest = stopReason === "diverged" || settings.restoreBest;
  let out: FlowParams;
  if (returnedBest) {
    disposeTree(state.params);
    out = best;
  } else {
    disposeTree(best);
    out = state.params;
  }
  disposeAdamState(state.adam);
  objective.dispose();
  // With the wasm worker pool (engine/threads.ts) the last step's kernels may still be running, and
  // jax-js refuses a synchronous read (save, dataSync) of an array with work in flight: settle them.
  await blockUntilReady(out);

  const offset = settings.lossOffset;
  const shifted = divergence ? shiftDivergence(divergence, offset) : undefined;
  const message = stopMessage({ stopReason, stepsDone, patience, monitor, bestStep, bestLoss: bestLoss + offset, returnedBest, divergence: shifted, overfitting, offset, baseLr, advice: settings.divergenceAdvice ?? "; standardising the data also helps" });
  const result: LoopResult = {
    params: out,
    history,
    bestStep,
    bestValLoss: bestLoss,
    monitor,
    stopReason,
    message,
    untrained: returnedBest && bestStep === 0,
    steps: stepsDone,
    losses,
  };
  if (stepTimes) result.stepTimesMs = stepTimes;
  if (shifted) result.divergence = shifted;
  windowSteps = 0;
  progress("done", history.at(-1)?.valLoss);
  return result;
}

/**
 * The sentence of a run's `message`: why training stopped, which params were returned, and
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
  overfitting: Overfitting | undefined;
  offset: number;
  baseLr: number;
  advice: string;
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
        `a tighter scaleBound in the flow config (e.g. 2) or a decaying schedule (e.g. cosine)${r.advice}.`
      );
    case "early-stopped":
      if (r.overfitting) {
        const o = r.overfitting;
        const now = o.loss === null ? "not finite" : `${(o.loss + r.offset).toFixed(4)} nats per row`;
        return (
          `stopped early at step ${r.stepsDone}: the validation loss rose after step ${r.bestStep} (${now}, far above its best, for ${o.evaluations} evaluations ` +
          `in a row) while the training loss stayed near its best (${(o.trainLoss + r.offset).toFixed(4)}): the flow overfits its training rows; ${returned}.`
        );
      }
      return `stopped early at step ${r.stepsDone}: no improvement of the ${what} in ${r.patience} evaluations; ${returned}.`;
    case "aborted":
      return `aborted at step ${r.stepsDone}; ${returned}.`;
    default:
      return `completed ${r.stepsDone} steps; ${returned}.`;
  }
}
