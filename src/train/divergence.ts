/**
 * Divergence detection for the training loop: a run has diverged when its loss is no longer
 * finite, OR when it has blown up while staying finite (a learning rate of 10 on moons keeps the
 * loss near 7e4 nats per row for thousands of steps; the loss never becomes NaN, and a loop that
 * checks only finiteness reports "completed").
 *
 * With ℓ* the best monitored loss so far (nats per row, the initial params included) and the
 * scale s = |ℓ*| + D (a per-row NLL of D-dimensional data moves on the order of D nats: an
 * image's is hundreds, a 2-D toy's a few), the rules are
 *   blow-up:    the monitored loss (validation, or the training window without a validation set)
 *               exceeds ℓ* + factor·s at `evaluations` evaluations in a row;
 *   explosion:  the training loss exceeds ℓ* + 100·factor·s at EXPLOSION_STEPS (3) steps in a row;
 *   non-finite: a training loss of NaN or ±∞ (at once: the params are then garbage).
 * The explosion rule waits for a run of steps because ONE exploding batch can be a transient: C1
 * 8gaussians seed 0 (bench/run.ts, relaxed SIMD) has one row of a typical point, x = (2.46, −2.32),
 * mapped to z = (−97, −1157) at the params of step 259 (NLL 6.7e5 nats; the other 255 rows: 4.85),
 * so step 260's batch loss is 2,637 nats against a best of 5.96 (threshold 802), and the next
 * steps are 3.48, 3.92, 4.42 … 3.71 at step 300; run on, it ends at KL 0.134, the 4 other seeds'
 * range. A real explosion stays up (lr 10: ~7e4 nats per row for thousands of steps) or turns
 * non-finite, and either is caught two steps later at most.
 * Defaults factor = 1, evaluations = 3: a loss more than twice the scale above the best, three
 * times running. A healthy run fluctuates by a small fraction of s; early in training, when the
 * best is still the initial loss, a noisy evaluation is forgiven by the run of three.
 *
 * Overfitting is not divergence. When the monitored loss is the VALIDATION loss and the blow-up
 * rule fires while the mean training loss of the last window is still near its best ℓ_t* (the
 * first step's loss, at the initial params, included):
 *   ℓ_train ≤ ℓ_t* + factor·s_t/4,   s_t = |ℓ_t*| + D,
 * the flow is fitting its training rows ever better and the held-out rows ever worse: a 200-row
 * table with a 64 × 64 network does this within a few hundred steps. That is the end of useful
 * training, reported as `overfitting` (the loop stops early and keeps the best params), not a
 * failure. A real divergence moves the training loss too (lr 10: from ~3 to ~7e4 nats per row).
 */
import { ConfigError } from "../engine/errors.js";

/** Options of divergence detection (`TrainOptions.divergence`); `false` keeps only the non-finite rule. */
export interface DivergenceOptions {
  /** Margin above the best in units of |best| + D. Default 1. */
  factor?: number;
  /** Consecutive evaluations above the margin that count as a blow-up. Default 3. */
  evaluations?: number;
}

/** What stopped a diverged run (losses in the trainer's units unless shifted by the caller). */
export interface Divergence {
  kind: "non-finite" | "explosion" | "blow-up";
  /** Steps completed when it was detected. */
  step: number;
  /** The offending loss (null when not finite). */
  loss: number | null;
  /** Which loss: one training step's, or the monitored evaluation loss. */
  of: "training step" | "validation" | "training";
  /** The best monitored loss at that time (null when none was finite). */
  bestLoss: number | null;
  /** Evaluations in a row above the margin (blow-up only). */
  evaluations?: number;
  /** Training steps in a row above the explosion threshold (explosion only). */
  steps?: number;
  /** Learning rate of the last step. */
  lr: number;
}

/** A validation loss that ran away while the training loss stayed near its best (see the header). */
export interface Overfitting {
  /** Steps completed when it was detected. */
  step: number;
  /** The validation loss of this evaluation (null when not finite). */
  loss: number | null;
  /** The best validation loss. */
  bestLoss: number;
  /** Evaluations in a row above the margin. */
  evaluations: number;
  /** Mean training loss of the last window, and the best training loss of the run. */
  trainLoss: number;
  bestTrainLoss: number;
}

/** What `DivergenceMonitor.check` concludes from one evaluation: at most one of the two. */
export interface EvaluationVerdict {
  divergence?: Divergence;
  overfitting?: Overfitting;
}

