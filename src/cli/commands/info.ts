/**
 * `nflow info`: what a model file holds: architecture, parameter count, preprocessing, data and
 * training record.
 */
import { defineCommand } from "../args.js";
import { ExitCode, runCommand } from "../output.js";
import { MODEL_FLAG, openModel } from "./common.js";
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
        `parameters: ${info.parameterCount.toLocaleString("en-US")} trainable${info.stateCount ? ` (+ ${info.stateCount} batch-norm statistics)` : ""}, ${info.dtype}`,
        `config estimate (the limit check before any allocation): ≤ ${estimate.parameters.toLocaleString("en-US")} parameters, ≈ ${formatBytes(estimate.trainingBytes)} to train (parameters, gradient, Adam's moments; activations extra)`,
        `preprocessing: ${info.preprocessing ? `standardised per column (mean ${list(info.preprocessing.mean)}, std ${list(info.preprocessing.std)})` : "none"}`,
      ];
      if (info.context) lines.push(`context: ${info.context.dim} value(s)${info.context.columns ? ` from column(s) ${info.context.columns.join(", ")}` : ""}`);
      if (info.data) {
        const dq = info.data.dequantization;
        const image = info.config.image ? `images [${info.config.image.join(", ")}]` : undefined;
        const details = [
          ...(info.data.columns ? [`columns ${info.data.columns.join(", ")}`] : []),
          ...(image ? [image] : []),
          ...(dq ? [`dequantised: x = (b + u)/${dq.levels}, density on [0,1]^D`] : []),
        ];
        lines.push(`data: ${info.data.source ?? "?"}${details.length ? ` (${details.join("; ")})` : ""}`);
      }
      if (t) {
        lines.push(
          `training: ${t.steps} steps in ${fmt(t.wallTimeSec, 1)} s (${t.stopReason}), seed ${t.seed}, batch ${t.batchSize}, lr ${t.lr ?? "?"}`,
          `  ${t.nTrain} training rows, ${t.nValidation} validation rows; best ${t.monitor} NLL ${fmt(t.bestValidationLoss)} nats at step ${t.bestStep}`,
        );
        if (t.stopReason !== "completed") lines.push(`  ${t.message}`);
      } else {
        lines.push("training: none recorded");
      }
      out.result({ model: args.values.model, ...info, estimate }, lines);
      return ExitCode.Ok;
    } finally {
      model.dispose();
    }
  });
}
