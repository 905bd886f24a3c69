/**
 * `nflow demo`: the whole story in one command. Trains a 2-D flow on a toy density (default
 * RealNVP on the two moons) in well under a minute, then writes the pictures that explain it — the
 * data, samples, the density, the flow layer by layer, the loss curves, the lecture's change of
 * variables, density estimation step by step — the model file, and a summary.md with the test NLL
 * and, where the toy's entropy is known, the KL gap NLL − H = KL(p ‖ p_θ).
 */
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { defineCommand } from "../args.js";
import { ExitCode, runCommand, type Progress } from "../output.js";
import { DEFAULT_LAYERS } from "./train.js";
import { FLOW_KINDS, type FlowKind } from "../../flows/config.js";
import { TOY_NAMES, sampleToy, toyInfo, type ToyInfo } from "../../data/toys.js";
import { fit } from "../../model/fit.js";
import type { FlowModel } from "../../model/model.js";
import { writeFileAtomic } from "../../io/atomic.js";
import { nodeCanvasFactory, savePng, type NodeCanvas } from "../../plot/node-canvas.js";
import { changeOfVariablesFigure, changeOfVariablesNumbers } from "../../plot/change-of-variables.js";
import { formatFraction } from "../../plot/ticks.js";
import { dataPicture, densityPicture, densityStepsPicture, layersPicture, lossPicture, samplesPicture, type PictureInput } from "../pictures.js";

/**
 * Default budget, measured on the 2-core machines: RealNVP with 8 affine couplings, conditioners
 * 32-32, batch 256, 1500 Adam steps (lr 3e-3, cosine decay) train in about 25 s (≈ 16 ms/step)
 * and the whole demo with its pictures takes about 30 s, leaving room for a busy machine, for a
 * test KL gap of about 0.04 nats on moons. (Hidden 64-64 reaches ≈ 0.03 but costs ≈ 25 ms/step.)
 */
export const DEMO_STEPS = 1500;
export const DEMO_HIDDEN: readonly number[] = [32, 32];
export const DEMO_LR = 3e-3;
/** Held-out samples for the test NLL. */
export const DEMO_TEST_SAMPLES = 5000;

export const demoSpec = defineCommand({
  name: "demo",
  summary: "Train a 2-D flow on a toy in under a minute and write pictures that explain it, the model and a summary.",
  flags: {
    data: { type: "string", choices: TOY_NAMES, default: "moons", description: "the toy density to learn" },
    flow: { type: "string", choices: FLOW_KINDS, default: "realnvp", description: "architecture" },
    steps: { type: "integer", min: 0, default: DEMO_STEPS, description: "optimisation steps (the default fits in a minute on 2 cores)" },
    layers: { type: "integer", min: 1, defaultText: "8 for nice/realnvp, 5 for maf/iaf", description: "number of coupling / autoregressive layers" },
    hidden: { type: "integers", min: 1, default: DEMO_HIDDEN, description: "hidden layer widths of every conditioner network" },
    batch: { type: "integer", min: 1, default: 256, description: "minibatch size" },
    lr: { type: "number", min: 0, default: DEMO_LR, description: "Adam learning rate (cosine decay to 0)" },
    n: { type: "integer", min: 100, default: 20000, description: "number of toy samples to train on" },
    seed: { type: "integer", min: 0, default: 0, description: "seed of the data, the initialisation and the pictures" },
    out: { type: "string", default: "nflow-demo", placeholder: "folder", description: "folder for the pictures, the model and summary.md (created if missing)" },
  },
  notes: [
    "Examples:",
    "  nflow demo",
    "  nflow demo --data 8gaussians --flow maf --out demo-8g",
    "",
    "Writes data.png, samples.png, density.png, layers.png, loss.png, change-of-variables.png,",
    "density-steps.png, model.nflow and summary.md into --out.",
    "",
    "nflow demo images: inpainting, samples, interpolation and class-conditional digits from the",
    "pretrained MNIST models that ship in the package (nflow demo images --help).",
  ],
});

