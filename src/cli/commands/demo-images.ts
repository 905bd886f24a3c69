/**
 * `nflow demo images`: the lecture's image results in under a minute, from the pretrained MNIST
 * models that ship in the package (models/, retrained by scripts/train-shipped-models.sh) and the
 * 100 MNIST test digits shipped beside them: NICE inpainting of the ten corruptions (MAP and the
 * posterior mean), RealNVP samples and the four-image latent interpolation grid, class-conditional
 * MAF digits, and a summary.md with what each shows.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defineCommand, UsageError } from "../args.js";
import { ExitCode, lazyProgress, runCommand } from "../output.js";
import { openModel } from "./common.js";
import { inpaintingGrid, meanImage, pickTestImages, requireImageModel, writeImageGrid, type PickedImages } from "../images.js";
import type { ImageShape } from "../../bijectors/image.js";
import { writeFileAtomic } from "../../io/atomic.js";
import { bitsPerDim } from "../../data/dequantize.js";
import type { FlowModel } from "../../model/model.js";
import { INPAINTING_MASKS, MASK_SEED, MASK_TITLES, inpaintingMask } from "../../tasks/inpainting-masks.js";
import { inpaintingReport, type MaskReport } from "../../tasks/inpainting.js";
import { interpolate } from "../../tasks/interpolation.js";
import { labelClasses, labelContext, sampleImages } from "../../tasks/image-samples.js";

/** The folder of the shipped models (the package's models/, beside dist/ and src/). */
export const SHIPPED_MODELS_DIR = fileURLToPath(new URL("../../../models/", import.meta.url));

/** The shipped files, by role. */
export const SHIPPED = {
  nice: "mnist-nice.nflow",
  realnvp: "mnist-realnvp.nflow",
  maf: "mnist-maf-conditional.nflow",
  digits: "t10k-0-99-images-idx3-ubyte.gz",
} as const;

/**
 * The demo's budget, sized to draw everything in under a minute on an idle 2-core machine
 * (measured: ~45 s). MAP with 250 steps instead of the bench's 500 reaches nearly the same PSNR;
 * the MAF grid is the cost that scales (784 sequential passes per layer, per chunk of samples).
 */
export const DEMO_MAP_STEPS = 250;
export const DEMO_BURN_IN = 100;
export const DEMO_SAMPLES = 150;
export const DEMO_PER_CLASS = 6;

export const demoImagesSpec = defineCommand({
  name: "demo images",
  summary: "Draw the lecture's image results from the shipped MNIST models: inpainting, samples, interpolation, class-conditional digits.",
  flags: {
    models: { type: "string", placeholder: "folder", defaultText: "the package's models/", description: `folder with ${SHIPPED.nice}, ${SHIPPED.realnvp}, ${SHIPPED.maf} and ${SHIPPED.digits}` },
    out: { type: "string", default: "nflow-demo-images", placeholder: "folder", description: "folder for the pictures and summary.md (created if missing)" },
    seed: { type: "integer", min: 0, default: 0, description: "seed of the samples and the MALA chains" },
    digits: { type: "integer", min: 1, max: 16, default: 5, description: "test digits per inpainting mask" },
  },
  notes: [
    "Example:",
    "  nflow demo images --out demo-images",
    "",
    "Writes inpainting.png, samples.png, interpolation.png, classes.png and summary.md into --out.",
    "The models are smaller than the papers' (each trains in about an hour or less on two cores; see",
    "docs/images.md); retrain them with scripts/train-shipped-models.sh.",
  ],
});

