/**
 * `nflow inpaint`: hide part of test images with the NICE paper's corruptions and restore them
 * under an image model (tasks/inpainting.ts), by MAP ascent and/or the posterior mean; writes the
 * picture (original / corrupted / restored rows per mask) and reports PSNR and log p per mask
 * against the mean-image fill.
 */
import { defineCommand, UsageError } from "../args.js";
import { ExitCode, lazyProgress, runCommand } from "../output.js";
import { MODEL_FLAG, openModel } from "./common.js";
import { IMAGE_DATA_FLAG, checkPngOut, inpaintingGrid, meanImage, parseImageIndices, pickTestImages, requireUnconditionalImageModel, writeImageGrid } from "../images.js";
import { INPAINTING_MASKS, MASK_SEED, MASK_TITLES, inpaintingMask, parseMaskName, type InpaintingMask } from "../../tasks/inpainting-masks.js";
import { inpaintingReport } from "../../tasks/inpainting.js";

export const inpaintSpec = defineCommand({
  name: "inpaint",
  summary: "Restore hidden pixels of test images under an image model (MAP ascent or posterior mean) and draw them.",
  flags: {
    model: MODEL_FLAG,
    data: IMAGE_DATA_FLAG,
    images: { type: "string", default: "0-7", placeholder: "i,j,…|a-b", description: "which test images" },
    mask: { type: "string", default: "all", placeholder: "name[,name]|all", description: `corruption(s): ${INPAINTING_MASKS.join(", ")}` },
    method: { type: "string", choices: ["map", "mean", "both"], default: "map", description: "map: argmax log p by gradient ascent (the lecture's); mean: posterior mean from MALA chains started at the MAP estimate (fewer confident wrong strokes); both: draw and report the two" },
    steps: { type: "integer", min: 1, default: 500, description: "Adam steps of the MAP ascent (lr --lr, clipped to [0, 1] after each)" },
    lr: { type: "number", min: 0, default: 0.01, description: "Adam learning rate of the MAP ascent" },
    burnIn: { type: "integer", min: 0, default: 200, description: "mean: MALA steps while the step size adapts (discarded)" },
    samples: { type: "integer", min: 1, default: 300, description: "mean: MALA steps averaged into the estimate" },
    seed: { type: "integer", min: 0, default: 0, description: "seed of the MALA chains" },
    maskSeed: { type: "integer", min: 0, default: MASK_SEED, description: "seed of the random masks" },
    show: { type: "integer", min: 1, default: 8, description: "images per mask in the picture" },
    out: { type: "string", default: "inpaint.png", placeholder: "file.png", description: "the picture" },
  },
  notes: [
    "Examples:",
    "  nflow inpaint --model models/mnist-nice.nflow --mask all --out inpaint.png",
    "  nflow inpaint --model models/mnist-nice.nflow --mask top,odd --images 0-99 --method both --json",
    "",
    "The masks (NICE paper §5.2): top/bottom rows, odd/even pixels, left/right side, middle vertical",
    "(vband) and horizontal (hband) bands, 75 % and 90 % random pixels. Hidden pixels start at 0.5;",
    "observed pixels are never changed. PSNR is over the hidden pixels; the baseline fills them with",
    "the mean training image.",
  ],
});

/** Runs `nflow inpaint` with the words after the command name; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  return runCommand(inpaintSpec, argv, async ({ args, out }) => {
    const v = args.values;
    checkPngOut(v.out, { "--model": v.model, "--data": v.data });
    const masks: InpaintingMask[] = v.mask === "all" ? [...INPAINTING_MASKS] : v.mask.split(",").map((s) => parseMask(s.trim()));
    if (new Set(masks).size !== masks.length) throw new UsageError(`--mask: a mask is listed twice in ${JSON.stringify(v.mask)}`);
    const indices = parseImageIndices(v.images);
    const model = await openModel(v.model, out);
    try {
      const shape = requireUnconditionalImageModel(model, v.model, "inpaint", "inpainting");
      if (!model.dataInfo?.dequantization)
        throw new UsageError(`inpaint: ${v.model} was not trained on dequantised pixels, so its density is not on [0, 1]; train it with --dequantize yes`);
      const picked = pickTestImages(v.data, indices, shape);
      const baseline = meanImage(v.data);
      const withMean = v.method !== "map";
      out.note(`inpainting ${picked.n} image${picked.n > 1 ? "s" : ""} of ${picked.source} under ${masks.length} mask${masks.length > 1 ? "s" : ""} (${withMean ? "MAP, then the posterior mean" : "MAP"})`);
      const progress = lazyProgress(out, "inpainting", "step");
      const outcomes = await inpaintingReport(
        model,
        picked.pixels,
        masks.map((name) => ({ name, hidden: inpaintingMask(name, shape, picked.n, v.maskSeed) })),
        baseline.mean,
        {
          withMean,
          steps: v.steps,
          lr: v.lr,
          burnIn: v.burnIn,
          samples: v.samples,
          seed: v.seed,
          onProgress: progress.update,
        },
      );
      progress.finish();
      const show = Math.min(v.show, picked.n);
      const grid = inpaintingGrid(outcomes, picked.pixels, shape[0] * shape[1] * shape[2], show, v.method as "map" | "mean" | "both");
      const size = await writeImageGrid(v.out, {
        ...grid,
        imageHeight: shape[0] * shape[1], // channels stacked, as [C, H, W] is laid out
        imageWidth: shape[2],
        cols: show,
        title: `Inpainting under ${v.model}`,
        note: `hidden pixels start at 0.5 (grey); ${v.method === "map" ? `MAP: ${v.steps} Adam steps` : `posterior mean: ${v.burnIn} + ${v.samples} MALA steps from the MAP estimate`}`,
      });
      const reports = outcomes.map((o) => o.report);
      const lines = [
        `mask               PSNR (dB) of the hidden pixels                 mean log p (nats)`,
        `                   ${withMean ? "MAP     mean    " : "MAP     "}mean-fill  0.5-fill      ${withMean ? "MAP       mean      " : "MAP       "}original  mean-fill`,
        ...reports.map((r) =>
          [
            MASK_TITLES[r.mask as InpaintingMask].padEnd(19),
            r.psnrMap.toFixed(2).padEnd(8),
            withMean ? r.psnrMean!.toFixed(2).padEnd(8) : "",
            r.psnrMeanFill.toFixed(2).padEnd(11),
            r.psnrStart.toFixed(2).padEnd(14),
            r.logProbMap.toFixed(1).padEnd(10),
            withMean ? r.logProbMean!.toFixed(1).padEnd(10) : "",
            r.logProbOriginal.toFixed(1).padEnd(10),
            r.logProbMeanFill.toFixed(1),
          ].join(""),
        ),
        `wrote ${v.out} (${size.width}×${size.height}); mean fill: ${baseline.source}`,
      ];
      out.result(
        { model: v.model, data: picked.source, images: indices, method: v.method, steps: v.steps, meanImage: baseline.source, out: v.out, masks: reports },
        lines,
      );
      return ExitCode.Ok;
    } finally {
      model.dispose();
    }
  });
}

function parseMask(name: string): InpaintingMask {
  try {
    return parseMaskName(name);
  } catch (e) {
    throw new UsageError(`--mask: ${(e as Error).message.replace(/^mask: /, "")}`);
  }
}
