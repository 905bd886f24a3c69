/**
 * From a trained model to the pictures of `nflow demo` and `nflow plot`: this file turns a
 * FlowModel into the plain numbers the plot layer draws (samples, a log-density callback, the
 * points after every layer, the training record). The plot layer itself never sees a model.
 */
import type { FlowModel } from "../model/model.js";
import type { ToyInfo } from "../data/toys.js";
import type { CanvasFactory } from "../plot/canvas.js";
import type { NodeCanvas } from "../plot/node-canvas.js";
import { boundsOf, quantile, type Bounds } from "../plot/points.js";
import { scatterFigure } from "../plot/scatter.js";
import { densityFigure, type DensityPanel } from "../plot/density.js";
import type { LogDensityFn } from "../plot/grid.js";
import { layersFigure } from "../plot/layers.js";
import { lossFigure } from "../plot/loss.js";
import { pairPlotFigure } from "../plot/pair-plot.js";
import { densityStepsFigure } from "../plot/density-steps.js";
import { categorical } from "../plot/colormap.js";

/** What the pictures are drawn from. */
export interface PictureInput {
  factory: CanvasFactory<NodeCanvas>;
  model: FlowModel;
  /** Data rows (row-major n × D) to compare with, and what to call them. */
  data?: Float64Array;
  dataLabel?: string;
  /** The toy, when the data is one (its exact density and entropy). */
  toy?: ToyInfo;
  /** Seed of the model samples. */
  seed?: number;
  /** Points per scatter (default 2000). */
  n?: number;
  /** The context every picture of a conditional model is drawn at (one row of K values, data units). */
  context?: readonly number[];
  /** A density the model was fitted to (a variational target), drawn beside the model's density. */
  reference?: ReferenceDensity;
}

/** A normalised density to compare the model with, and where nearly all of its mass lies. */
export interface ReferenceDensity {
  title: string;
  logDensity: LogDensityFn;
  bounds?: Bounds;
}

const flat = (rows: readonly (readonly number[])[]): Float64Array => {
  const D = rows[0]?.length ?? 0;
  const out = new Float64Array(rows.length * D);
  rows.forEach((r, i) => out.set(r, i * D));
  return out;
};

/** The first n rows of a row-major table. */
export function headRows(x: Float64Array, dim: number, n: number): Float64Array {
  return x.subarray(0, Math.min(x.length, n * dim));
}

/** Model samples as row-major numbers (at `context` for a conditional model). */
export function modelSamples(model: FlowModel, n: number, seed: number, context?: readonly number[]): Float64Array {
  return flat(model.sample(n, { seed, ...(context ? { context } : {}) }));
}

/** Limits for 2-D pictures: from the data when given, else from model samples. */
export function pictureBounds(input: PictureInput): Bounds {
  const pts = input.data ? headRows(input.data, 2, 5000) : modelSamples(input.model, 2000, input.seed ?? 0, input.context);
  return boundsOf([pts], { q: 0.002, pad: 0.12 });
}

function unionBounds(a: Bounds, b: Bounds): Bounds {
  return [
    [Math.min(a[0][0], b[0][0]), Math.max(a[0][1], b[0][1])],
    [Math.min(a[1][0], b[1][0]), Math.max(a[1][1], b[1][1])],
  ];
}

function need2d(model: FlowModel, what: string): void {
  if (model.dim !== 2) throw new RangeError(`${what}: needs a 2-D model, this one has D = ${model.dim} (use samples with --dims for a pair plot)`);
}

/** The data alone. */
export function dataPicture(input: PictureInput & { data: Float64Array; title: string; note?: string }): NodeCanvas {
  return scatterFigure(input.factory, {
    title: input.title,
    panels: [{ title: `${input.dataLabel ?? "data"}: ${Math.min(input.n ?? 2000, input.data.length / 2)} points`, series: [{ points: headRows(input.data, 2, input.n ?? 2000), alpha: 0.5 }] }],
    width: 800,
    ...(input.note ? { note: input.note } : {}),
  });
}