/** Runs `nflow demo images`; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  return runCommand(demoImagesSpec, argv, async ({ args, out }) => {
    const t0 = performance.now();
    const v = args.values;
    const from = resolve(v.models ?? SHIPPED_MODELS_DIR);
    for (const f of Object.values(SHIPPED))
      if (!existsSync(join(from, f))) throw new UsageError(`--models ${from}: no ${f} there (the shipped models are in the package's models/ folder)`);
    const dir = resolve(v.out);
    await mkdir(dir, { recursive: true });
    const digitsPath = join(from, SHIPPED.digits);
    // the 100 shipped digits, read once: the inpainting inputs, the corners, the quick scores
    const all = pickTestImages(digitsPath, Array.from({ length: 100 }, (_, i) => i), MNIST_SHAPE);
    const firstDigits = (k: number): Float64Array => all.pixels.subarray(0, k * all.shape.reduce((a, b) => a * b));
    const files: Record<string, string> = {};
    const timings: Record<string, number> = {};
    const lap = (name: string, since: number): void => void (timings[name] = Number(((performance.now() - since) / 1000).toFixed(1)));

    // 1. NICE: inpainting of the ten corruptions, MAP and posterior mean
    let t = performance.now();
    const nice = await openModel(join(from, SHIPPED.nice), out);
    let reports: MaskReport[];
    let niceBits: number;
    try {
      requireMnistModel(nice, SHIPPED.nice);
      niceBits = testBits(nice, all);
      const digits = firstDigits(v.digits);
      out.note(`inpainting ${v.digits} test digits under ${INPAINTING_MASKS.length} masks with ${SHIPPED.nice} (MAP, then the posterior mean)`);
      const progress = lazyProgress(out, "inpainting", "step");
      const outcomes = await inpaintingReport(
        nice,
        digits,
        INPAINTING_MASKS.map((name) => ({ name, hidden: inpaintingMask(name, MNIST_SHAPE, v.digits, MASK_SEED) })),
        meanImage(digitsPath).mean,
        { withMean: true, steps: DEMO_MAP_STEPS, burnIn: DEMO_BURN_IN, samples: DEMO_SAMPLES, seed: v.seed, onProgress: progress.update },
      );
      progress.finish();
      reports = outcomes.map((o) => o.report);
      const grid = inpaintingGrid(outcomes, digits, nice.dim, v.digits, "both");
      files.inpainting = join(dir, "inpainting.png");
      await writeImageGrid(files.inpainting, {
        ...grid,
        imageHeight: 28,
        imageWidth: 28,
        cols: v.digits,
        title: "NICE inpainting: MAP and posterior mean",
        note: `per mask: original, corrupted (hidden = grey), MAP (${DEMO_MAP_STEPS} Adam steps), posterior mean (${DEMO_BURN_IN} + ${DEMO_SAMPLES} MALA steps)`,
      });
    } finally {
      nice.dispose();
    }
    lap("inpainting", t);

    // 2. RealNVP: samples and the latent interpolation grid
    t = performance.now();
    const realnvp = await openModel(join(from, SHIPPED.realnvp), out);
    let realnvpBits: number;
    try {
      requireMnistModel(realnvp, SHIPPED.realnvp);
      realnvpBits = testBits(realnvp, all);
      out.note(`sampling and interpolating with ${SHIPPED.realnvp}`);
      const samples = sampleImages(realnvp, 64, { seed: v.seed, temperature: 0.7 });
      files.samples = join(dir, "samples.png");
      await writeImageGrid(files.samples, { images: samples, imageHeight: 28, imageWidth: 28, cols: 8, title: "RealNVP samples (T = 0.7)", note: "x = f(z), z ~ N(0, 0.7² I)" });
      const r = interpolate(realnvp, { images: firstDigits(4) }, 9);
      files.interpolation = join(dir, "interpolation.png");
      await writeImageGrid(files.interpolation, {
        images: r.images,
        imageHeight: 28,
        imageWidth: 28,
        cols: 9,
        title: "RealNVP latent interpolation",
        note: "z = cos φ (cos φ′ z₁ + sin φ′ z₂) + sin φ (cos φ′ z₃ + sin φ′ z₄); corners: test digits 0–3",
      });
    } finally {
      realnvp.dispose();
    }
    lap("realnvp", t);

    // 3. Class-conditional MAF: one row per class
    t = performance.now();
    const maf = await openModel(join(from, SHIPPED.maf), out);
    let mafBits: number;
    try {
      requireMnistModel(maf, SHIPPED.maf);
      const K = labelClasses(maf);
      if (K === 0) throw new UsageError(`${SHIPPED.maf}: not a class-conditional model`);
      mafBits = testBits(maf, all, K);
      const cols = DEMO_PER_CLASS;
      out.note(`sampling ${K} × ${cols} class-conditional digits with ${SHIPPED.maf} (784 sequential passes per layer)`);
      const progress = lazyProgress(out, "sampling (sequential passes)", "pass");
      const labels = Array.from({ length: K * cols }, (_, i) => Math.floor(i / cols));
      const images = sampleImages(maf, K * cols, { seed: v.seed, labels, temperature: 0.7, onProgress: progress.update });
      progress.finish();
      files.classes = join(dir, "classes.png");
      await writeImageGrid(files.classes, {
        images,
        imageHeight: 28,
        imageWidth: 28,
        cols,
        rowLabels: Array.from({ length: K }, (_, k) => `${k}`),
        title: "Class-conditional MAF: one row per label (T = 0.7)",
        note: "x ~ p(x | y), the one-hot label y in every MADE and in the base",
      });
    } finally {
      maf.dispose();
    }
    lap("maf", t);

    const totalSec = Number(((performance.now() - t0) / 1000).toFixed(1));
    files.summary = join(dir, "summary.md");
    await writeFileAtomic(files.summary, summary({ reports, bits: { nice: niceBits, realnvp: realnvpBits, maf: mafBits }, totalSec, digits: v.digits }));
    out.result(
      { out: dir, files, seconds: totalSec, timings, bitsPerDimOnShippedDigits: { nice: niceBits, realnvp: realnvpBits, maf: mafBits }, inpainting: reports },
      [
        `drew the image demo in ${totalSec} s into ${dir}:`,
        ...Object.entries(files).map(([k, p]) => `  ${k.padEnd(14)} ${p}`),
        `open ${files.summary} for what each picture shows`,
      ],
    );
    return ExitCode.Ok;
  });
}

/** The layout of every shipped model and digit. */
const MNIST_SHAPE: ImageShape = [1, 28, 28];

