/**
 * `nflow info`: what a model file holds: architecture, parameter count, preprocessing, data and
 * training record; for a model from `nflow vi`, its target and the ELBO, log Ẑ and ESS instead.
 */
import { existsSync } from "node:fs";
import { defineCommand } from "../args.js";
import { ExitCode, runCommand } from "../output.js";
import { MODEL_FLAG, openModel } from "./common.js";
import type { TrainingRecord, VariationalRecord } from "../../io/model-format.js";
import { builtinTarget, TARGET_NAMES } from "../../targets/builtin.js";
import { variationalFigures, variationalLines } from "./vi.js";
import { estimateParameterCount, estimateTrainingBytes, formatBytes } from "../../flows/build.js";

export const infoSpec = defineCommand({
  name: "info",
  summary: "Show a model file's architecture, parameter count, preprocessing and training record.",
  flags: { model: MODEL_FLAG },
  notes: ["Example:", "  nflow info --model moons.nflow --json"],
});

function fmt(v: number | null | undefined, digits = 4): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "n/a" : v.toFixed(digits);
}

function list(values: readonly number[]): string {
  return `[${values.map((v) => Number(v.toPrecision(6))).join(", ")}]`;
}

/** The figures of a model from `nflow vi` (--json `variational`): its target, budget and estimates at the end of training. */
export function variationalSummary(t: TrainingRecord, vi: VariationalRecord, dim: number): Record<string, unknown> {
  return {
    target: vi.target,
    targetKind: vi.targetKind,
    dim,
    steps: t.steps,
    bestStep: t.bestStep,
    samplesPerStep: vi.samplesPerStep,
    ...variationalFigures(t),
    trueLogZMethod: vi.trueLogZMethod,
  };
}

/**
 * The training record of a model from `nflow vi`, for people: the target and the fit instead of
 * data rows and an NLL (its monitored loss is −ELBO, the figures those of its last estimate).
 */
function variationalSection(t: TrainingRecord, vi: VariationalRecord, dim: number): string[] {
  let what: string;
  if (vi.targetKind === "builtin") {
    const known = TARGET_NAMES.includes(vi.target) ? builtinTarget(vi.target).description : "not a built-in target of this version";
    what = `the built-in target ${vi.target} (${dim}-D: ${known})`;
  } else {
    what = `the target module ${vi.target} (${dim}-D${existsSync(vi.target) ? "" : "; not found from this directory"})`;
  }
  const lines = [
    `variational inference: q fitted to ${what}`,
    `  ${t.steps} steps in ${fmt(t.wallTimeSec, 1)} s (${t.stopReason}), seed ${t.seed}, ${vi.samplesPerStep} samples of q per step, lr ${t.lr ?? "?"}; best ELBO ${fmt(t.bestValidationLoss === null ? null : -t.bestValidationLoss)} nats at step ${t.bestStep} (training batches)`,
  ];
  if (t.stopReason !== "completed") lines.push(`  ${t.message}`);
  lines.push("  estimates at the end of training (nflow eval --model … draws fresh ones):", ...variationalLines(t).map((l) => `  ${l}`));
  return lines;
}

export async function run(argv: string[]): Promise<number> {
  return runCommand(infoSpec, argv, async ({ args, out }) => {
    const model = await openModel(args.values.model, out);
    try {
      const info = model.info();
      const t = info.training;
      // the same estimate that bounds a config before anything is built (flows/build.ts)
      const estimate = { parameters: estimateParameterCount(info.config), trainingBytes: estimateTrainingBytes(info.config) };
      const lines = [
        `${args.values.model}: normalizing-flows model written by version ${info.libraryVersion}${info.createdAt ? ` on ${info.createdAt}` : ""}`,
        "architecture:",
        ...info.description.split("\n").map((l) => `  ${l}`),
        `parameters: ${info.parameterCount.toLocaleString("en-US")} trainable${info.stateCount ? ` (+ ${info.stateCount} state values: batch-norm running statistics, ActNorm initialisation flags)` : ""}, ${info.dtype}`,
        `config estimate (the limit check before any allocation): ≤ ${estimate.parameters.toLocaleString("en-US")} parameters, ≈ ${formatBytes(estimate.trainingBytes)} to train (parameters, gradient, Adam's moments; activations extra)`,
        `preprocessing: ${info.preprocessing ? `standardised per column (mean ${list(info.preprocessing.mean)}, std ${list(info.preprocessing.std)})` : "none"}`,
      ];
      if (info.context) lines.push(`context: ${info.context.dim} value(s)${info.context.columns ? ` from column(s) ${info.context.columns.join(", ")}` : ""}`);
      const vi = t?.variational;
      if (info.data && !vi) {
        const dq = info.data.dequantization;
        const image = info.config.image ? `images [${info.config.image.join(", ")}]` : undefined;
        const details = [
          ...(info.data.columns ? [`columns ${info.data.columns.join(", ")}`] : []),
          ...(image ? [image] : []),
          ...(dq ? [`dequantised: x = (b + u)/${dq.levels}, density on [0,1]^D`] : []),
        ];
        lines.push(`data: ${info.data.source ?? "?"}${details.length ? ` (${details.join("; ")})` : ""}`);
      }
      if (t && vi) {
        lines.push(...variationalSection(t, vi, info.dim));
      } else if (t) {
        lines.push(
          `training: ${t.steps} steps in ${fmt(t.wallTimeSec, 1)} s (${t.stopReason}), seed ${t.seed}, batch ${t.batchSize}, lr ${t.lr ?? "?"}`,
          `  ${t.nTrain} training rows, ${t.nValidation} validation rows; best ${t.monitor} NLL ${fmt(t.bestValidationLoss)} nats at step ${t.bestStep}`,
        );
        if (t.stopReason !== "completed") lines.push(`  ${t.message}`);
      } else {
        lines.push("training: none recorded");
      }
      out.result({ model: args.values.model, ...info, estimate, ...(t && vi ? { variational: variationalSummary(t, vi, info.dim) } : {}) }, lines);
      return ExitCode.Ok;
    } finally {
      model.dispose();
    }
  });
}
