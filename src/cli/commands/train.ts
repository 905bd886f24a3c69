/**
 * `nflow train`: fit a flow to a toy or a table by maximum likelihood and save the model file.
 * A diverged run saves the best parameters seen and exits with code 4.
 */
import { defineCommand, UsageError } from "../args.js";
import { ExitCode, runCommand, type Progress } from "../output.js";
import { checkOutputPath, resolveData } from "../data.js";
import { FLOW_KINDS, type FlowKind } from "../../flows/config.js";
import { fit } from "../../model/fit.js";
import { threadCount } from "../../engine/threads.js";

/** Default number of layers of each family (the C1 benchmark uses 8 affine couplings). */
export const DEFAULT_LAYERS: Record<FlowKind, number> = { nice: 8, realnvp: 8, maf: 5, iaf: 5 };
/** Steps when neither --steps nor --epochs is given. */
export const DEFAULT_STEPS = 2000;

export const trainSpec = defineCommand({
  name: "train",
  summary: "Fit a normalizing flow to data by maximum likelihood and save it as a model file.",
  flags: {
    flow: { type: "string", choices: FLOW_KINDS, default: "realnvp", description: "architecture" },
    data: { type: "string", required: true, placeholder: "toy|file", description: "a toy (moons, 8gaussians, checkerboard, circles, rings, pinwheel, 2spirals, swissroll) or a table: .csv, .npy, .f32/.f64 + meta.json, or a folder with meta.json" },
    layers: { type: "integer", min: 1, defaultText: "8 for nice/realnvp, 5 for maf/iaf", description: "number of coupling / autoregressive layers" },
    hidden: { type: "integers", min: 1, default: [64, 64], description: "hidden layer widths of every conditioner network" },
    steps: { type: "integer", min: 0, defaultText: `${DEFAULT_STEPS} unless --epochs is given`, description: "optimisation steps" },
    epochs: { type: "integer", min: 1, defaultText: "off", description: "passes over the training rows (instead of --steps)" },
    batch: { type: "integer", min: 1, default: 256, description: "minibatch size" },
    lr: { type: "number", min: 0, default: 1e-3, description: "Adam learning rate" },
    val: { type: "number", min: 0, max: 0.9, default: 0.1, description: "share of the rows held out for validation (best model and early stopping)" },
    patience: { type: "integer", min: 1, defaultText: "off (train all steps)", description: "stop after this many evaluations (every 100 steps) without improvement" },
    seed: { type: "integer", min: 0, default: 0, description: "seed of the initialisation, the toy samples, the split and the shuffles" },
    dtype: { type: "string", choices: ["float32", "float64"], default: "float32", description: "float type of the parameters" },
    contextColumn: { type: "string", placeholder: "name[,name]", defaultText: "none (unconditional)", description: "table column(s) to condition on: trains p(x | context)" },
    n: { type: "integer", min: 2, default: 20000, description: "number of toy samples to train on (toys only)" },
    standardize: { type: "string", choices: ["auto", "yes", "no"], default: "auto", description: "standardise each column with the training rows' mean and std (auto: files yes, toys no)" },
    out: { type: "string", default: "model.nflow", placeholder: "file", description: "where to save the model file" },
    // Acted on by main.ts before the engine loads (engine/threads.ts); declared here for --help and parsing.
    threads: { type: "boolean", description: "run large kernels on worker threads, one per core: faster for wide networks (hidden ≥ 256) on an idle machine (also NFLOW_THREADS=1, or =N for N threads)" },
  },
  notes: [
    "Examples:",
    "  nflow train --flow realnvp --data moons --steps 2000 --out moons.nflow",
    "  nflow train --flow maf --data table.csv --hidden 128,128 --epochs 50 --patience 5 --out table.nflow",
    "",
    "Exit codes: 0 ok, 1 failure, 2 bad command line, 3 bad data file, 4 training diverged (best model saved).",
  ],
});

/** Runs `nflow train` with the words after the command name; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  return runCommand(trainSpec, argv, async ({ args, out }) => {
    const v = args.values;
    checkOutputPath(v.out);
    if (v.out === "-") throw new UsageError("--out: a model file needs a file name, not -");
    const flow = v.flow as FlowKind;
    const contextColumns = v.contextColumn?.split(",").map((s) => s.trim()).filter(Boolean);
    const data = resolveData(v.data, { n: v.n, seed: v.seed, part: "train", ...(contextColumns ? { contextColumns } : {}) });
    const standardize = v.standardize === "auto" ? data.toy === undefined : v.standardize === "yes";
    const layers = v.layers ?? DEFAULT_LAYERS[flow];
    out.note(`training ${flow} (${layers} layers, hidden ${v.hidden.join(",")}) on ${data.source}: ${data.n} rows × ${data.dim} columns`);

    let progress: Progress | undefined;
    const model = await fit(
      { flow, layers, hidden: v.hidden, dtype: v.dtype as "float32" | "float64", seed: v.seed },
      { x: data.x, n: data.n, dim: data.dim, ...(data.context ? { context: data.context } : {}) },
      {
        ...(v.steps !== undefined || v.epochs === undefined ? { steps: v.steps ?? DEFAULT_STEPS } : { epochs: v.epochs }),
        batchSize: v.batch,
        lr: v.lr,
        validationFraction: v.val,
        ...(v.patience !== undefined ? { patience: v.patience } : {}),
        seed: v.seed,
        standardize,
        columns: data.columns,
        ...(data.contextColumns ? { contextColumns: data.contextColumns } : {}),
        source: data.source,
        onProgress: (e) => {
          progress ??= out.progress({ label: "compiling…", total: e.totalSteps, unit: "step" });
          if (e.phase === "compiling") return;
          progress.setLabel("training");
          if (e.phase === "done") {
            progress.finish();
            return;
          }
          progress.update(e.step, { loss: e.trainLoss, ...(e.valLoss !== undefined ? { val: e.valLoss } : {}) });
        },
      },
    );
    try {
      progress?.finish();
      await model.save(v.out);
      const info = model.info();
      const t = model.training!;
      const result = {
        model: v.out,
        flow,
        layers,
        hidden: v.hidden,
        dim: model.dim,
        contextDim: model.contextDim,
        parameterCount: info.parameterCount,
        steps: t.steps,
        bestStep: t.bestStep,
        bestValidationLoss: t.bestValidationLoss,
        monitor: t.monitor,
        stopReason: t.stopReason,
        wallTimeSec: t.wallTimeSec,
        message: t.message,
        threads: threadCount(),
      };
      if (t.stopReason === "diverged") {
        return out.fail(`${t.message} The best model was saved to ${v.out}.`, ExitCode.Diverged, result);
      }
      const loss = t.bestValidationLoss === null ? "n/a" : `${t.bestValidationLoss.toFixed(4)} nats`;
      out.result(result, [
        `trained ${flow} (${layers} layers, hidden ${v.hidden.join(",")}, ${info.parameterCount} parameters) on ${data.source}`,
        `  ${t.steps} steps in ${t.wallTimeSec.toFixed(1)} s (${t.stopReason}); best ${t.monitor} NLL ${loss} at step ${t.bestStep}`,
        `saved ${v.out}`,
      ]);
      return ExitCode.Ok;
    } finally {
      model.dispose();
    }
  });
}