/** Runs `nflow demo` with the words after the command name; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  // `nflow demo images`: the image results from the shipped MNIST models
  if (argv[0] === "images") return (await import("./demo-images.js")).run(argv.slice(1));
  return runCommand(demoSpec, argv, async ({ args, out }) => {
    const t0 = performance.now();
    const v = args.values;
    const flow = v.flow as FlowKind;
    const toy = toyInfo(v.data);
    const layers = v.layers ?? DEFAULT_LAYERS[flow];
    const dir = resolve(v.out);
    await mkdir(dir, { recursive: true });
    const train = sampleToy(toy.name, v.n, v.seed);
    const test = sampleToy(toy.name, DEMO_TEST_SAMPLES, v.seed + 1_000_003);
    out.note(`nflow demo: ${flow} (${layers} layers, hidden ${v.hidden.join(",")}) on ${toy.name}: ${toy.description}`);

    let progress: Progress | undefined;
    const model = await fit(
      { flow, layers, hidden: v.hidden, seed: v.seed },
      { x: train, n: v.n, dim: 2 },
      {
        steps: v.steps,
        batchSize: v.batch,
        lr: v.lr,
        schedule: { kind: "cosine" },
        evalEvery: Math.max(1, Math.min(50, v.steps)),
        seed: v.seed,
        standardize: false,
        source: toy.name,
        onProgress: (e) => {
          progress ??= out.progress({ label: "compiling…", total: e.totalSteps, unit: "step" });
          if (e.phase === "compiling") return;
          progress.setLabel("training");
          if (e.phase === "done") return progress.finish();
          progress.update(e.step, { loss: e.trainLoss, ...(e.valLoss !== undefined ? { val: e.valLoss } : {}) });
        },
      },
    );
    try {
      progress?.finish();
      const trainSec = (performance.now() - t0) / 1000;
      const t = model.training!;
      const metrics = testMetrics(model, test, toy);
      const files: Record<string, string> = {};
      const modelPath = join(dir, "model.nflow");
      await model.save(modelPath);
      files.model = modelPath;

      out.note("drawing pictures…");
      const factory = await nodeCanvasFactory();
      const input: PictureInput = { factory, model, data: test, dataLabel: `${toy.name} (held-out)`, toy, seed: v.seed };
      const pictures: [string, () => NodeCanvas | Promise<NodeCanvas | undefined>][] = [
        ["data", () => dataPicture({ ...input, data: train, dataLabel: "training data", title: `The data: ${toy.name}`, note: toy.description })],
        ["samples", () => samplesPicture(input)],
        ["density", () => densityPicture(input)],
        ["layers", () => layersPicture(input)],
        ["loss", () => lossPicture(input)],
        ["change-of-variables", () => changeOfVariablesFigure(factory)],
        ["density-steps", () => densityStepsPicture({ ...input, data: test })],
      ];
      for (const [name, draw] of pictures) {
        const canvas = await draw();
        if (!canvas) continue;
        const path = join(dir, `${name}.png`);
        await savePng(canvas, path);
        files[name] = path;
      }
      const totalSec = (performance.now() - t0) / 1000;
      const summaryPath = join(dir, "summary.md");
      await writeFileAtomic(summaryPath, summary({ flow, layers, hidden: v.hidden, toy, model, metrics, trainSec, totalSec, files, argv: { ...v, layers } }));
      files.summary = summaryPath;

      const result = {
        out: dir,
        files,
        flow,
        data: toy.name,
        steps: t.steps,
        trainSeconds: round(trainSec, 1),
        totalSeconds: round(totalSec, 1),
        testNll: round(metrics.nll, 4),
        testNllStdError: round(metrics.se, 4),
        ...(metrics.kl !== undefined ? { entropy: round(toy.entropy!, 4), klGap: round(metrics.kl, 4) } : {}),
        stopReason: t.stopReason,
      };
      if (t.stopReason === "diverged") return out.fail(`${t.message} The pictures show the best model seen (in ${dir}).`, ExitCode.Diverged, result);
      out.result(result, [
        `trained ${flow} on ${toy.name}: ${t.steps} steps in ${trainSec.toFixed(1)} s; everything took ${totalSec.toFixed(1)} s`,
        `test NLL ${metrics.nll.toFixed(3)} ± ${metrics.se.toFixed(3)} nats` +
          (metrics.kl !== undefined ? `; entropy ${toy.entropy!.toFixed(3)}, so KL(p ‖ p_θ) ≈ ${metrics.kl.toFixed(3)} nats` : ""),
        `wrote into ${dir}:`,
        ...Object.entries(files).map(([k, p]) => `  ${k.padEnd(20)} ${p}`),
        `open ${join(dir, "summary.md")} for what each picture shows`,
      ]);
      return ExitCode.Ok;
    } finally {
      model.dispose();
    }
  });
}

interface TestMetrics {
  /** −mean log p_θ(x) over held-out samples, and its standard error. */
  nll: number;
  se: number;
  /** NLL − H(p) = KL(p ‖ p_θ) (plus Monte Carlo error), where the entropy is known. */
  kl?: number;
}

function testMetrics(model: FlowModel, test: Float64Array, toy: ToyInfo): TestMetrics {
  const lp = model.logProb(test);
  const n = lp.length;
  let mean = 0;
  for (const l of lp) mean += -l / n;
  let varSum = 0;
  for (const l of lp) varSum += (-l - mean) ** 2;
  const se = Math.sqrt(varSum / Math.max(1, n - 1) / n);
  return { nll: mean, se, ...(toy.entropy !== undefined ? { kl: mean - toy.entropy } : {}) };
}

function round(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}

