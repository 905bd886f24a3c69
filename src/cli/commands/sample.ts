/**
 * `nflow sample`: draw samples x ~ p(x) (data units) from a model and write them as CSV.
 */
import { defineCommand, UsageError, type FlagValues } from "../args.js";
import { extname } from "node:path";
import { ExitCode, lazyProgress, runCommand, type Output } from "../output.js";
import { checkPngOut, requireImageModel, writeImageGrid } from "../images.js";
import { labelClasses, sampleImages } from "../../tasks/image-samples.js";
import { checkOutputPath, dataColumns, parseContextValues, writeCsvStream } from "../data.js";
import { MODEL_FLAG, openModel, sliceRows } from "./common.js";
import { rowList } from "./transform.js";
import { NonFiniteError } from "../../engine/errors.js";

export const sampleSpec = defineCommand({
  name: "sample",
  summary: "Draw samples from a model and write them as CSV (one sample per row, data units), or as an image grid (PNG).",
  flags: {
    model: MODEL_FLAG,
    n: { type: "integer", min: 1, default: 1000, description: "number of samples (CSV)" },
    out: { type: "string", required: true, placeholder: "file.csv|file.png", description: "output CSV file (- for stdout), or a .png image grid for an image model" },
    seed: { type: "integer", min: 0, default: 0, description: "seed of the draw" },
    context: { type: "string", placeholder: "v[,v...]", defaultText: "none", description: "context values of a conditional model (the same for every sample)" },
    grid: { type: "string", placeholder: "RxC", defaultText: "8x8 for a .png", description: "image models: rows × columns of the picture" },
    label: { type: "integer", min: 0, defaultText: "none", description: "class-conditional image models: draw every image of this class" },
    labels: { type: "string", choices: ["all"], defaultText: "none", description: "class-conditional image models: one row per class (all: R = the number of classes)" },
    temperature: { type: "number", min: 0, default: 1, description: "base temperature T: z = μ + T·σ·ε (T < 1: cleaner, less varied samples; Gaussian and logistic bases)" },
  },
  notes: [
    "Examples:",
    "  nflow sample --model moons.nflow --n 5000 --out samples.csv --seed 1",
    "  nflow sample --model models/mnist-realnvp.nflow --grid 8x8 --temperature 0.7 --out samples.png",
    "  nflow sample --model models/mnist-maf-conditional.nflow --labels all --grid 10x10 --out classes.png",
    "",
    "A MAF samples with D sequential passes per layer (784 for MNIST: the progress bar counts them);",
    "an IAF samples in one pass per layer (and evaluates densities with D passes instead).",
  ],
});

export async function run(argv: string[]): Promise<number> {
  return runCommand(sampleSpec, argv, async ({ args, out }) => {
    const v = args.values;
    if (v.temperature <= 0) throw new UsageError(`--temperature: expected a number > 0, got ${v.temperature}`);
    if (extname(v.out).toLowerCase() === ".png") return sampleGrid(v, out);
    for (const flag of ["grid", "label", "labels"] as const)
      if (v[flag] !== undefined) throw new UsageError(`--${flag}: only for image grids; give --out a .png file name`);
    if (v.out === "-" && args.json) throw new UsageError("--out - writes CSV on stdout, which --json uses; give a file name");
    checkOutputPath(v.out, "--out", { "--model": v.model });
    const model = await openModel(v.model, out);
    try {
      const K = model.contextDim;
      if (K > 0 && v.context === undefined)
        throw new UsageError(`--context: this model is conditional; give ${K} value${K > 1 ? "s" : ""}, e.g. --context ${Array(K).fill("0").join(",")}`);
      if (K === 0 && v.context !== undefined) throw new UsageError("--context: this model is unconditional; leave --context out");
      const context = v.context !== undefined ? Array.from(parseContextValues(v.context, K)) : undefined;
      const D = model.dim;
      const progress = out.progress({ label: "sampling", total: v.n, unit: "sample" });
      // Slices of sliceRows(D) samples, each with its own seed derived from --seed, so that the bar
      // moves; the whole draw is reproducible from --seed. Each slice is written as it is drawn
      // (millions of rows never become one string), and a non-finite sample stops the draw with
      // an error naming its rows: the temporary file is removed, any previous --out is kept.
      const rowsPerSlice = sliceRows(D);
      function* slices(): Generator<Float64Array> {
        for (let start = 0, slice = 0; start < v.n; start += rowsPerSlice, slice++) {
          const m = Math.min(rowsPerSlice, v.n - start);
          const rows = model.sample(m, { seed: (v.seed + slice * 0x9e3779b1) >>> 0, temperature: v.temperature, ...(context ? { context } : {}) });
          const block = new Float64Array(m * D);
          const bad: number[] = [];
          let nBad = 0;
          rows.forEach((row, i) => {
            block.set(row, i * D);
            if (!row.every(Number.isFinite) && nBad++ < 5) bad.push(start + i + 1);
          });
          if (nBad > 0)
            throw new NonFiniteError(
              `sample: ${nBad} of samples ${start + 1}…${start + m} not finite (${rowList(bad, nBad)}): the model is unstable far from the data (try --temperature below 1); nothing was written`,
            );
          yield block;
          progress.update(start + m);
        }
      }
      const where = await writeCsvStream(v.out, dataColumns(model), D, slices());
      progress.finish();
      out.result({ model: v.model, out: v.out, n: v.n, dim: D, seed: v.seed }, where === "stdout" ? [] : [`wrote ${v.n} samples (${D} columns) to ${where}`]);
      return ExitCode.Ok;
    } finally {
      model.dispose();
    }
  });
}