/** An image model of MNIST's layout (a --models folder may hold anything). */
function requireMnistModel(model: FlowModel, file: string): void {
  const shape = requireImageModel(model, file, "demo images");
  if (shape.join() !== MNIST_SHAPE.join()) throw new UsageError(`demo images: ${file} models images [${shape.join(", ")}], not MNIST's [1, 28, 28]`);
}

/**
 * Bits/dim of a model on the 100 shipped test digits, dequantised at the bin centres (b + ½)/256 —
 * a quick figure, not the test-set score (docs/images.md has those, on all 10,000).
 * A class-conditional model is scored with the true labels.
 */
function testBits(model: FlowModel, digits: PickedImages, classes = 0): number {
  const lp = model.logProb(digits.pixels, classes > 0 ? labelContext(digits.labels!, classes) : undefined);
  return bitsPerDim(lp.reduce((s, l) => s + l, 0) / lp.length, model.dim, 256);
}

function summary(s: { reports: MaskReport[]; bits: { nice: number; realnvp: number; maf: number }; totalSec: number; digits: number }): string {
  const f = (v: number | undefined, d = 2): string => (v === undefined ? "" : v.toFixed(d));
  return [
    "# nflow demo images",
    "",
    `The lecture's image results from the three pretrained MNIST models in the package, drawn in ${s.totalSec} s.`,
    "The models are smaller than the papers' (each trains in about an hour or less on two CPU cores; docs/images.md has their",
    "architectures, training commands and test-set scores; scripts/train-shipped-models.sh retrains them).",
    "",
    "| model | role | bits/dim on the 100 shipped test digits (bin centres) |",
    "|---|---|---|",
    `| mnist-nice.nflow | inpainting | ${f(s.bits.nice, 3)} |`,
    `| mnist-realnvp.nflow | samples, interpolation | ${f(s.bits.realnvp, 3)} |`,
    `| mnist-maf-conditional.nflow | class-conditional digits | ${f(s.bits.maf, 3)} |`,
    "",
    "## inpainting.png (NICE)",
    "",
    `For ${s.digits} test digits and each of the NICE paper's ten corruptions: the original, the corrupted image (hidden pixels grey),`,
    "the MAP completion argmax log p(x_h, x_o) by projected Adam ascent on the hidden pixels, and the posterior mean",
    "E[x_h | x_o] from MALA chains started at the MAP estimate. The most probable completion is often not the most",
    "faithful one: MAP continues strokes confidently and sometimes wrongly; the posterior mean hedges (greyer, but",
    "closer on average). PSNR (dB) over the hidden pixels, log p in nats (mean over the digits):",
    "",
    "| mask | PSNR MAP | PSNR mean | PSNR mean-image fill | log p MAP | log p mean | log p original |",
    "|---|---|---|---|---|---|---|",
    ...s.reports.map(
      (r) => `| ${MASK_TITLES[r.mask as keyof typeof MASK_TITLES]} | ${f(r.psnrMap)} | ${f(r.psnrMean)} | ${f(r.psnrMeanFill)} | ${f(r.logProbMap, 0)} | ${f(r.logProbMean, 0)} | ${f(r.logProbOriginal, 0)} |`,
    ),
    "",
    "The mean-image fill here is the mean of the 100 shipped test digits (`nflow inpaint --data mnist` uses the 50,000 training images).",
    "",
    "## samples.png and interpolation.png (RealNVP)",
    "",
    "64 samples x = f(z) at temperature 0.7 (z ~ N(0, 0.49 I)), and the grid",
    "z = cos φ (cos φ′ z₁ + sin φ′ z₂) + sin φ (cos φ′ z₃ + sin φ′ z₄), φ, φ′ ∈ [0, π/2], decoded, whose corners are the",
    "codes z_i = g(x_i) of test digits 0–3: the corners are those digits, and every point between is a decoded latent.",
    "",
    "## classes.png (class-conditional MAF)",
    "",
    "One row per label y: x ~ p(x | y) at temperature 0.7, the one-hot label fed to every MADE and to the Gaussian base.",
    "A MAF samples with 784 sequential passes per layer; an IAF would sample in one.",
    "",
    "## Try",
    "",
    "```",
    "nflow inpaint --model models/mnist-nice.nflow --mask all --method both --out inpaint.png",
    "nflow interpolate --model models/mnist-realnvp.nflow --images 3,2,1,18 --out interp.png",
    "nflow sample --model models/mnist-maf-conditional.nflow --labels all --grid 10x8 --out classes.png",
    "```",
    "",
  ].join("\n");
}
