/**
 * `nflow vi`: fit a flow q to an unnormalised target density p̃ by variational inference (reverse
 * KL, train/variational.ts) and save it as a model file whose training record names the target and
 * holds the ELBO, the importance-sampled log Z ± SE and the ESS. `nflow sample`, `plot` and `eval`
 * work on the result as on any model.
 *
 * Failures are handled as in `nflow train`: a diverged run (exit 4), an interrupted one (Ctrl-C:
 * exit 130) or one that never improved on its initial parameters (exit 4) never replaces an
 * existing --out (its best model goes beside it, or nothing is saved when the best is untrained).
 */
import { existsSync } from "node:fs";
import { defineCommand, UsageError } from "../args.js";
import { ExitCode, runCommand, type Output } from "../output.js";
import { checkOutputPath } from "../data.js";
import { FLOW_KINDS, type FlowKind, type PermutationKind, type TransformerKind } from "../../flows/config.js";
import { fitVariationalModel } from "../../model/variational.js";
import type { FlowModel } from "../../model/model.js";
import { estimateVariational } from "../../train/variational.js";
import { threadCount } from "../../engine/threads.js";
import { builtinTarget, TARGET_NAMES } from "../../targets/builtin.js";
import { loadTargetModule } from "../../targets/module.js";
import type { Target } from "../../targets/target.js";
import type { TrainingRecord } from "../../io/model-format.js";
import { recordedTarget } from "../variational-target.js";
import { interruptOnSignals, parseScheduleFlag, saveTrainingRun, trainingProgress, trainSpec } from "./train.js";

/** Optimisation steps by default. */
export const DEFAULT_VI_STEPS = 2000;

const shared = trainSpec.flags;

export const viSpec = defineCommand({
  name: "vi",
  summary: "Fit a flow to an unnormalised target density by variational inference (reverse KL) and save it as a model file.",
  flags: {
    target: {
      type: "string",
      required: true,
      placeholder: "name|file.mjs",
      description: `a built-in target (${TARGET_NAMES.join(", ")}) or a JavaScript module exporting logDensity(x, { np, columns }) (see docs/variational.md)`,
    },
    dim: { type: "integer", min: 1, defaultText: "the module's export dim, else 2", description: "dimension of a module target" },
    flow: { type: "string", choices: FLOW_KINDS, default: "iaf", description: "architecture of q (iaf: sampling and its density in one parallel pass)" },
    layers: { type: "integer", min: 1, default: 5, description: "number of autoregressive / coupling layers" },
    hidden: { type: "integers", min: 1, default: [64, 64], description: "hidden layer widths of every conditioner network" },
    steps: { type: "integer", min: 1, default: DEFAULT_VI_STEPS, description: "optimisation steps" },
    batch: { type: "integer", min: 1, default: 256, description: "samples of q per step (the Monte Carlo estimate of the ELBO)" },
    lr: shared.lr,
    schedule: shared.schedule,
    clipNorm: shared.clipNorm,
    permutation: shared.permutation,
    scaleBound: shared.scaleBound,
    transformer: shared.transformer,
    bins: shared.bins,
    bound: shared.bound,
    patience: { type: "integer", min: 1, defaultText: "off (train all steps)", description: "stop after this many evaluations (every 100 steps) without improvement of the ELBO" },
    samples: { type: "integer", min: 2, default: 20000, description: "samples of q for the final ELBO, log Z and ESS estimates" },
    seed: { type: "integer", min: 0, default: 0, description: "seed of the initialisation, of every step's samples and of the estimates" },
    dtype: shared.dtype,
    out: { type: "string", default: "q.nflow", placeholder: "file", description: "where to save the model file" },
    threads: shared.threads,
  },
  notes: [
    "Examples:",
    "  nflow vi --target mixture --steps 2000 --out q.nflow && nflow eval --model q.nflow",
    "  nflow vi --target funnel --flow iaf --layers 8 --hidden 64,64 --out funnel.nflow",
    "  nflow vi --target ./my-target.mjs --out mine.nflow",
    "",
    "q minimises E_q[log q(x) − log p̃(x)] = KL(q ‖ p) − log Z, i.e. maximises the ELBO ≤ log Z, with reparametrised",
    "samples x = f(z). The result reports the ELBO, log Ẑ = log mean exp(log p̃ − log q) ± its delta-method standard",
    "error, and the Kish effective sample size of the weights; a low ESS/N says q misses part of the target.",
    "",
    "A target module (.mjs) exports logDensity(x, { np, nn, columns }): x is an [N, D] array, the result log p̃ of",
    "every row ([N]), written with the array API (it is traced and differentiated); optionally dim and logZ.",
    "A logDensity of plain numbers (one row [x0, x1, …] in, a number out) works too, more slowly: it is evaluated",
    "outside the compiled step and differentiated by central differences.",
    "",
    "Exit codes: 0 ok, 2 bad command line or unknown target, 3 bad target module or target values,",
    "4 diverged or did not improve, 130 interrupted (the best model so far saved).",
  ],
});

