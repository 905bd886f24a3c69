/**
 * `nflow train`: fit a flow to a toy or a table by maximum likelihood and save the model file.
 *
 * A run that does not finish well never replaces a file the user had: a diverged run (exit 4), an
 * interrupted one (Ctrl-C: exit 130; SIGTERM: 143) or one where no step improved on the initial
 * parameters (exit 4) writes its best parameters to --out only when --out does not exist yet, and
 * otherwise BESIDE it (model.diverged.nflow, model.interrupted.nflow) and says where; a run whose
 * best is the untrained initial state saves nothing.
 */
import { existsSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { defineCommand, UsageError } from "../args.js";
import { ExitCode, runCommand, type Output, type Progress } from "../output.js";
import { checkOutputPath, resolveData, type DataSet } from "../data.js";
import { FLOW_KINDS, type BaseConfig, type FlowKind, type MaskKind, type MixingKind, type PermutationKind, type TransformerKind } from "../../flows/config.js";
import { fit } from "../../model/fit.js";
import type { FlowModel } from "../../model/model.js";
import { parseSchedule, type Schedule } from "../../train/schedules.js";
import { describeDivergence } from "../../train/divergence.js";
import type { ProgressEvent } from "../../train/loop.js";
import { threadCount } from "../../engine/threads.js";

/** Default number of layers of each family (the C1 benchmark uses 8 affine couplings). */
export const DEFAULT_LAYERS: Record<FlowKind, number> = { nice: 8, realnvp: 8, maf: 5, iaf: 5 };
/** Steps when neither --steps nor --epochs is given. */
export const DEFAULT_STEPS = 2000;

/**
 * Defaults for image data, per family: the published shapes sized for two CPU cores —
 * nice = docs/reference/CONFIGS-IMAGES.md C6 (NICE paper with 4 hidden layers instead of 5), realnvp = C5
 * (multi-scale, resnet conditioners of 2 blocks × 32 maps), maf = the MAF paper's MNIST MAF(5)
 * (one hidden layer of 1024, logit λ = 1e-6).
 */
export const IMAGE_DEFAULTS: Record<FlowKind, { layers: number; hidden: number[]; batch: number; eps?: number; microBatch?: number }> = {
  nice: { layers: 4, hidden: [1000, 1000, 1000, 1000], batch: 200, eps: 1e-4 },
  // 16 images per gradient pass: a pass over 64 at 28×28 needs more than wasm's 4 GiB
  realnvp: { layers: 3, hidden: [32, 32], batch: 64, microBatch: 16 },
  maf: { layers: 5, hidden: [1024], batch: 128 },
  iaf: { layers: 5, hidden: [1024], batch: 128 },
};

export const trainSpec = defineCommand({
  name: "train",
  summary: "Fit a normalizing flow to data by maximum likelihood and save it as a model file.",
  flags: {
    flow: { type: "string", choices: FLOW_KINDS, defaultText: "realnvp; maf for 1-column data (a coupling needs ≥ 2)", description: "architecture" },
    data: { type: "string", required: true, placeholder: "toy|file|images", description: "a toy (moons, 8gaussians, checkerboard, circles, rings, pinwheel, 2spirals, swissroll), a table (.csv, .npy, .f32/.f64 + meta.json, or a folder with meta.json), or images: mnist, fashion-mnist:DIR, FILE-idx3-ubyte[.gz] (labels beside it)" },
    layers: { type: "integer", min: 1, defaultText: "8 for nice/realnvp, 5 for maf/iaf", description: "number of coupling / autoregressive layers" },
    hidden: { type: "integers", min: 1, defaultText: "64,64; images: nice 1000×4, realnvp 32,32 (resnet: one entry per residual block), maf/iaf 1024", description: "hidden layer widths of every conditioner network" },
    steps: { type: "integer", min: 1, defaultText: `${DEFAULT_STEPS} unless --epochs is given`, description: "optimisation steps" },
    epochs: { type: "integer", min: 1, defaultText: "off", description: "passes over the training rows (instead of --steps)" },
    batch: { type: "integer", min: 1, defaultText: "256; images: nice 200, realnvp 64, maf/iaf 128", description: "minibatch size" },
    lr: { type: "number", min: 0, default: 1e-3, description: "Adam learning rate" },
    schedule: { type: "string", placeholder: "constant|cosine[:W]|step:N[:γ]", default: "constant", description: "learning-rate schedule: cosine decay to 0 (after W warm-up steps), or ×γ (default 0.5) every N steps" },
    weightDecay: { type: "number", min: 0, defaultText: "off", description: "decoupled (AdamW) weight decay λ: every step also shrinks the parameters by lr·λ·p (e.g. 0.1; a regulariser for small tables)" },
    clipNorm: { type: "number", min: 0, defaultText: "off", description: "clip the gradient to this global L2 norm (e.g. 5) against exploding steps" },
    base: { type: "string", placeholder: "normal|diag-normal|logistic|mog:K", defaultText: "normal; images: nice logistic, class-conditional a conditional Gaussian", description: "base density p(z): standard normal, a trained diagonal Gaussian, standard logistic, or a mixture of K Gaussians" },
    mask: { type: "string", choices: ["half", "alternating"], defaultText: "half", description: "coupling mask of nice/realnvp on vectors (flipped every layer)" },
    permutation: { type: "string", choices: ["none", "reverse", "random", "lu"], defaultText: "none for nice/realnvp, reverse for maf/iaf", description: "mixing between layers: a fixed permutation, or lu: a trainable LU linear map (starts as reverse)" },
    mixing: { type: "string", choices: ["lu", "permutation", "none"], defaultText: "as --permutation", description: "Glow's name for --permutation: lu (trainable LU linear map; on an image realnvp, invertible 1×1 convolutions), permutation (a fixed one: reverse unless --permutation random), none" },
    batchNorm: { type: "boolean", description: "batch normalisation as a bijection between layers (running statistics in evaluation)" },
    actnorm: { type: "boolean", description: "Glow's ActNorm before every layer (per channel on images), initialised from the first batch to zero mean and unit variance (realnvp, maf, iaf)" },
    scaleBound: { type: "number", min: 0, defaultText: "the config default", description: "bound B of the affine log-scales (s = B·tanh(ŝ/B); realnvp, maf, iaf): smaller is more stable" },
    transformer: { type: "string", choices: ["affine", "additive", "spline"], defaultText: "additive for nice, affine otherwise", description: "elementwise map of every coupling / autoregressive layer: spline is a monotonic rational-quadratic spline (Neural Spline Flows: RQ-NSF (C) with realnvp, RQ-NSF (AR) with maf/iaf)" },
    bins: { type: "integer", min: 2, max: 256, defaultText: "8", description: "--transformer spline: number of bins K" },
    bound: { type: "number", min: 0, defaultText: "3", description: "--transformer spline: the spline lives on [−B, B] (identity outside): choose B to cover the (standardised) data" },
    microBatch: { type: "integer", min: 1, defaultText: "the batch; images with realnvp: 16", description: "rows per gradient pass; the passes' gradients are summed into one update (bounds the memory of a step)" },
    eps: { type: "number", min: 0, defaultText: "1e-8; images with nice: 1e-4 (as the NICE paper)", description: "Adam ε" },
    val: { type: "number", min: 0, max: 0.9, default: 0.1, description: "share of the rows held out for validation (best model and early stopping)" },
    patience: { type: "integer", min: 1, defaultText: "off (train all steps)", description: "stop after this many evaluations (every 100 steps) without improvement" },
    seed: { type: "integer", min: 0, default: 0, description: "seed of the initialisation, the toy samples, the split and the shuffles" },
    dtype: { type: "string", choices: ["float32", "float64"], default: "float32", description: "float type of the parameters" },
    contextColumn: { type: "string", placeholder: "name[,name]", defaultText: "none (unconditional)", description: "table column(s) to condition on: trains p(x | context)" },
    n: { type: "integer", min: 2, defaultText: "20000 toy samples; all training images", description: "number of toy samples to train on, or the first N training images" },
    valN: { type: "integer", min: 0, defaultText: "2000", description: "images: validation images (the first N of the validation part; 0: none)" },
    evalEvery: { type: "integer", min: 1, defaultText: "100; images: 500", description: "steps between validation evaluations (best model, early stopping, progress)" },
    dequantize: { type: "string", choices: ["auto", "yes", "no"], default: "auto", description: "model integer pixels b as x = (b + u)/256, fresh uniform u each batch, so the density is on [0,1]^D and bits/dim are exact bounds (auto: yes for images)" },
    logit: { type: "string", placeholder: "alpha|none", defaultText: "images: realnvp 0.05, maf/iaf 1e-6, nice none", description: "logit preprocessing y = logit(α + (1 − 2α)x) at the data end (its log-det is in log p(x))" },
    scales: { type: "integer", min: 1, max: 8, defaultText: "2", description: "images, realnvp: number of scales (a squeeze and a factor-out between scales)" },
    standardize: { type: "string", choices: ["auto", "yes", "no"], default: "auto", description: "standardise each column with the training rows' mean and std (auto: files yes, toys no)" },
    out: { type: "string", default: "model.nflow", placeholder: "file", description: "where to save the model file" },
    // Acted on by main.ts before the engine loads (engine/threads.ts); declared here for --help and parsing.
    threads: { type: "boolean", description: "run large kernels on worker threads, one per core: faster for wide networks (hidden ≥ 256) on an idle machine (also NFLOW_THREADS=1, or =N for N threads)" },
  },
  notes: [
    "Examples:",
    "  nflow train --flow realnvp --data moons --steps 2000 --out moons.nflow",
    "  nflow train --flow maf --data table.csv --hidden 128,128 --epochs 50 --patience 5 --out table.nflow",
    "  nflow train --flow realnvp --data mnist --steps 5000 --out mnist-realnvp.nflow",
    "  nflow train --flow maf --data mnist --context-column label --steps 5000 --out mnist-maf.nflow   (class-conditional)",
    "",
    "Images (--data mnist | fashion-mnist:DIR | FILE-idx3-ubyte[.gz]): the standard split (50,000 train / 10,000",
    "validation / 10,000 test for MNIST), pixels dequantised, logit preprocessing for realnvp/maf; realnvp is",
    "RealNVP's multi-scale flow with residual conv conditioners, nice and maf work on the flattened image.",
    "MAF samples with 784 sequential passes per layer; IAF is the fast sampler (and the slow density).",
    "",
    "A run that diverges, is interrupted (Ctrl-C) or never improves on its initial parameters does not replace an",
    "existing --out: its best model goes beside it (NAME.diverged.nflow, NAME.interrupted.nflow) and the message says where.",
    "",
    "A run whose validation loss runs far above its best while the training loss stays near its best (overfitting:",
    "small tables with the default network) stops early with exit 0 and saves its best model; --weight-decay, a larger",
    "--val and --eval-every 20 --patience 10 are the knobs against it (docs/small-data.md measures them).",
    "",
    "Exit codes: 0 ok, 1 failure, 2 bad command line, 3 bad data file, 4 training diverged or did not improve,",
    "130 interrupted (Ctrl-C; 143 for SIGTERM), the best model so far saved.",
  ],
});

/** Runs `nflow train` with the words after the command name; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  return runCommand(trainSpec, argv, async ({ args, out }) => {
    const v = args.values;
    checkOutputPath(v.out, "--out", { "--data": v.data });
    if (v.steps !== undefined && v.epochs !== undefined) throw new UsageError("--steps and --epochs: give one of them (the length of training)");
    if (v.out === "-") throw new UsageError("--out: a model file needs a file name, not -");
    const contextColumns = v.contextColumn?.split(",").map((s) => s.trim()).filter(Boolean);
    const data = resolveData(v.data, {
      n: v.n ?? 20000,
      seed: v.seed,
      part: "train",
      ...(v.n !== undefined ? { imageCount: v.n } : {}),
      ...(contextColumns ? { contextColumns } : {}),
    });
    // a coupling splits the columns in two: 1-column data get an autoregressive flow unless one was asked for
    const flow = (v.flow ?? (data.dim === 1 ? "maf" : "realnvp")) as FlowKind;
    const image = data.image;
    const imageDefaults = image ? IMAGE_DEFAULTS[flow] : undefined;
    const dequantize = v.dequantize === "auto" ? image !== undefined : v.dequantize === "yes";
    const standardize = v.standardize === "auto" ? data.toy === undefined && image === undefined && !dequantize : v.standardize === "yes";
    const layers = v.layers ?? imageDefaults?.layers ?? DEFAULT_LAYERS[flow];
    const hidden = v.hidden ?? imageDefaults?.hidden ?? [64, 64];
    const batch = v.batch ?? imageDefaults?.batch ?? 256;
    const eps = v.eps ?? imageDefaults?.eps;
    const defaultMicro = imageDefaults?.microBatch;
    const microBatch = v.microBatch ?? (defaultMicro !== undefined && batch % defaultMicro === 0 ? defaultMicro : undefined);
    const logit = v.logit === undefined ? undefined : parseLogit(v.logit);
    const schedule = parseScheduleFlag(v.schedule);
    if (v.clipNorm !== undefined && !(v.clipNorm > 0)) throw new UsageError(`--clip-norm: expected a number > 0, got ${v.clipNorm}`);
    if (v.scaleBound !== undefined && !(v.scaleBound > 0)) throw new UsageError(`--scale-bound: expected a number > 0, got ${v.scaleBound}`);
    if ((v.bins !== undefined || v.bound !== undefined) && v.transformer !== "spline")
      throw new UsageError(`${v.bins !== undefined ? "--bins" : "--bound"}: only with --transformer spline`);
    if (v.bound !== undefined && !(v.bound > 0)) throw new UsageError(`--bound: expected a number > 0, got ${v.bound}`);
    if (v.scales !== undefined && !(image && flow === "realnvp")) throw new UsageError("--scales: only for --flow realnvp on image data");
    const validation = image ? imageValidation(v.data, v.valN ?? 2000, contextColumns, data) : undefined;
    // class-conditional image models: the one-hot label reaches the base too (a conditional Gaussian), not only the conditioners
    const base: BaseConfig | undefined =
      v.base !== undefined ? parseBaseFlag(v.base) : image && data.context && flow !== "nice" ? { kind: "conditional-diag-normal" } : undefined;
    out.note(
      `training ${flow} (${layers} layers, hidden ${hidden.join(",")}) on ${data.source}: ${data.n} ${image ? `images [${image.shape.join(", ")}]` : `rows × ${data.dim} columns`}` +
        (validation ? `, ${validation.n} validation images` : ""),
    );

    const progress = trainingProgress(out, "loss");
    const interrupt = interruptOnSignals(out);
    const model = await fit(
      {
        flow,
        layers,
        hidden,
        dtype: v.dtype as "float32" | "float64",
        seed: v.seed,
        ...(image ? { image: image.shape } : {}),
        ...(logit !== undefined ? { logit } : {}),
        ...(v.scales !== undefined ? { scales: v.scales } : {}),
        ...(base ? { base } : {}),
        ...(v.scaleBound !== undefined ? { scaleBound: v.scaleBound } : {}),
        ...(v.mask !== undefined ? { mask: v.mask as MaskKind } : {}),
        ...(v.permutation !== undefined ? { permutation: v.permutation as PermutationKind } : {}),
        ...(v.batchNorm ? { batchNorm: true } : {}),
        ...(v.mixing !== undefined ? { mixing: v.mixing as MixingKind } : {}),
        ...(v.actnorm ? { actnorm: true } : {}),
        ...(v.transformer !== undefined ? { transformer: v.transformer as TransformerKind } : {}),
        ...(v.bins !== undefined ? { bins: v.bins } : {}),
        ...(v.bound !== undefined ? { bound: v.bound } : {}),
      },
      { x: data.x, n: data.n, dim: data.dim, ...(data.context ? { context: data.context } : {}) },
      {
        ...(v.steps !== undefined || v.epochs === undefined ? { steps: v.steps ?? DEFAULT_STEPS } : { epochs: v.epochs }),
        batchSize: batch,
        lr: v.lr,
        schedule,
        ...(v.clipNorm !== undefined ? { clipNorm: v.clipNorm } : {}),
        ...(v.weightDecay !== undefined ? { weightDecay: v.weightDecay } : {}),
        signal: interrupt.signal,
        ...(eps !== undefined ? { eps } : {}),
        // evaluation in passes of the same size: jax-js's wasm allocator reuses a freed buffer only for
        // its own size class, so a second set of activation sizes would fragment its 4 GiB
        ...(microBatch !== undefined ? { microBatchSize: microBatch, evalBatchSize: microBatch } : {}),
        validationFraction: v.val,
        ...(validation ? { validation } : {}),
        ...(dequantize ? { dequantize: { kind: "uniform" as const, levels: image?.levels ?? 256 } } : {}),
        ...(v.evalEvery !== undefined || image ? { evalEvery: v.evalEvery ?? 500 } : {}),
        ...(v.patience !== undefined ? { patience: v.patience } : {}),
        seed: v.seed,
        standardize,
        ...(image ? {} : { columns: data.columns }), // images: pixels p0…p{D−1} need no stored names
        ...(data.contextColumns ? { contextColumns: data.contextColumns } : {}),
        source: data.source,
        onProgress: progress.onProgress,
      },
    ).finally(() => interrupt.dispose());
    try {
      progress.finish();
      const t = model.training!;
      const info = model.info();
      const run = await saveTrainingRun(
        model,
        {
          out,
          outPath: v.out,
          lr: v.lr,
          interruptExit: interrupt.exitCode(),
          noImprovementDetail: `best ${t.monitor} NLL ${t.bestValidationLoss?.toFixed(4) ?? "n/a"} at step 0, `,
        },
        (saved) => ({
          model: saved,
          flow,
          layers,
          hidden,
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
        }),
      );
      if (run.exit !== undefined) return run.exit;
      const result = run.result;
      const loss = t.bestValidationLoss === null ? "n/a" : `${t.bestValidationLoss.toFixed(4)} nats`;
      out.result(result, [
        `trained ${flow} (${layers} layers, hidden ${hidden.join(",")}, ${info.parameterCount} parameters) on ${data.source}`,
        `  ${t.steps} steps in ${t.wallTimeSec.toFixed(1)} s (${t.stopReason}); best ${t.monitor} NLL ${loss} at step ${t.bestStep}`,
        ...(t.stopReason === "early-stopped" ? [`  ${t.message}`] : []),
        `saved ${v.out}`,
      ]);
      return ExitCode.Ok;
    } finally {
      model.dispose();
    }
  });
}

/** What to change after a diverged or useless run: every knob named is a flag of `nflow train`. */
/**
 * The progress bar of a training run (`nflow train`, `nflow vi`): made at the first event, "compiling…"
 * until the first step, then the steps with the loss (and validation loss) beside the bar.
 */
export function trainingProgress(out: Output, lossName: string): { onProgress: (e: ProgressEvent) => void; finish(): void } {
  let progress: Progress | undefined;
  return {
    onProgress: (e) => {
      progress ??= out.progress({ label: "compiling…", total: e.totalSteps, unit: "step" });
      if (e.phase === "compiling") return;
      progress.setLabel("training");
      if (e.phase === "done") {
        progress.finish();
        return;
      }
      progress.update(e.step, { [lossName]: e.trainLoss, ...(e.valLoss !== undefined ? { val: e.valLoss } : {}) });
    },
    finish: () => progress?.finish(),
  };
}

/**
 * Saves a finished run and reports a failed one. A run that succeeded goes to `outPath`; one that was
 * interrupted, diverged or never improved on its initial parameters goes beside it (saveBeside) and
 * ends with a one-line failure: interrupted → the signal's exit code, diverged or no improvement →
 * ExitCode.Diverged, with what to try. Returns the saved path and, for a failure, the exit code.
 */
export async function saveTrainingRun(
  model: FlowModel,
  o: { out: Output; outPath: string; lr: number; interruptExit: ExitCode; noImprovementDetail: string },
  resultFor: (saved: string | null) => Record<string, unknown>,
): Promise<{ saved: string | null; result: Record<string, unknown>; exit?: number }> {
  const t = model.training!;
  const failed = t.stopReason === "diverged" || t.stopReason === "aborted" || t.bestStep === 0;
  const saved = failed ? await saveBeside(model, o.outPath, t.stopReason === "aborted" ? "interrupted" : "diverged") : (await model.save(o.outPath), o.outPath);
  const result = resultFor(saved);
  if (!failed) return { saved, result };
  const where = saved === null ? "Nothing was saved (the best model is the untrained one)" : `The best model (step ${t.bestStep}) was saved to ${saved}`;
  const kept = saved !== o.outPath && existsSync(o.outPath) ? `; ${o.outPath} was left as it was` : "";
  if (t.stopReason === "aborted") return { saved, result, exit: o.out.fail(`training interrupted at step ${t.steps}. ${where}${kept}.`, o.interruptExit, result) };
  const what =
    t.stopReason === "diverged"
      ? t.divergence
        ? describeDivergence(t.divergence)
        : "training diverged"
      : `no step improved on the initial parameters (${o.noImprovementDetail}${t.steps} steps)`;
  return { saved, result, exit: o.out.fail(`${what}. ${where}${kept}. ${DIVERGENCE_ADVICE(o.lr)}`, ExitCode.Diverged, result) };
}

export const DIVERGENCE_ADVICE = (lr: number): string =>
  `Try a lower --lr (e.g. ${(lr / 10).toPrecision(2)}), --clip-norm 5, --scale-bound 2 or --schedule cosine.`;

/**
 * Saves a run that did not finish well without replacing anything: to `out` when it does not
 * exist, else to NAME.<tag>.nflow beside it (NAME.<tag>-2.nflow … when that exists too).
 * Saves nothing and returns null when the best params are the initial ones.
 */
export async function saveBeside(model: FlowModel, out: string, tag: string): Promise<string | null> {
  if (model.training!.bestStep === 0) return null;
  let path = out;
  if (existsSync(out)) {
    const ext = extname(out);
    const stem = join(dirname(out), basename(out, ext));
    path = `${stem}.${tag}${ext || ".nflow"}`;
    for (let i = 2; existsSync(path); i++) path = `${stem}.${tag}-${i}${ext || ".nflow"}`;
  }
  await model.save(path);
  return path;
}

/**
 * Ctrl-C (SIGINT) and SIGTERM during training: the first one aborts the run after the current
 * step (the trainer returns its best params, which are then saved); a second one quits at once.
 * Exit code 128 + the signal number, as shells report a killed command.
 */
export function interruptOnSignals(out: Output): { signal: AbortSignal; exitCode(): ExitCode; dispose(): void } {
  const controller = new AbortController();
  let code = ExitCode.Interrupted;
  const handlers: [NodeJS.Signals, () => void][] = (["SIGINT", "SIGTERM"] as const).map((name) => [
    name,
    () => {
      const exit = name === "SIGINT" ? ExitCode.Interrupted : ExitCode.Terminated;
      if (controller.signal.aborted) process.exit(exit);
      code = exit;
      controller.abort();
      out.note(`${name === "SIGINT" ? "Ctrl-C" : name}: stopping after this step and saving the best model so far (again to quit at once)`);
    },
  ]);
  for (const [name, h] of handlers) process.on(name, h);
  return {
    signal: controller.signal,
    exitCode: () => code,
    dispose: () => {
      for (const [name, h] of handlers) process.off(name, h);
    },
  };
}

/** `--base normal | diag-normal | logistic | mog:K` (plus the config's own kind names). */
function parseBaseFlag(text: string): BaseConfig {
  const [kind, arg, ...rest] = text.split(":");
  const bad = (): never => {
    throw new UsageError(`--base: expected normal, diag-normal, logistic or mog:K (K ≥ 1 components), got ${JSON.stringify(text)}`);
  };
  if (rest.length) return bad();
  switch (kind) {
    case "normal":
    case "standard-normal":
      return arg === undefined ? { kind: "standard-normal" } : bad();
    case "diag-normal":
      return arg === undefined ? { kind: "diag-normal" } : bad();
    case "logistic":
    case "standard-logistic":
      return arg === undefined ? { kind: "standard-logistic" } : bad();
    case "mog":
    case "mixture-of-gaussians": {
      const K = Number(arg);
      return arg !== undefined && Number.isInteger(K) && K >= 1 ? { kind: "mixture-of-gaussians", components: K } : bad();
    }
    default:
      return bad();
  }
}

/** `--schedule constant | cosine | cosine:W | step:N | step:N:γ`. */
export function parseScheduleFlag(text: string): Schedule {
  const [kind, ...rest] = text.split(":");
  const nums = rest.map(Number);
  const bad = (): never => {
    throw new UsageError(`--schedule: expected constant, cosine, cosine:WARMUP, step:N or step:N:GAMMA, got ${JSON.stringify(text)}`);
  };
  if (rest.some((r) => r.trim() === "") || nums.some((x) => !Number.isFinite(x))) bad();
  let schedule: Schedule;
  if (kind === "constant" && rest.length === 0) schedule = { kind: "constant" };
  else if (kind === "cosine" && rest.length <= 1) schedule = { kind: "cosine", ...(rest.length ? { warmupSteps: nums[0]! } : {}) };
  else if (kind === "step" && rest.length >= 1 && rest.length <= 2) schedule = { kind: "step", everySteps: nums[0]!, ...(rest.length > 1 ? { gamma: nums[1]! } : {}) };
  else return bad();
  try {
    return parseSchedule(schedule);
  } catch (error) {
    throw new UsageError(`--schedule ${text}: ${(error as Error).message}`);
  }
}

/** `--logit 0.05` or `--logit none`. */
function parseLogit(text: string): number | null {
  if (text === "none") return null;
  const a = Number(text);
  if (!(text.trim() !== "" && a >= 0 && a < 0.5)) throw new UsageError(`--logit: expected α in [0, 0.5) or "none", got ${JSON.stringify(text)}`);
  return a;
}

/**
 * The validation images of an image data set: the first `count` of its validation part (MNIST:
 * training images 50,000…), or undefined where the source has no split (then --val holds out a
 * share of the training rows) or count is 0.
 */
function imageValidation(spec: string, count: number, contextColumns: string[] | undefined, train: DataSet): DataSet | undefined {
  if (count === 0 || train.partMissing) return undefined;
  return resolveData(spec, { n: count, seed: 0, part: "validation", imageCount: count, ...(contextColumns ? { contextColumns } : {}) });
}
