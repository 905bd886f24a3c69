/**
 * `nflow eval`: mean test log-likelihood of a model on a toy (fresh samples) or a table, in nats
 * (and bits per dimension for discrete data); for toys with a known entropy, the KL gap
 * NLL − H = KL(p‖q) ≥ 0.
 */
import { defineCommand } from "../args.js";
import { ExitCode, runCommand } from "../output.js";
import { resolveData } from "../data.js";
import { meanAndStdError } from "../../train/evaluate.js";
import { inSlices, MODEL_FLAG, openModel } from "./common.js";

export const evalSpec = defineCommand({
  name: "eval",
  summary: "Mean test log-likelihood of a model (nats; bits/dim for discrete data; KL gap for toys with a known entropy).",
  flags: {
    model: MODEL_FLAG,
    data: { type: "string", required: true, placeholder: "toy|file", description: "a toy name (fresh test samples) or a table file (a folder with meta.json: its test part)" },
    n: { type: "integer", min: 1, defaultText: "20000 toy samples; every row of a file", description: "number of test rows" },
    seed: { type: "integer", min: 0, defaultText: "training seed + 1000003", description: "seed of the toy test samples (differs from the training samples)" },
  },
  notes: ["Example:", "  nflow eval --model moons.nflow --data moons --n 20000"],
});

export async function run(argv: string[]): Promise<number> {
  return runCommand(evalSpec, argv, async ({ args, out }) => {
    const v = args.values;
    const model = await openModel(v.model, out);
    try {
      const seed = v.seed ?? ((model.training?.seed ?? 0) + 1000003) >>> 0;
      const contextColumns = model.contextInfo?.columns ?? undefined;
      const data = resolveData(v.data, { n: v.n ?? 20000, seed, part: "test", ...(contextColumns ? { contextColumns } : {}) });
      const n = data.toy ? data.n : Math.min(data.n, v.n ?? data.n);
      if (data.partMissing)
        out.warn(`${v.data} has no "${data.partMissing}" part: evaluating on all its rows, which may include rows the model trained on`);
      if (data.dim !== model.dim)
        return out.fail(`${v.data}: has ${data.dim} columns, the model expects ${model.dim}`, ExitCode.BadInput);
      const K = model.contextDim;
      if (K > 0 && !data.context)
        return out.fail(`${v.data}: this model is conditional; the file needs its context column(s)`, ExitCode.BadInput);
      const lp = inSlices(out, "evaluating", n, data.dim, data.x.subarray(0, n * data.dim), data.context?.subarray(0, n * K), K, 1, (x, c) =>
        model.logProb(x, c),
      );
      const { mean, se } = meanAndStdError(lp);
      let discrete = true;
      for (let i = 0; i < n * data.dim && discrete; i++) discrete = Number.isInteger(data.x[i]!);
      const result: Record<string, unknown> = {
        model: v.model,
        data: data.source,
        n,
        meanLogLikelihood: mean,
        nll: -mean,
        nllStdErr: se,
      };
      const lines = [
        `${v.model} on ${data.source} (${n} ${data.toy ? "fresh samples" : "rows"}):`,
        `  mean log-likelihood  ${mean.toFixed(4)} ± ${se.toFixed(4)} nats`,
        `  NLL                  ${(-mean).toFixed(4)} nats`,
      ];
      if (discrete) {
        result.bitsPerDim = -mean / (data.dim * Math.LN2);
        lines.push(`  bits/dim             ${(result.bitsPerDim as number).toFixed(4)}`);
      }
      const entropy = data.toy?.entropy;
      if (entropy !== undefined) {
        result.entropy = entropy;
        result.klGap = -mean - entropy;
        lines.push(`  entropy of the toy   ${entropy.toFixed(4)} nats (${data.toy!.entropyMethod ?? "known"})`);
        lines.push(`  KL gap (NLL − H)     ${(-mean - entropy).toFixed(4)} nats`);
      }
      if (!Number.isFinite(mean)) lines.push("  (some rows have log-likelihood −∞ or NaN: they lie outside the model's support or overflow)");
      out.result(result, lines);
      return ExitCode.Ok;
    } finally {
      model.dispose();
    }
  });
}
