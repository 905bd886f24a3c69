/**
 * `nflow interpolate`: RealNVP's latent interpolation grid (tasks/interpolation.ts) between four
 * test images, or four samples of the model, written as a PNG.
 */
import { defineCommand, UsageError } from "../args.js";
import { ExitCode, runCommand } from "../output.js";
import { MODEL_FLAG, openModel } from "./common.js";
import { IMAGE_DATA_FLAG, checkPngOut, parseImageIndices, pickTestImages, requireUnconditionalImageModel, writeImageGrid } from "../images.js";
import { interpolate } from "../../tasks/interpolation.js";

/** Largest grid side (g² decoded images). */
export const MAX_GRID = 32;

export const interpolateSpec = defineCommand({
  name: "interpolate",
  summary: "Decode the grid z = cos φ (cos φ′ z₁ + sin φ′ z₂) + sin φ (cos φ′ z₃ + sin φ′ z₄) between four images.",
  flags: {
    model: MODEL_FLAG,
    data: IMAGE_DATA_FLAG,
    images: { type: "string", placeholder: "i,j,k,l", defaultText: "0,1,2,3", description: "the four corner test images (z₁ top left, z₂ top right, z₃ bottom left, z₄ bottom right)" },
    seed: { type: "integer", min: 0, description: "corners from four samples of the model drawn with this seed, instead of --images" },
    temperature: { type: "number", min: 0, default: 1, description: "with --seed: base temperature of the four draws" },
    grid: { type: "integer", min: 2, max: MAX_GRID, default: 9, description: "points per side (φ and φ′ in [0, π/2])" },
    out: { type: "string", default: "interpolation.png", placeholder: "file.png", description: "the picture" },
  },
  notes: [
    "Examples:",
    "  nflow interpolate --model models/mnist-realnvp.nflow --images 3,2,1,18 --out interp.png",
    "  nflow interpolate --model models/mnist-realnvp.nflow --seed 7 --grid 7",
    "",
    "Rows vary φ (z₁,z₂ → z₃,z₄), columns φ′ (z₁ → z₂ and z₃ → z₄); the corners decode to the four inputs.",
  ],
});

/** Runs `nflow interpolate` with the words after the command name; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  return runCommand(interpolateSpec, argv, async ({ args, out }) => {
    const v = args.values;
    checkPngOut(v.out, { "--model": v.model, "--data": v.data });
    if (v.seed !== undefined && v.images !== undefined) throw new UsageError("--seed and --images: give one of them (samples or test images as the corners)");
    if (v.temperature <= 0) throw new UsageError(`--temperature: expected a number > 0, got ${v.temperature}`);
    const indices = v.seed === undefined ? parseImageIndices(v.images ?? "0,1,2,3") : undefined;
    if (indices && indices.length !== 4) throw new UsageError(`--images: expected four images (the corners), got ${indices.length}`);
    const model = await openModel(v.model, out);
    try {
      const shape = requireUnconditionalImageModel(model, v.model, "interpolate", "interpolation");
      const picked = indices ? pickTestImages(v.data, indices, shape) : undefined;
      const r = interpolate(model, picked ? { images: picked.pixels } : { seed: v.seed!, temperature: v.temperature }, v.grid);
      const from = picked ? `test images ${indices!.join(", ")} of ${picked.source}` : `four samples (seed ${v.seed}${v.temperature !== 1 ? `, T = ${v.temperature}` : ""})`;
      const size = await writeImageGrid(v.out, {
        images: r.images,
        imageHeight: shape[0] * shape[1],
        imageWidth: shape[2],
        cols: v.grid,
        title: `Latent interpolation under ${v.model}`,
        note: `corners: ${from}`,
      });
      let maxErr = 0;
      if (picked) {
        // the corners decode to the inputs (up to float error): a check the user sees
        const D = model.dim;
        const corners = [0, v.grid - 1, v.grid * (v.grid - 1), v.grid * v.grid - 1];
        corners.forEach((c, k) => {
          for (let d = 0; d < D; d++) maxErr = Math.max(maxErr, Math.abs(r.images[c * D + d]! - picked.pixels[k * D + d]!));
        });
      }
      out.result(
        { model: v.model, out: v.out, grid: v.grid, corners: from, ...(picked ? { cornerMaxAbsError: maxErr } : {}), width: size.width, height: size.height },
        [`wrote ${v.out} (${v.grid}×${v.grid} grid, ${size.width}×${size.height}); corners: ${from}${picked ? `, decoded to within ${maxErr.toExponential(1)}` : ""}`],
      );
      return ExitCode.Ok;
    } finally {
      model.dispose();
    }
  });
}