function summary(s: {
  flow: FlowKind;
  layers: number;
  hidden: number[];
  toy: ToyInfo;
  model: FlowModel;
  metrics: TestMetrics;
  trainSec: number;
  totalSec: number;
  files: Record<string, string>;
  argv: { data: string; flow: string; steps: number; seed: number; layers: number; hidden: number[]; batch: number; lr: number; n: number };
}): string {
  const t = s.model.training!;
  const info = s.model.info();
  const m = s.metrics;
  const cov = changeOfVariablesNumbers();
  const F = (v: number): string => formatFraction(v);
  const has = (k: string): boolean => k in s.files;
  const lines = [
    `# nflow demo: ${s.flow} on ${s.toy.name}`,
    "",
    `A ${s.flow} flow (${s.layers} layers, conditioners with hidden layers ${s.hidden.join(", ")}, ${info.parameterCount.toLocaleString("en-US")} parameters) ` +
      `learned the toy density **${s.toy.name}**, ${s.toy.description}, from ${s.argv.n.toLocaleString("en-US")} samples by maximum likelihood: ` +
      `${t.steps} Adam steps (batch ${t.batchSize}, learning rate ${s.argv.lr} with cosine decay) in ${s.trainSec.toFixed(1)} s; ` +
      `the whole demo took ${s.totalSec.toFixed(1)} s.`,
    "",
    "## Result",
    "",
    "| quantity | nats per point |",
    "|---|---|",
    `| final test NLL, −mean log p_θ(x) over ${DEMO_TEST_SAMPLES} fresh samples | ${m.nll.toFixed(4)} ± ${m.se.toFixed(4)} |`,
  ];
  if (m.kl !== undefined) {
    lines.push(
      `| entropy H(p) of ${s.toy.name} (${s.toy.entropyMethod}) | ${s.toy.entropy!.toFixed(4)} |`,
      `| KL gap: NLL − H(p) = KL(p ‖ p_θ) | ${m.kl.toFixed(4)} |`,
      "",
      "The NLL can never go below the entropy of the data: E_p[−log p_θ] = H(p) + KL(p ‖ p_θ), so the gap is the KL divergence " +
        "from the true density to the model (0 for a perfect model), up to the Monte Carlo error of both numbers.",
    );
  } else {
    lines.push("", `The entropy of ${s.toy.name} has no closed form here, so the KL gap is not reported.`);
  }
  lines.push(
    "",
    `Best validation loss ${t.bestValidationLoss?.toFixed(4) ?? "n/a"} at step ${t.bestStep} (${t.stopReason}).`,
    "",
    "## The pictures",
    "",
    "- **data.png**: the training data, samples of the toy density p(x) the flow must learn.",
    "- **samples.png**: held-out data beside samples of the trained flow, x = f(z) with z drawn from the base N(0, I). A good model's samples cover the same shapes with the same density of points.",
    "- **density.png**: the model density p_θ(x) = p_z(g(x)) · |det J_g(x)| evaluated on a grid (heat map, white contour lines around 50%, 80% and 95% of the mass), beside the true density where the toy has one. It is bright where the data (white dots) are.",
    "- **layers.png**: the flow layer by layer, z(0) → z(1) → … → x (the lecture's \"Jacobian of composite\" figures). The same points in every panel, coloured by where they started, so one can follow a region of the Gaussian through every coupling; the grey grid of z(0) shows how each layer bends space.",
    "- **loss.png**: training and validation negative log-likelihood while training" + (m.kl !== undefined ? "; the dashed line is the entropy of the data, the best possible value." : "."),
    `- **change-of-variables.png**: the lecture's example: z uniform on [0, 2]² (density ${F(cov.baseDensity)}), f(z) = [[2, −1], [2, 1]] z with |det J_f| = ${F(cov.absDet)}. ` +
      `With the Jacobian the parallelogram gets density ${F(cov.imageDensity)} and p(S′) = p(S) = ${F(cov.regionProb)}; without it p(S′) = ${F(cov.wrongRegionImageProb)} and the total mass is ${F(cov.wrongImageMass)}.`,
  );
  if (has("density-steps"))
    lines.push(
      "- **density-steps.png**: density estimation step by step for four points: x, its code z = g(x) under the base, the normalisation log p(x) = log p_z(z) + log|det J_g(x)|, and p(x) over the plane.",
    );
  lines.push(
    "- **model.nflow**: the trained model (safetensors + JSON metadata); try `nflow sample --model model.nflow --n 5`, `nflow info --model model.nflow` or `nflow plot density --model model.nflow --out d.png`.",
    "",
    "## Reproduce",
    "",
    "```",
    `nflow demo --data ${s.argv.data} --flow ${s.argv.flow} --layers ${s.argv.layers} --hidden ${s.argv.hidden.join(",")} --steps ${s.argv.steps} --batch ${s.argv.batch} --lr ${s.argv.lr} --n ${s.argv.n} --seed ${s.argv.seed}`,
    "```",
    "",
  );
  return lines.join("\n");
}
