/**
 * `nflow plot density|samples|layers|loss --model m [--data …] --out file.png`: the demo's pictures
 * for any trained model. 2-D models get scatter plots, the density heat map and the layer panels;
 * for D > 2, `samples` is a pair plot of `--dims` and `layers` shows the first two of them.
 * `layers --direction inverse` draws the normalising direction, x → z(L−1) → … → z(0) (density
 * estimation as the lecture draws it), from the --data rows when given, else from model samples.
 */
import { extname } from "node:path";
import { defineCommand, UsageError } from "../args.js";
import { ExitCode, runCommand } from "../output.js";
import { checkOutputPath, parseContextValues, resolveData } from "../data.js";
import { ShapeError } from "../../engine/errors.js";
import { loadModel } from "../../model/load.js";
import { nodeCanvasFactory, savePng, type NodeCanvas } from "../../plot/node-canvas.js";
import { layersFigure } from "../../plot/layers.js";
import type { FlowModel } from "../../model/model.js";
import { recordedTargetDensity } from "../variational-target.js";
import { densityPicture, headRows, layersPicture, lossPicture, modelSamples, samplesPicture, stagesWithGrid, type PictureInput } from "../pictures.js";
import { quantile } from "../../plot/points.js";

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
    direction: { type: "string", choices: ["forward", "inverse"], default: "forward", description: "layers: forward (generative, z(0) ~ base → … → x) or inverse (normalising, x → z(L−1) → … → z(0), from the --data rows or model samples)" },
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
    "  nflow plot layers --model moons.nflow --data moons --direction inverse --out normalising.png   (x → … → z)",
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
      if (v.direction !== "forward" && kind !== "layers") throw new UsageError(`--direction: only the layers picture has a direction, not ${kind}`);
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
      if (kind === "density" && model.training?.variational) {
        // a model from nflow vi: its target p = p̃/Z beside q, on the same grid and colour scale
        const ref = await recordedTargetDensity(model);
        if ("missing" in ref) out.warn(`${ref.missing}: drawing q alone`);
        else input = { ...input, reference: ref };
      }
      const at = context ? ` at context (${context.join(", ")})` : "";
      const base = kind === "layers" && v.direction === "inverse" ? "Density estimation layer by layer, x → z(0)" : PLOT_TITLES[kind];
      const title = v.title !== undefined ? { title: v.title } : at ? { title: `${base}${at}` } : {};
      let canvas: NodeCanvas;
      switch (kind) {
        case "density":
          canvas = await densityPicture({ ...input, ...title });
          break;
        case "samples":
          canvas = samplesPicture({ ...input, ...(dims ? { dims } : {}), ...title });
          break;
        case "layers":
          canvas =
            v.direction === "inverse"
              ? inverseLayersPicture({ ...input, ...(dims ? { dims } : {}), ...title })
              : layersPicture({ ...input, ...(dims ? { dims } : {}), ...title });
          break;
        case "loss":
          if (!model.training) throw new UsageError(`loss: ${v.model} has no training record (it was not trained with nflow train, nflow demo or fit)`);
          canvas = lossPicture({ ...input, ...title });
          break;
      }
      await savePng(canvas, path);
      out.result({ picture: kind, out: path, ...(kind === "layers" ? { direction: v.direction } : {}), width: canvas.width, height: canvas.height, model: v.model, dim: D, ...(dims && D > 2 ? { dims } : {}), ...(context ? { context } : {}) }, `wrote ${path} (${canvas.width}×${canvas.height}, ${kind} of ${v.model})`);
      return ExitCode.Ok;
    } finally {
      model.dispose();
    }
  });
}

/** What the normalising-direction panels show: the same points at every stage, projected on two dimensions. */
export interface InverseLayersStages {
  /** stages[0] = x (data units), then z(L) = x̃ when the model standardises, …, z(0) = g(x): [x_a, x_b] pairs. */
  stages: Float64Array[];
  /** The square grid drawn in x, through the same stages (`pointsPerLine` points per line). */
  lineStages: Float64Array[];
  pointsPerLine: number;
  labels: string[];
  /** The two dimensions shown. */
  dims: [number, number];
}

/**
 * The stages of the normalising direction for `x` (row-major n × D, data units): the model's own
 * intermediate variables (`FlowModel.inverseLayers`), x → [x̃ →] z(L−1) → … → z(0), for the points
 * and for a 7 × 7 grid of lines over their bulk in the two shown dimensions (the other
 * coordinates at their medians).
 */
export function inverseLayersStages(model: FlowModel, x: Float64Array, dims: readonly number[] | undefined, context?: readonly number[]): InverseLayersStages {
  const D = model.dim;
  const [a, b] = dims && dims.length >= 2 ? [dims[0]!, dims[1]!] : [0, 1];
  const n = x.length / D;
  const centre = Array.from({ length: D }, (_, k) => quantile(Array.from({ length: n }, (_, i) => x[i * D + k]!), 0.5));
  const { stages, lineStages, pointsPerLine } = stagesWithGrid(x, D, [a, b], centre, (rows) => model.inverseLayers(rows, context));
  const S = stages.length;
  const standardized = model.preprocessing !== null;
  const L = standardized ? S - 2 : S - 1;
  const labels = stages.map((_, s) =>
    s === 0 ? (standardized ? "x (data units)" : `x = z(${L})`) : standardized && s === 1 ? `x̃ = z(${L}) (standardised)` : s === S - 1 ? "z = z(0) = g(x)" : `z(${S - 1 - s})`,
  );
  return {
    stages,
    lineStages,
    pointsPerLine,
    labels,
    dims: [a, b],
  };
}

/** The normalising direction layer by layer: the --data rows (or model samples) x → … → z(0). */
export function inverseLayersPicture(input: PictureInput & { dims?: readonly number[]; title?: string }): NodeCanvas {
  const { model } = input;
  const D = model.dim;
  const n = Math.min(input.n ?? 1500, 1500);
  const x = input.data ? headRows(input.data, D, n) : modelSamples(model, n, input.seed ?? 0, input.context);
  const st = inverseLayersStages(model, x, input.dims, input.context);
  const dimsNote = D > 2 ? ` (dimensions ${st.dims[0]} and ${st.dims[1]} of ${D})` : "";
  return layersFigure(input.factory, {
    stages: st.stages,
    labels: st.labels,
    direction: "inverse",
    lines: { stages: st.lineStages, pointsPerLine: st.pointsPerLine },
    title: input.title ?? `Density estimation layer by layer: x → z(L−1) → … → z(0)${dimsNote}`,
    note: `${input.data ? input.dataLabel ?? "data" : "model samples"} in every panel, coloured by where they start in x (hue = angle, lightness = radius); grey: a square grid of x`,
  });
}