/** Largest picture side, in images. */
export const MAX_GRID_SIDE = 32;

/** `--grid 8x8` → [8, 8]. */
export function parseGrid(text: string): [number, number] {
  const m = /^(\d+)x(\d+)$/i.exec(text.trim());
  const [r, c] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(r >= 1 && c >= 1 && r <= MAX_GRID_SIDE && c <= MAX_GRID_SIDE))
    throw new UsageError(`--grid: expected ROWSxCOLUMNS with 1..${MAX_GRID_SIDE} each, such as 8x8, got ${JSON.stringify(text)}`);
  return [r, c];
}

type SampleValues = FlagValues<typeof sampleSpec.flags>;

/** `nflow sample --out grid.png`: an image grid, one row per class with --labels all. */
async function sampleGrid(v: SampleValues, out: Output): Promise<number> {
  checkPngOut(v.out, { "--model": v.model });
  if (v.context !== undefined) throw new UsageError("--context: image grids take --label or --labels; leave --context out");
  if (v.label !== undefined && v.labels !== undefined) throw new UsageError("--label and --labels: give one of them");
  const model = await openModel(v.model, out);
  try {
    const shape = requireImageModel(model, v.model, "sample --grid");
    const classes = labelClasses(model);
    if (model.contextDim > 0 && classes === 0)
      throw new UsageError(`sample --grid: ${v.model} is conditional but not on a one-hot label; draw CSV samples with --context`);
    if (classes === 0 && (v.label !== undefined || v.labels !== undefined))
      throw new UsageError(`--label${v.labels !== undefined ? "s" : ""}: ${v.model} is not class-conditional`);
    if (classes > 0 && v.label === undefined && v.labels === undefined)
      throw new UsageError(`sample --grid: ${v.model} is class-conditional (${classes} classes); give --label k (0..${classes - 1}) or --labels all`);
    if (v.label !== undefined && v.label >= classes) throw new UsageError(`--label: class ${v.label} does not exist; ${v.model} has classes 0..${classes - 1}`);
    const [rows, cols] = v.grid !== undefined ? parseGrid(v.grid) : [v.labels ? Math.min(classes, MAX_GRID_SIDE) : 8, 8];
    if (v.labels && rows !== classes) throw new UsageError(`--grid: --labels all draws one row per class, so ${classes} rows; got ${rows}`);
    const n = rows * cols;
    const labels = v.labels ? Array.from({ length: n }, (_, i) => Math.floor(i / cols)) : v.label !== undefined ? Array(n).fill(v.label) : undefined;
    const sequential = model.info().sampling === "sequential";
    const progress = lazyProgress(out, sequential ? "sampling (sequential passes)" : "sampling", sequential ? "pass" : "chunk");
    const t0 = performance.now();
    const images = sampleImages(model, n, {
      seed: v.seed,
      temperature: v.temperature,
      ...(labels ? { labels } : {}),
      onProgress: progress.update,
    });
    progress.finish();
    const seconds = (performance.now() - t0) / 1000;
    const size = await writeImageGrid(v.out, {
      images,
      imageHeight: shape[0] * shape[1],
      imageWidth: shape[2],
      cols,
      ...(v.labels ? { rowLabels: Array.from({ length: rows }, (_, k) => `${k}`) } : {}),
      title: `Samples of ${v.model}${v.label !== undefined ? `, class ${v.label}` : ""}`,
      note: `seed ${v.seed}, temperature ${v.temperature}${v.labels ? "; one row per class" : ""}`,
    });
    out.result(
      { model: v.model, out: v.out, rows, cols, seed: v.seed, temperature: v.temperature, ...(labels ? { labels: v.labels ?? v.label } : {}), seconds, width: size.width, height: size.height },
      [`wrote ${v.out} (${rows}×${cols} samples in ${seconds.toFixed(1)} s, ${size.width}×${size.height})`],
    );
    return ExitCode.Ok;
  } finally {
    model.dispose();
  }
}