/** Data | model samples (2-D), or a pair plot of chosen dimensions (D > 2). */
export function samplesPicture(input: PictureInput & { dims?: readonly number[]; title?: string }): NodeCanvas {
  const { model } = input;
  const n = input.n ?? 2000;
  const samples = modelSamples(model, n, input.seed ?? 0, input.context);
  if (model.dim !== 2) {
    const series = [
      ...(input.data ? [{ points: headRows(input.data, model.dim, n), label: input.dataLabel ?? "data", color: categorical(0) }] : []),
      { points: samples, label: "model samples", color: categorical(1) },
    ];
    return pairPlotFigure(input.factory, {
      series,
      dim: model.dim,
      ...(input.dims ? { dims: input.dims } : {}),
      ...(model.dataInfo?.columns ? { names: model.dataInfo.columns } : {}),
      title: input.title ?? `Data and model samples (dimensions ${(input.dims ?? [0, 1, 2, 3].filter((d) => d < model.dim)).join(", ")} of ${model.dim})`,
    });
  }
  const shown = input.data ? headRows(input.data, 2, n) : undefined;
  const panels = [
    ...(shown ? [{ title: `${input.dataLabel ?? "data"}: ${shown.length / 2} points`, series: [{ points: shown, color: categorical(0), alpha: 0.5 }] }] : []),
    { title: `model: ${n} samples x = f(z), z ~ base`, series: [{ points: samples, color: categorical(1), alpha: 0.5 }] },
  ];
  return scatterFigure(input.factory, {
    title: input.title ?? "Data and samples from the trained flow",
    panels,
    bounds: input.data ? pictureBounds(input) : boundsOf([samples], { q: 0.002, pad: 0.12 }),
  });
}

/** The model's density exp(log p) as a heat map (beside the true density when the toy has one). */
export async function densityPicture(input: PictureInput & { title?: string }): Promise<NodeCanvas> {
  const { model } = input;
  need2d(model, "density");
  const points = input.data ? headRows(input.data, 2, 1500) : undefined;
  const panels: DensityPanel[] = [];
  if (input.toy?.logDensity) panels.push({ title: `true density of ${input.toy.name}`, logDensity: input.toy.logDensity });
  const ref = input.reference;
  if (ref) panels.push({ title: ref.title, logDensity: ref.logDensity });
  panels.push({ title: ref ? "fit q_θ(x)" : "model density p_θ(x)", logDensity: (pts) => model.logProb(pts, input.context), ...(points ? { points } : {}) });
  // a reference's own box joins the model's, so that mass q misses is in the picture too
  const bounds = pictureBounds(input);
  return densityFigure(input.factory, {
    title: input.title ?? (ref ? "Target and fit: p(x) and q_θ(x) on a grid, one colour scale" : "Density: p_θ(x) = p_z(g(x)) · |det J_g(x)| on a grid"),
    panels,
    bounds: ref?.bounds ? unionBounds(bounds, ref.bounds) : bounds,
    ...(points ? { note: "white lines enclose 50%, 80%, 95% of each density's mass; dots: held-out data" } : {}),
  });
}

/** The 2-D views of a flow's stages for points and for a square grid drawn among them (layer pictures). */
export interface StagesWithGrid {
  /** Per stage, the points' two shown coordinates (row-major n × 2). */
  stages: Float64Array[];
  /** Per stage, the grid lines' two shown coordinates (`pointsPerLine` points per line, row after row). */
  lineStages: Float64Array[];
  pointsPerLine: number;
}

/**
 * Runs the rows of `x` (row-major, D columns) and a 7 × 7 grid of lines over their 2–98 % range in
 * dimensions a and b (the other coordinates at `centre`) through `run` (the model's stages,
 * forward or inverse: rows → stage → row → coordinates) in one call, and projects every stage on (a, b).
 */
