/**
 * `nflow check`: the library's exactness check (src/check/, checkFlow) on a model file: round
 * trips, forward + inverse log-dets = 0, log-det against an autodiff Jacobian, triangular
 * autoregressive layers, the sampling and density roads to log p, the model's own logProb, and
 * for 2-D models ∫ p = 1. Exit code 1 (ExitCode.Failure) when any check fails.
 */
import { defineCommand } from "../args.js";
import { ExitCode, runCommand } from "../output.js";
import { MODEL_FLAG, openModel } from "./common.js";
import { checkFlow, formatReport } from "../../check/index.js";
import type { FloatDType } from "../../engine/dtype.js";

export const checkSpec = defineCommand({
  name: "check",
  summary: "Check a model against the mathematics: round trips, log-dets vs autodiff Jacobians, triangularity, density paths, ∫p = 1 (2-D).",
  flags: {
    model: MODEL_FLAG,
    points: { type: "integer", min: 1, max: 4096, defaultText: "16 (D ≤ 64) or 4", description: "points of the round trips and density checks (z from the model's base, x = f(z))" },
    "jacobian-points": { type: "integer", min: 0, max: 64, defaultText: "2 (D ≤ 64) or 1", description: "points whose full autodiff Jacobian is computed (0 skips the log-det vs Jacobian checks)" },
    jacobian: { type: "string", choices: ["auto", "full", "none"], default: "auto", description: "auto: on the model itself, except conv-conditioned image models (then on the same architecture at 8×8 pixels with the model's conv weights); full: always on the model (minutes at D = 784 with conv conditioners); none" },
    dtype: { type: "string", choices: ["float64", "float32"], default: "float64", description: "precision of the check (a float32 model's params are copied to float64 for it)" },
    seed: { type: "integer", min: 0, default: 1, description: "seed of the points and contexts" },
  },
  notes: [
    "Examples:",
    "  nflow check --model moons.nflow",
    "  nflow check --model models/mnist-maf-conditional.nflow --points 2 --json",
    "",
    "Every figure is printed with its tolerance; --json gives the whole report (points included).",
    "Conditional models are checked at N(0, 1) contexts in their standardised units.",
    "Exit code 0 when every check passes, 1 when any fails (the report says which), 3 when the model",
    "file cannot be read. Tolerances and what each check computes: docs/check.md.",
  ],
});

export async function run(argv: string[]): Promise<number> {
  return runCommand(checkSpec, argv, async ({ args, out }) => {
    const v = args.values;
    const model = await openModel(v.model, out);
    try {
      out.note(`checking ${v.model} (D = ${model.dim}${model.contextDim ? `, context ${model.contextDim}` : ""})…`);
      const report = checkFlow(model, {
        dtype: v.dtype as FloatDType,
        seed: v.seed,
        jacobian: v.jacobian as "auto" | "full" | "none",
        ...(v.points !== undefined ? { points: v.points } : {}),
        ...(v["jacobian-points"] !== undefined ? { jacobianPoints: v["jacobian-points"] } : {}),
      });
      const lines = [`${v.model}: ${formatReport(report)[0]}`, ...formatReport(report).slice(1)];
      if (report.pass) {
        out.result({ model: v.model, ...report }, lines);
        return ExitCode.Ok;
      }
      out.print(lines.join("\n"));
      const failed = report.checks.filter((c) => c.status === "fail").map((c) => (c.layer ? `${c.id} [${c.layer}]` : c.id));
      return out.fail(`${v.model}: ${failed.length} check(s) failed: ${failed.join(", ")}`, ExitCode.Failure, { model: v.model, ...report });
    } finally {
      model.dispose();
    }
  });
}
