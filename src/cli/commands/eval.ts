/**
 * `nflow eval`: mean test log-likelihood of a model on a toy (fresh samples) or a table, in nats
 * (and bits per dimension for discrete data); for toys with a known entropy, the KL gap
 * NLL − H = KL(p‖q) ≥ 0.
 */
import { statSync } from "node:fs";
import { defineCommand, UsageError } from "../args.js";
import { ExitCode, runCommand } from "../output.js";
import { LABEL_COLUMN, resolveData } from "../data.js";
import { meanAndStdError } from "../../train/evaluate.js";
import { bitsPerDim, checkLevels, dequantizeSeeded, EVAL_NOISE_SEED, logitLogDet } from "../../data/dequantize.js";
import type { FlowModel } from "../../model/model.js";
import { inSlices, MODEL_FLAG, openModel } from "./common.js";
import { evaluateVariationalModel } from "./vi.js";

export const evalSpec = defineCommand({
  name: "eval",
  summary: "Mean test log-likelihood of a model (nats; bits/dim of dequantised discrete data such as images; KL gap for toys with a known entropy).",
  flags: {
    model: MODEL_FLAG,
    data: { type: "string", placeholder: "toy|file|images", defaultText: "required, except for a model from nflow vi", description: "a toy name (fresh test samples), a table file (a folder with meta.json: its test part), or images (mnist, fashion-mnist:DIR: the 10,000 test images; an …-idx3-ubyte[.gz] file)" },
    n: { type: "integer", min: 1, defaultText: "20000 toy samples; every row of a file or every test image", description: "number of test rows" },
    seed: { type: "integer", min: 0, defaultText: "training seed + 1000003", description: "seed of the toy test samples (differs from the training samples)" },
  },
  notes: [
    "Examples:",
    "  nflow eval --model moons.nflow --data moons --n 20000",
    "  nflow eval --model mnist-realnvp.nflow --data mnist",
    "  nflow eval --model q.nflow                    (a model from nflow vi: ELBO, log Z ± SE and ESS from --n samples of q)",
    "",
    "Dequantised models (images): the test pixels b are evaluated at x = (b + u)/256 with a fixed noise",
    "seed, and bits/dim = (NLL_x + D·log 256)/(D·ln 2) is in the discrete pixel space; with a logit layer",
    "the logit-space log-likelihood (the MAF paper's figure) is reported too.",
  ],
});

export async function run(argv: string[]): Promise<number> {
  return runCommand(evalSpec, argv, async ({ args, out }) => {
    const v = args.values;
    const model = await openModel(v.model, out);
    try {
      if (v.data === undefined) {
        if (!model.training?.variational) throw new UsageError(`--data is required: ${v.model} was fitted to data (only a model from nflow vi is evaluated against its target)`);
        const seed = v.seed ?? ((model.training.seed ?? 0) + 1000003) >>> 0;
        const { result, lines } = await evaluateVariationalModel(model, { n: v.n ?? 20000, seed, modelPath: v.model }, out);
        out.result(result, lines);
        return ExitCode.Ok;
      }
      const seed = v.seed ?? ((model.training?.seed ?? 0) + 1000003) >>> 0;
      const contextColumns = evalContextColumns(model);
      const data = resolveData(v.data, {
        n: v.n ?? 20000,
        seed,
        part: "test",
        ...(v.n !== undefined ? { imageCount: v.n } : {}),
        ...(contextColumns ? { contextColumns } : {}),
      });
      const n = data.toy ? data.n : Math.min(data.n, v.n ?? data.n);
      if (data.partMissing)
        out.warn(`${v.data} has no "${data.partMissing}" part: evaluating on all its rows, which may include rows the model trained on`);
      else if (!data.toy && !data.image && statSync(v.data).isFile())
        // one table (CSV, .npy, a binary): nothing marks its test rows, so all are evaluated
        out.warn(`${v.data} is one table without a test part: evaluating all its ${n} rows, which may include rows the model trained on`);
      if (data.dim !== model.dim)
        return out.fail(`${v.data}: has ${data.dim} columns, the model expects ${model.dim}`, ExitCode.BadInput);
      const K = model.contextDim;
      if (K > 0 && !data.context)
        return out.fail(`${v.data}: this model is conditional; the file needs its context column(s)`, ExitCode.BadInput);
      const dq = model.dataInfo?.dequantization ?? null;
      const raw = data.x.subarray(0, n * data.dim);
      if (dq) checkLevels(raw, dq.levels, data.dim, v.data);
      // the fixed evaluation noise: every evaluation of this model on these data sees the same x
      const x = dq ? dequantizeSeeded(raw, dq.levels, EVAL_NOISE_SEED) : raw;
      const lp = inSlices(out, "evaluating", n, data.dim, x, data.context?.subarray(0, n * K), K, 1, (xs, c) => model.logProb(xs, c));
      const { mean, se } = meanAndStdError(lp);
      let discrete = true;
      for (let i = 0; i < n * data.dim && discrete; i++) discrete = Number.isInteger(raw[i]!);
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
      if (dq) {
        result.dequantization = dq;
        result.bitsPerDim = bitsPerDim(mean, data.dim, dq.levels);
        lines.push(`  bits/dim             ${(result.bitsPerDim as number).toFixed(4)} (discrete ${dq.levels}-level space, ± ${(se / (data.dim * Math.LN2)).toFixed(4)})`);
        const alpha = model.config.logit;
        if (alpha !== null) {
          const { mean: ldj } = meanAndStdError(logitLogDet(x, n, data.dim, alpha));
          result.meanLogLikelihoodLogit = mean - ldj;
          lines.push(`  logit-space log q(y) ${(mean - ldj).toFixed(4)} nats (y = logit(${alpha} + (1 − 2·${alpha})·x))`);
        }
        lines[1] += " (density of the dequantised data on [0,1]^D)";
      } else if (discrete) {
        out.warn(
          `${v.data}: the values are integers but the model was trained without dequantisation, so its density at integer points is not a probability and no bits/dim are reported (train with --dequantize yes)`,
        );
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

/**
 * The context columns to ask of `--data`: a class-conditional image model stores its one-hot
 * columns as label=0 … label=K−1, which image data provide as the context column "label".
 */
function evalContextColumns(model: FlowModel): string[] | undefined {
  const columns = model.contextInfo?.columns ?? undefined;
  if (columns && columns.length > 0 && columns.every((c, k) => c === `${LABEL_COLUMN}=${k}`)) return [LABEL_COLUMN];
  return columns;
}