export function stagesWithGrid(
  x: Float64Array,
  D: number,
  [a, b]: readonly [number, number],
  centre: readonly number[],
  run: (rows: Float64Array) => number[][][],
): StagesWithGrid {
  const n = x.length / D;
  const col = (k: number): number[] => Array.from({ length: n }, (_, i) => x[i * D + k]!);
  const [alo, ahi] = [quantile(col(a), 0.02), quantile(col(a), 0.98)];
  const [blo, bhi] = [quantile(col(b), 0.02), quantile(col(b), 0.98)];
  const pointsPerLine = 50;
  const lines = 7;
  const grid: number[] = [];
  const push = (u: number, v: number): void => {
    const row = centre.slice();
    row[a] = u;
    row[b] = v;
    grid.push(...row);
  };
  const along = (lo: number, hi: number, t: number, count: number): number => lo + ((hi - lo) * t) / (count - 1);
  for (let k = 0; k < lines; k++) {
    const u = along(alo, ahi, k, lines);
    for (let t = 0; t < pointsPerLine; t++) push(u, along(blo, bhi, t, pointsPerLine));
    const v = along(blo, bhi, k, lines);
    for (let t = 0; t < pointsPerLine; t++) push(along(alo, ahi, t, pointsPerLine), v);
  }
  const all = new Float64Array(x.length + grid.length);
  all.set(x);
  all.set(grid, x.length);
  const stagesAll = run(all);
  const total = all.length / D;
  const project = (rows: number[][], from: number, to: number): Float64Array => {
    const out = new Float64Array(2 * (to - from));
    for (let i = from; i < to; i++) {
      out[2 * (i - from)] = rows[i]![a]!;
      out[2 * (i - from) + 1] = rows[i]![b]!;
    }
    return out;
  };
  return {
    stages: stagesAll.map((st) => project(st, 0, n)),
    lineStages: stagesAll.map((st) => project(st, n, total)),
    pointsPerLine,
  };
}

/**
 * The same points after every layer. z(0) are the codes of model samples, z = g(x) (distributed as
 * the base for any base density), pushed forward again layer by layer; a square grid drawn in z(0)
 * travels with them. For D > 2 the first two of `dims` are shown.
 */
export function layersPicture(input: PictureInput & { dims?: readonly number[]; title?: string }): NodeCanvas {
  const { model } = input;
  const D = model.dim;
  const [a, b] = input.dims && input.dims.length >= 2 ? [input.dims[0]!, input.dims[1]!] : [0, 1];
  const n = Math.min(input.n ?? 1500, 1500);
  const z0 = flat(model.encode(modelSamples(model, n, input.seed ?? 0, input.context), input.context));
  // Grid lines over the bulk of z(0) in the two shown dimensions (others at 0, the base's centre).
  const { stages, lineStages, pointsPerLine } = stagesWithGrid(z0, D, [a, b], new Array<number>(D).fill(0), (rows) =>
    model.forwardLayers(rows, input.context),
  );
  const S = stages.length;
  const standardized = model.preprocessing !== null;
  const L = standardized ? S - 2 : S - 1;
  const labels = stages.map((_, s) =>
    s === 0 ? "z(0) ~ base" : standardized && s === S - 1 ? "x (data units)" : !standardized && s === L ? `x = z(${L})` : `z(${s})`,
  );
  const dimsNote = D > 2 ? ` (dimensions ${a} and ${b} of ${D})` : "";
  return layersFigure(input.factory, {
    stages,
    labels,
    lines: { stages: lineStages, pointsPerLine },
    title: input.title ?? `The flow layer by layer: z(0) → z(1) → … → x${dimsNote}`,
    note: "the same points in every panel, coloured by where they start in z(0) (hue = angle, lightness = radius); grey: a square grid of z(0)",
  });
}

