/**
 * `fitVariationalModel`: from a config and a target to a FlowModel q ≈ p̃/Z by variational
 * inference (train/variational.ts), with the target and the ELBO, log Z and ESS estimates in its
 * training record, so that the model file says what it approximates and how well.
 */
import { ConfigError, ShapeError } from "../engine/errors.js";
import { keyFromSeed } from "../engine/random.js";
import { rejectUnknownKeys } from "../engine/validate.js";
import { build } from "../flows/build.js";
import type { FlowConfig } from "../flows/config.js";
import { builtinTarget } from "../targets/builtin.js";
import type { Target } from "../targets/target.js";
import { VARIATIONAL_OPTION_KEYS, fitVariational, type VariationalOptions } from "../train/variational.js";
import type { TrainingRecord, VariationalRecord } from "../io/model-format.js";
import { FlowModel } from "./model.js";

/** A config for `fitVariationalModel`: `dim` may be left out (the target's). Default flow: iaf. */
export type VariationalConfig = Partial<Omit<FlowConfig, "dim">> & { dim?: number };

/** Options: those of fitVariational except the initial params, plus provenance. */
export interface VariationalModelOptions extends Omit<VariationalOptions, "params" | "dtype"> {
  /** Where a module target came from (stored as the record's target instead of its name). */
  targetPath?: string;
}

const MODEL_OPTION_KEYS = [...VARIATIONAL_OPTION_KEYS.filter((k) => k !== "params" && k !== "dtype"), "targetPath"] as const;

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/**
 * Fits a flow (default `{ flow: "iaf" }`) to a target (a built-in's name or a `Target`) by
 * variational inference and returns the model (best params kept). A divergence does not throw:
 * `model.training.stopReason` is "diverged" and its message says what to try.
 */
export async function fitVariationalModel(config: VariationalConfig, target: string | Target, options: VariationalModelOptions = {}): Promise<FlowModel> {
  rejectUnknownKeys(options, MODEL_OPTION_KEYS, "fitVariationalModel", "option");
  const t = typeof target === "string" ? builtinTarget(target) : target;
  if (config.dim !== undefined && config.dim !== t.dim) throw new ShapeError(`target ${t.name}: it is ${t.dim}-dimensional, the config says dim ${config.dim}`);
  if ((config.contextDim ?? 0) !== 0) throw new ConfigError("fitVariationalModel: q must be unconditional (contextDim 0)");
  const seed = options.seed ?? 0;
  const { flow, config: normalized } = build({ flow: "iaf", ...config, dim: t.dim, seed: config.seed ?? seed } as FlowConfig);
  const params = flow.init(keyFromSeed(normalized.seed), normalized.dtype);
  const { targetPath, ...fitOptions } = options;
  const r = await fitVariational(flow, t, { ...fitOptions, seed, params });
  const e = r.estimates;
  const variational: VariationalRecord = {
    target: targetPath ?? t.name,
    targetKind: targetPath !== undefined ? "module" : "builtin",
    trueLogZ: t.logZ ?? null,
    trueLogZMethod: t.logZ !== undefined ? (t.logZMethod ?? "exact") : null,
    samplesPerStep: r.batchSize,
    samples: e.n,
    elbo: finiteOrNull(e.elbo),
    elboStdErr: finiteOrNull(e.elboStdErr),
    logZ: finiteOrNull(e.logZ),
    logZStdErr: finiteOrNull(e.logZStdErr),
    ess: e.ess,
    essFraction: e.essFraction,
  };
  const pick = r.history.length <= 200 ? r.history : Array.from({ length: 200 }, (_, i) => r.history[Math.round((i * (r.history.length - 1)) / 199)]!);
  const training: TrainingRecord = {
    steps: r.steps,
    bestStep: r.bestStep,
    bestValidationLoss: finiteOrNull(r.bestLoss),
    monitor: "train",
    stopReason: r.stopReason,
    message: r.message,
    seed,
    wallTimeSec: r.wallTimeSec,
    nTrain: 0,
    nValidation: 0,
    batchSize: r.batchSize,
    lr: options.lr ?? 1e-3,
    history: { step: pick.map((h) => h.step), trainLoss: pick.map((h) => finiteOrNull(h.trainLoss)), valLoss: pick.map(() => null) },
    variational,
  };
  if (r.divergence) training.divergence = r.divergence;
  return new FlowModel(flow, r.params, {
    config: normalized,
    preprocessing: null,
    context: null,
    data: { columns: null, source: `variational: ${variational.target}`, discrete: false, dequantization: null },
    training,
  });
}
