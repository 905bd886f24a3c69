/**
 * Learning-rate schedules, evaluated on the host once per step. The value is handed to the jitted
 * training step as a scalar ARRAY, so a schedule never causes a retrace.
 *
 *   constant:  lr(s) = lr₀
 *   cosine:    linear warm-up lr₀·(s+1)/W for s < W, then
 *              lr(s) = lr_min + ½ (lr₀ − lr_min)(1 + cos(π (s − W)/(T − W)))
 *   step:      lr(s) = lr₀ · γ^⌊s / N⌋
 * with s the 0-based step and T the total number of steps.
 */
import { ConfigError } from "../engine/errors.js";

/** A learning-rate schedule (plain JSON, stored with a training record). */
export type Schedule =
  | { kind: "constant" }
  | {
      kind: "cosine";
      /** Linear warm-up steps W (default 0). */
      warmupSteps?: number;
      /** Final learning rate as a fraction of the base rate (default 0). */
      minFactor?: number;
    }
  | {
      kind: "step";
      /** Multiply by γ every N steps. */
      everySteps: number;
      /** γ (default 0.5). */
      gamma?: number;
    };

export const SCHEDULE_KINDS = ["constant", "cosine", "step"] as const;

/** Validates a schedule from a config, a file or the command line. */
export function parseSchedule(value: unknown): Schedule {
  if (value === undefined) return { kind: "constant" };
  if (typeof value === "string") value = { kind: value };
  const v = value as Record<string, unknown>;
  if (!v || typeof v !== "object" || !SCHEDULE_KINDS.includes(v.kind as never))
    throw new ConfigError(`schedule: expected kind ${SCHEDULE_KINDS.join(" | ")}, got ${JSON.stringify(value)}`);
  const s = v as Schedule;
  if (s.kind === "cosine") {
    if (s.warmupSteps !== undefined && !(Number.isInteger(s.warmupSteps) && s.warmupSteps >= 0))
      throw new ConfigError(`schedule cosine: warmupSteps must be an integer ≥ 0, got ${s.warmupSteps}`);
    if (s.minFactor !== undefined && !(s.minFactor >= 0 && s.minFactor <= 1))
      throw new ConfigError(`schedule cosine: minFactor must be in [0, 1], got ${s.minFactor}`);
  } else if (s.kind === "step") {
    if (!(Number.isInteger(s.everySteps) && s.everySteps >= 1))
      throw new ConfigError(`schedule step: everySteps must be an integer ≥ 1, got ${s.everySteps}`);
    if (s.gamma !== undefined && !(s.gamma > 0))
      throw new ConfigError(`schedule step: gamma must be > 0, got ${s.gamma}`);
  }
  return s;
}

/**
 * The learning rate at 0-based `step` of `totalSteps` for base rate `lr` (with the default
 * lr = 1 it is the schedule's multiplier).
 */
export function learningRate(schedule: Schedule, step: number, totalSteps: number, lr = 1): number {
  switch (schedule.kind) {
    case "constant":
      return lr;
    case "cosine": {
      const W = schedule.warmupSteps ?? 0;
      const lrMin = lr * (schedule.minFactor ?? 0);
      if (step < W) return (lr * (step + 1)) / W;
      const span = Math.max(1, totalSteps - W);
      const progress = Math.min(1, (step - W) / span);
      return lrMin + 0.5 * (lr - lrMin) * (1 + Math.cos(Math.PI * progress));
    }
    case "step":
      return lr * Math.pow(schedule.gamma ?? 0.5, Math.floor(step / schedule.everySteps));
  }
}