/** The target of `--target`: a built-in name, or a module when the text looks like a file. */
async function resolveTarget(spec: string, dim: number | undefined): Promise<{ target: Target; path?: string }> {
  const looksLikeFile = /\.(mjs|js|cjs)$/i.test(spec) || spec.includes("/") || spec.includes("\\") || existsSync(spec);
  if (!looksLikeFile) {
    const target = builtinTarget(spec);
    if (dim !== undefined && dim !== target.dim) throw new UsageError(`--dim ${dim}: the built-in target ${target.name} is ${target.dim}-dimensional`);
    return { target };
  }
  return { target: await loadTargetModule(spec, dim === undefined ? {} : { dim }), path: spec };
}

/** Runs `nflow vi` with the words after the command name; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  return runCommand(viSpec, argv, async ({ args, out }) => {
    const v = args.values;
    checkOutputPath(v.out, "--out", { "--target": v.target });
    if (v.out === "-") throw new UsageError("--out: a model file needs a file name, not -");
    const schedule = parseScheduleFlag(v.schedule);
    if (v.clipNorm !== undefined && !(v.clipNorm > 0)) throw new UsageError(`--clip-norm: expected a number > 0, got ${v.clipNorm}`);
    if (v.scaleBound !== undefined && !(v.scaleBound > 0)) throw new UsageError(`--scale-bound: expected a number > 0, got ${v.scaleBound}`);
    if ((v.bins !== undefined || v.bound !== undefined) && v.transformer !== "spline")
      throw new UsageError(`${v.bins !== undefined ? "--bins" : "--bound"}: only with --transformer spline`);
    if (v.bound !== undefined && !(v.bound > 0)) throw new UsageError(`--bound: expected a number > 0, got ${v.bound}`);
    const { target, path } = await resolveTarget(v.target, v.dim);
    const flow = v.flow as FlowKind;
    if (target.hostLogDensity)
      out.note(`${target.name}: logDensity computes with plain numbers, so it runs outside the compiled step, its gradient by central differences (${2 * target.dim + 1} calls per sample; write it with the array API to go faster)`);
    out.note(`fitting ${flow} (${v.layers} layers, hidden ${v.hidden.join(",")}) to the target ${target.name} (${target.dim}-D) by variational inference`);

    const progress = trainingProgress(out, "-elbo");
    const interrupt = interruptOnSignals(out);
    const model = await fitVariationalModel(
      {
        flow,
        layers: v.layers,
        hidden: v.hidden,
        dtype: v.dtype as "float32" | "float64",
        seed: v.seed,
        ...(v.scaleBound !== undefined ? { scaleBound: v.scaleBound } : {}),
        ...(v.permutation !== undefined ? { permutation: v.permutation as PermutationKind } : {}),
        ...(v.transformer !== undefined ? { transformer: v.transformer as TransformerKind } : {}),
        ...(v.bins !== undefined ? { bins: v.bins } : {}),
        ...(v.bound !== undefined ? { bound: v.bound } : {}),
      },
      target,
      {
        steps: v.steps,
        batchSize: v.batch,
        lr: v.lr,
        schedule,
        ...(v.clipNorm !== undefined ? { clipNorm: v.clipNorm } : {}),
        ...(v.patience !== undefined ? { patience: v.patience } : {}),
        estimateSamples: v.samples,
        seed: v.seed,
        signal: interrupt.signal,
        ...(path !== undefined ? { targetPath: path } : {}),
        onProgress: progress.onProgress,
      },
    ).finally(() => interrupt.dispose());
    try {
      progress.finish();
      const t = model.training!;
      const info = model.info();
      const run = await saveTrainingRun(
        model,
        { out, outPath: v.out, lr: v.lr, interruptExit: interrupt.exitCode(), noImprovementDetail: "" },
        (saved) => ({
          model: saved,
          target: t.variational!.target,
          flow,
          layers: v.layers,
          hidden: v.hidden,
          dim: model.dim,
          parameterCount: info.parameterCount,
          steps: t.steps,
          bestStep: t.bestStep,
          stopReason: t.stopReason,
          wallTimeSec: t.wallTimeSec,
          message: t.message,
          threads: threadCount(),
          ...variationalFigures(t),
        }),
      );
      if (run.exit !== undefined) return run.exit;
      const result = run.result;
      out.result(result, [
        `fitted ${flow} (${v.layers} layers, hidden ${v.hidden.join(",")}, ${info.parameterCount} parameters) to ${target.name}`,
        `  ${t.steps} steps in ${t.wallTimeSec.toFixed(1)} s (${t.stopReason}); best step ${t.bestStep}`,
        ...variationalLines(t),
        `saved ${v.out}`,
      ]);
      return ExitCode.Ok;
    } finally {
      model.dispose();
    }
  });
}

/** The record's figures for a JSON result (ELBO, log Z ± SE, ESS, the true log Z where known). */
export function variationalFigures(t: TrainingRecord): Record<string, unknown> {
  const r = t.variational!;
  return {
    samples: r.samples,
    elbo: r.elbo,
    elboStdErr: r.elboStdErr,
    logZ: r.logZ,
    logZStdErr: r.logZStdErr,
    ess: r.ess,
    essFraction: r.essFraction,
    trueLogZ: r.trueLogZ,
    ...(r.trueLogZMethod ? { trueLogZMethod: r.trueLogZMethod } : {}),
  };
}