/** The detector of one run: feed it every step loss and every evaluation. */
export interface DivergenceMonitor {
  /** A training step's loss; returns the divergence it reveals, if any. */
  step(loss: number, best: number, step: number, lr: number): Divergence | undefined;
  /** An evaluation's monitored loss, after the best was updated with it (the blow-up rule alone). */
  evaluation(monitored: number, best: number, step: number, lr: number, monitor: "validation" | "train"): Divergence | undefined;
  /**
   * As `evaluation`, knowing the training loss too: a validation blow-up whose training loss
   * (`train.loss`, the window's mean) is still near its best (`train.best`) is overfitting.
   */
  check(
    monitored: number,
    best: number,
    step: number,
    lr: number,
    monitor: "validation" | "train",
    train: { loss: number; best: number },
  ): EvaluationVerdict;
}

/** Consecutive training steps above best + 100·factor·s that count as an explosion (see the header). */
export const EXPLOSION_STEPS = 3;

/** Validates the options and returns the run's detector (`dim`: the data dimension D). */
export function divergenceMonitor(options: DivergenceOptions | false | undefined, dim: number): DivergenceMonitor {
  const off = options === false;
  const factor = off ? Infinity : (options?.factor ?? 1);
  const runLength = off ? Infinity : (options?.evaluations ?? 3);
  if (!off && !(factor > 0 && Number.isFinite(factor))) throw new ConfigError(`divergence.factor: expected a finite number > 0, got ${options?.factor}`);
  if (!off && !(Number.isInteger(runLength) && runLength >= 1))
    throw new ConfigError(`divergence.evaluations: expected an integer ≥ 1, got ${options?.evaluations}`);
  const margin = (best: number): number => factor * (Math.abs(best) + dim);
  let above = 0;
  let exploding = 0; // consecutive training steps above the explosion threshold
  const evaluation = (monitored: number, best: number, step: number, lr: number, monitor: "validation" | "train"): Divergence | undefined => {
    if (!Number.isFinite(best)) return undefined;
    if (Number.isFinite(monitored) && monitored <= best + margin(best)) {
      above = 0;
      return undefined;
    }
    above++;
    if (above < runLength) return undefined;
    return {
      kind: "blow-up",
      step,
      loss: finiteOrNull(monitored),
      of: monitor === "validation" ? "validation" : "training",
      bestLoss: best,
      evaluations: above,
      lr,
    };
  };
  return {
    step(loss, best, step, lr) {
      if (!Number.isFinite(loss)) return { kind: "non-finite", step, loss: null, of: "training step", bestLoss: finiteOrNull(best), lr };
      if (!(Number.isFinite(best) && loss > best + 100 * margin(best))) {
        exploding = 0;
        return undefined;
      }
      if (++exploding < EXPLOSION_STEPS) return undefined;
      return { kind: "explosion", step, loss, of: "training step", bestLoss: best, steps: exploding, lr };
    },
    evaluation,
    check(monitored, best, step, lr, monitor, train) {
      const d = evaluation(monitored, best, step, lr, monitor);
      if (!d) return {};
      const trainNearBest =
        Number.isFinite(train.loss) && Number.isFinite(train.best) && train.loss <= train.best + (factor * (Math.abs(train.best) + dim)) / 4;
      if (monitor !== "validation" || !trainNearBest) return { divergence: d };
      return { overfitting: { step, loss: d.loss, bestLoss: best, evaluations: d.evaluations!, trainLoss: train.loss, bestTrainLoss: train.best } };
    },
  };
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** `d` with its losses moved by `shift` (the caller's units, e.g. +Σ log σ of a standardisation). */
export function shiftDivergence(d: Divergence, shift: number): Divergence {
  return { ...d, loss: d.loss === null ? null : d.loss + shift, bestLoss: d.bestLoss === null ? null : d.bestLoss + shift };
}

/** One sentence: what happened (no advice), e.g. "training diverged at step 300: …". */
export function describeDivergence(d: Divergence): string {
  const lr = `learning rate ${d.lr.toPrecision(3)}`;
  const best = d.bestLoss === null ? "" : `, far above the best ${fmt(d.bestLoss)}`;
  switch (d.kind) {
    case "non-finite":
      return `training diverged at step ${d.step}: the training loss became non-finite (${lr})`;
    case "explosion":
      return `training diverged at step ${d.step}: the training loss jumped to ${fmt(d.loss!)} nats per row${best}, for ${d.steps ?? 1} steps in a row (${lr})`;
    case "blow-up":
      return (
        `training diverged at step ${d.step}: the ${d.of} loss was ${d.loss === null ? "not finite" : `${fmt(d.loss)} nats per row`}${best}, ` +
        `for ${d.evaluations} evaluations in a row (${lr})`
      );
  }
}

function fmt(v: number): string {
  return Math.abs(v) >= 1e4 ? v.toExponential(2) : v.toFixed(4);
}
