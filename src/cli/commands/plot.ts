/**
 * `nflow plot density|samples|layers|loss --model m [--data …] --out file.png`: the demo's pictures
 * for any trained model. 2-D models get scatter plots, the density heat map and the layer panels;
 * for D > 2, `samples` is a pair plot of `--dims` and `layers` shows the first two of them.
 */
import { extname } from "node:path";
import { defineCommand, UsageError } from "../args.js";
import { ExitCode, runCommand } from "../output.js";
import { checkOutputPath, parseContextValues, resolveData } from "../data.js";
import { ShapeError } from "../../engine/errors.js";
import { loadModel } from "../../model/load.js";
import { nodeCanvasFactory, savePng, type NodeCanvas } from "../../plot/node-canvas.js";
import { densityPicture, layersPicture, lossPicture, samplesPicture, type PictureInput } from "../pictures.js";

export const PLOT_KINDS = ["density", "samples", "layers", "loss"] as const;
type PlotKind = (typeof PLOT_KINDS)[number];
/** Titles of a conditional model's pictures (the context is appended). */
const PLOT_TITLES: Record<PlotKind, string> = {
  density: "Density p_θ(x | context)",
  samples: "Samples x ~ p_θ(x | context)",
  layers: "The flow layer by layer, z(0) → x",
  loss: "Training: negative log-likelihood per point",
};

export const plotSpec = defineCommand({
  name: "plot",
  summary: "Draw a picture of a trained model as a PNG: its density, samples, the flow layer by layer, or the loss curves.",
  positionals: [{ name: "density|samples|layers|loss", description: "which picture", required: true }],
  flags: {
    model: { type: "string", required: true, placeholder: "file", description: "a model file written by nflow train or nflow demo" },
    data: { type: "string", placeholder: "toy|file", defaultText: "none", description: "data to compare with (a toy name or a table file; its test part when it has one)" },
    out: { type: "string", placeholder: "file.png", defaultText: "<picture>.png", description: "where to write the PNG" },
    dims: { type: "integers", min: 0, defaultText: "0,1,2 (D > 2 only)", description: "dimensions of the pair plot (samples) or the first two for layers, when D > 2" },
    n: { type: "integer", min: 10, default: 2000, description: "points per scatter" },
    seed: { type: "integer", min: 0, default: 0, description: "seed of the model samples (and of toy data)" },
    context: { type: "string", placeholder: "v[,v...]", defaultText: "none", description: "a conditional model is drawn at this context (K values in data units; one-hot labels: 0,0,1,…)" },
    title: { type: "string", placeholder: "text", defaultText: "a description of the picture", description: "the picture's title" },
  },
  notes: [
    "Examples:",
    "  nflow plot density --model moons.nflow --data moons --out density.png",
    "  nflow plot samples --model table.nflow --data table.csv --dims 0,2,5 --out pairs.png",
    "  nflow plot loss --model moons.nflow --out loss.png",
    "  nflow plot density --model cond.nflow --context 0.5 --out density-at-0.5.png   (a conditional model at one context)",
  ],
});

/** Runs `nflow plot` with the words after the command name; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  return runCommand(plotSpec, argv, async ({ args, out }) => {
    const v = args.values;
    const kind = args.positionals[0] as PlotKind;
    if (!(PLOT_KINDS as readonly string[]).includes(kind))
      throw new UsageError(`unknown picture ${JSON.stringify(kind)}: expected one of ${PLOT_KINDS.join(", ")}`);
    const path = v.out ?? `${kind}.png`;
    checkOutputPath(path, "--out", { "--model": v.model, "--data": v.data });
    if (path === "-") throw new UsageError("--out: a picture needs a file name, not -");
    if (extname(path).toLowerCase() !== ".png") throw new UsageError(`--out ${path}: pictures are PNG files; give a name ending in .png`);
    const model = await loadModel(v.model);
    for (const warning of model.warnings) out.warn(warning);
    try {
      const K = model.contextDim;
      if (K > 0 && kind !== "loss" && v.context === undefined)
        throw new UsageError(`${kind}: ${v.model} is a conditional model p(x | context); give the context to draw it at, e.g. --context ${Array(K).fill("0").join(",")}`);
      if (K === 0 && v.context !== undefined) throw new UsageError("--context: this model is unconditional; leave --context out");
      const context = K > 0 && v.context !== undefined ? Array.from(parseContextValues(v.context, K)) : undefined;
      const D = model.dim;
      const dims = v.dims ?? (D > 2 ? [0, 1, 2] : undefined);
      if (dims) {
        for (const d of dims) if (d >= D) throw new UsageError(`--dims: dimension ${d} does not exist, the model has D = ${D} (0..${D - 1})`);
        if (dims.length < 2) throw new UsageError(`--dims: give at least two dimensions, got ${dims.join(",")}`);
      }
      if (kind === "density" && D !== 2)
        throw new UsageError(`density: a density picture needs a 2-D model, this one has D = ${D}; try 'nflow plot samples --dims ${(dims ?? [0, 1, 2]).join(",")}' for a pair plot`);
      let input: PictureInput = { factory: await nodeCanvasFactory(), model, seed: v.seed, n: v.n, ...(context ? { context } : {}) };
      if (v.data !== undefined) {
        // a conditional model's table holds its context columns too: they are not x
        const contextColumns = model.contextInfo?.columns ?? undefined;
        const data = resolveData(v.data, { n: Math.max(v.n, 2000), seed: v.seed + 1_000_003, part: "test", ...(contextColumns ? { contextColumns } : {}) });
        if (data.dim !== D) throw new ShapeError(`--data ${v.data}: has ${data.dim} columns, the model has D = ${D}`);
        const label = data.toy ? `${data.source} (fresh samples)` : context ? `${data.source} (rows of every context)` : data.source;
        input = { ...input, data: data.x, dataLabel: label, ...(data.toy ? { toy: data.toy } : {}) };
      } else if (model.dataInfo?.source && D === 2) {
        // A toy-trained model remembers its toy: use its exact density and entropy in the pictures.
        try {
          const toy = resolveData(model.dataInfo.source, { n: 10, seed: 0 }).toy;
          if (toy) input = { ...input, toy };
        } catch {
          // Not a toy (a file that may have moved): draw without it.
        }
      }
      const at = context ? ` at context (${context.join(", ")})` : "";
      const title = v.title !== undefined ? { title: v.title } : at ? { title: `${PLOT_TITLES[kind]}${at}` } : {};
      let canvas: NodeCanvas;
      switch (kind) {
        case "density":
          canvas = await densityPicture({ ...input, ...title });
          break;
        case "samples":
          canvas = samplesPicture({ ...input, ...(dims ? { dims } : {}), ...title });
          break;
        case "layers":
          canvas = layersPicture({ ...input, ...(dims ? { dims } : {}), ...title });
          break;
        case "loss":
          if (!model.training) throw new UsageError(`loss: ${v.model} has no training record (it was not trained with nflow train, nflow demo or fit)`);
          canvas = lossPicture({ ...input, ...title });
          break;
      }
      await savePng(canvas, path);
      out.result({ picture: kind, out: path, width: canvas.width, height: canvas.height, model: v.model, dim: D, ...(dims && D > 2 ? { dims } : {}), ...(context ? { context } : {}) }, `wrote ${path} (${canvas.width}×${canvas.height}, ${kind} of ${v.model})`);
      return ExitCode.Ok;
    } finally {
      model.dispose();
    }
  });
}