/** The same figures for people, one per line. */
export function variationalLines(t: TrainingRecord): string[] {
  const r = t.variational!;
  const f = (x: number | null, d = 4): string => (x === null ? "n/a" : x.toFixed(d));
  const lines = [
    `  ELBO                 ${f(r.elbo)} ± ${f(r.elboStdErr)} nats (${r.samples} samples of q)`,
    `  log Z (importance)   ${f(r.logZ)} ± ${f(r.logZStdErr)}`,
  ];
  if (r.trueLogZ !== null) {
    const gap = r.logZ === null ? "" : `; estimate − truth ${(r.logZ - r.trueLogZ).toFixed(4)}${r.logZStdErr ? ` = ${((r.logZ - r.trueLogZ) / r.logZStdErr).toFixed(1)} SE` : ""}`;
    lines.push(`  true log Z           ${r.trueLogZ.toFixed(4)} (${r.trueLogZMethod ?? "known"})${gap}`);
    if (r.elbo !== null) lines.push(`  KL(q ‖ p)            ${(r.trueLogZ - r.elbo).toFixed(4)} nats (true log Z − ELBO)`);
  }
  lines.push(`  ESS                  ${r.ess.toFixed(1)} of ${r.samples} (${(100 * r.essFraction).toFixed(1)}%)${r.essFraction < 0.1 ? ": low, q misses part of the target and log Z is unreliable" : ""}`);
  return lines;
}

/**
 * `nflow eval` on a model fitted by `nflow vi`: fresh estimates (ELBO, log Z ± SE, ESS from n
 * samples of q at `seed`) against the target its record names, beside the true log Z where known.
 * A module target that cannot be found any more is reported from the record alone, with a warning.
 */
export async function evaluateVariationalModel(
  model: FlowModel,
  o: { n: number; seed: number; modelPath: string },
  out: Output,
): Promise<{ result: Record<string, unknown>; lines: string[] }> {
  const rec = model.training!.variational!;
  const found = await recordedTarget(model);
  const target: Target | undefined = "target" in found ? found.target : undefined;
  if ("missing" in found) out.warn(`${found.missing}; reporting the estimates recorded at the end of training`);
  let t = model.training!;
  if (target) {
    const e = estimateVariational(model.flow, model.params, target, { samples: o.n, seed: o.seed });
    const fin = (x: number): number | null => (Number.isFinite(x) ? x : null);
    t = {
      ...t,
      variational: { ...rec, samples: e.n, elbo: fin(e.elbo), elboStdErr: fin(e.elboStdErr), logZ: fin(e.logZ), logZStdErr: fin(e.logZStdErr), ess: e.ess, essFraction: e.essFraction },
    };
  }
  return {
    result: { model: o.modelPath, target: rec.target, fresh: target !== undefined, seed: o.seed, ...variationalFigures(t) },
    lines: [`${o.modelPath}: q fitted to ${rec.target} by variational inference${target ? "" : " (recorded figures)"}:`, ...variationalLines(t)],
  };
}