/** Training and validation loss from the model's training record. */
export function lossPicture(input: PictureInput & { title?: string }): NodeCanvas {
  const t = input.model.training;
  if (!t || t.history.step.length === 0) throw new RangeError("loss: this model has no training record (was it trained with nflow train / fit?)");
  const h = t.history;
  const val = h.step.map((s, i) => [s, h.valLoss[i]] as const).filter((p): p is readonly [number, number] => p[1] !== null && p[1] !== undefined);
  const entropy = input.toy?.entropy;
  const vi = t.variational;
  // variational inference minimises −ELBO = KL(q ‖ p) − log Z ≥ −log Z: the true −log Z is its floor
  const reference =
    vi && vi.trueLogZ !== null
      ? { value: -vi.trueLogZ, label: `−log Z of ${vi.target} (the best possible −ELBO)` }
      : entropy !== undefined
        ? { value: entropy, label: `entropy of ${input.toy!.name} (the best possible NLL)` }
        : undefined;
  return lossFigure(input.factory, {
    title: input.title ?? (vi ? `Variational inference: −ELBO per step (q fitted to ${vi.target})` : "Training: negative log-likelihood per point"),
    train: { steps: h.step, values: h.trainLoss.map((v) => v ?? NaN) },
    ...(val.length ? { validation: { steps: val.map((p) => p[0]), values: val.map((p) => p[1]) } } : {}),
    ...(reference ? { reference } : {}),
    ylabel: vi ? "−ELBO (nats)" : "NLL (nats per point)",
    smoothing: Math.min(0.5, Math.max(0.02, 8 / h.step.length)),
    note: vi
      ? `${t.steps} steps, ${vi.samplesPerStep} samples of q per step; best −ELBO at step ${t.bestStep}`
      : `${t.steps} steps, batch ${t.batchSize}, ${t.nTrain} training rows; best ${t.monitor} loss at step ${t.bestStep}`,
  });
}

/**
 * Density estimation step by step for a few points: x, z = g(x), the normalisation, p(x). Needs a
 * standard-normal base (log p_z(z) = −(D/2) log 2π − |z|²/2 is then known on the host) and D = 2.
 */
export async function densityStepsPicture(input: PictureInput & { data: Float64Array }): Promise<NodeCanvas | undefined> {
  const { model } = input;
  if (model.dim !== 2 || model.config.base.kind !== "standard-normal") return undefined;
  const data = headRows(input.data, 2, 2000);
  const lp = model.logProb(data);
  // Points at the 90th, 50th and 10th percentile of log p, and the centre of the data (often a hole).
  const order = Array.from(lp, (_, i) => i).sort((i, j) => lp[i]! - lp[j]!);
  const pick = [0.9, 0.5, 0.1].map((q) => order[Math.floor(q * (order.length - 1))]!);
  const queries: number[] = pick.flatMap((i) => [data[2 * i]!, data[2 * i + 1]!]);
  let [cx, cy] = [0, 0];
  for (let i = 0; i < data.length / 2; i++) {
    cx += data[2 * i]! / (data.length / 2);
    cy += data[2 * i + 1]! / (data.length / 2);
  }
  queries.push(cx, cy);
  const q = Float64Array.from(queries);
  const latents = flat(model.encode(q));
  const logP = model.logProb(q);
  const logBase = Float64Array.from({ length: 4 }, (_, i) => -Math.log(2 * Math.PI) - (latents[2 * i]! ** 2 + latents[2 * i + 1]! ** 2) / 2);
  const logDet = Float64Array.from(logP, (l, i) => l - logBase[i]!);
  const sub = headRows(data, 2, 800);
  return densityStepsFigure(input.factory, {
    queries: q,
    latents,
    logBase,
    logDet,
    data: sub,
    dataLatent: flat(model.encode(sub)),
    modelLogDensity: (pts) => model.logProb(pts),
    bounds: pictureBounds(input),
  });
}
