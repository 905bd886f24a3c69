/**
 * The live views, drawn by the library's plot module (the same figures as `nflow plot` and the
 * demo) on browser canvases: loss curves, the density heat map, samples over the data, and the
 * flow layer by layer in either direction. Every model read is asynchronous (works on WebGPU).
 */
import { plot, toyInfo, type FlowModel } from "normalizing-flows";
import type { LossHistory, PointSet } from "./logic.js";

const factory = plot.browserCanvasFactory;
const WIDTH = 640;

/** Puts a figure's canvas into its box (CSS scales it to the box's width). */
export function show(box: HTMLElement, canvas: unknown): HTMLCanvasElement {
  const c = canvas as HTMLCanvasElement;
  c.classList.add("figure");
  box.replaceChildren(c);
  return c;
}

/** At most `max` rows of a point set, evenly spread (the picture, not the statistics). */
export function thin(data: PointSet, max: number): Float64Array {
  if (data.n <= max) return data.x;
  const out = new Float64Array(2 * max);
  for (let i = 0; i < max; i++) {
    const r = Math.floor((i * data.n) / max);
    out[2 * i] = data.x[2 * r]!;
    out[2 * i + 1] = data.x[2 * r + 1]!;
  }
  return out;
}

/** Square limits around the data (shared by the density, samples and drawing views). */
export function dataBounds(data: PointSet): plot.Bounds {
  return plot.boundsOf([data.x], { q: 0.002, pad: 0.15, square: true });
}

export function drawLoss(box: HTMLElement, history: LossHistory, toy: string | undefined): void {
  if (history.train.length < 2) {
    box.replaceChildren(placeholder(history.empty ? "Training and validation loss appear here once training starts." : `step ${history.steps[0]}: training loss ${history.train[0]!.toFixed(3)} — the curves appear from the second evaluation.`));
    return;
  }
  const entropy = toy ? safeEntropy(toy) : undefined;
  const canvas = plot.lossFigure(factory, {
    title: "Negative log-likelihood per point",
    train: { steps: history.steps, values: history.train },
    ...(history.val.length ? { validation: { steps: history.valSteps, values: history.val } } : {}),
    ...(entropy !== undefined ? { reference: { value: entropy, label: `entropy of ${toy} (the best possible)` } } : {}),
    xlabel: "step",
    ylabel: "NLL (nats)",
    smoothing: 0.3,
    width: WIDTH,
    height: 400,
  });
  show(box, canvas);
}

function safeEntropy(toy: string): number | undefined {
  try {
    return toyInfo(toy).entropy;
  } catch {
    return undefined;
  }
}

export async function drawDensity(box: HTMLElement, model: FlowModel, data: PointSet, bounds: plot.Bounds, resolution = 90): Promise<HTMLCanvasElement> {
  const canvas = await plot.densityFigure(factory, {
    title: "Model density p(x) = p_z(g(x)) · |det J_g(x)|",
    panels: [{ title: "", logDensity: (points) => model.logProbAsync(points), points: thin(data, 600) }],
    bounds,
    resolution,
    width: WIDTH,
    note: "white lines enclose 50%, 80%, 95% of the mass; dots: the data",
  });
  return show(box, canvas);
}

export async function drawSamples(box: HTMLElement, model: FlowModel, data: PointSet, bounds: plot.Bounds): Promise<void> {
  const samples = await model.sampleAsync(Math.min(1000, Math.max(300, data.n)), { seed: 123 });
  const canvas = plot.scatterFigure(factory, {
    title: "Samples x = f(z), z ~ base, over the data",
    panels: [
      {
        series: [
          { points: thin(data, 1000), label: "data", color: "#9aa4b1", radius: 2, alpha: 0.5 },
          { points: samples, label: "model samples", color: "#d1495b", radius: 2, alpha: 0.7 },
        ],
      },
    ],
    bounds,
    width: WIDTH,
    height: 560,
  });
  show(box, canvas);
}

/** The stages of one direction, with the labels of their panels and grid lines for z → x. */
export interface LayerStages {
  direction: "forward" | "inverse";
  stages: Float64Array[];
  labels: string[];
  lines?: { stages: Float64Array[]; pointsPerLine: number };
}

const flat = (rows: number[][]): Float64Array => Float64Array.from(rows.flat());

/**
 * z → x: codes z = g(x) of model samples (distributed as the base) pushed forward layer by layer,
 * with a square grid of z(0) bent by every layer (as `nflow plot layers`). x → z: the data pulled
 * back through the layers, x, z(L), …, z(0).
 */
export async function layerStages(model: FlowModel, data: PointSet, direction: "forward" | "inverse"): Promise<LayerStages> {
  const standardized = model.preprocessing !== null;
  if (direction === "inverse") {
    const x = thin(data, 700);
    const stages = (await model.inverseLayersAsync(x)).map(flat);
    const S = stages.length;
    const L = standardized ? S - 2 : S - 1;
    const labels = stages.map((_, s) => {
      if (standardized && s === 0) return "x (data units)";
      const l = L - (s - (standardized ? 1 : 0));
      return l === L && !standardized ? `x = z(${L})` : l === 0 ? "z(0) = g(x)" : `z(${l})`;
    });
    return { direction, stages, labels };
  }
  const n = 700;
  const z0 = flat(await model.encodeAsync(await model.sampleAsync(n, { seed: 321 })));
  const per = 40;
  const count = 7;
  const qs = (k: number): [number, number] => {
    const col = Array.from({ length: n }, (_, i) => z0[2 * i + k]!);
    return [plot.quantile(col, 0.02), plot.quantile(col, 0.98)];
  };
  const [[a0, a1], [b0, b1]] = [qs(0), qs(1)];
  const grid: number[] = [];
  for (let k = 0; k < count; k++) {
    const u = a0 + ((a1 - a0) * k) / (count - 1);
    for (let t = 0; t < per; t++) grid.push(u, b0 + ((b1 - b0) * t) / (per - 1));
    const v = b0 + ((b1 - b0) * k) / (count - 1);
    for (let t = 0; t < per; t++) grid.push(a0 + ((a1 - a0) * t) / (per - 1), v);
  }
  const all = new Float64Array(z0.length + grid.length);
  all.set(z0);
  all.set(grid, z0.length);
  const rows = await model.forwardLayersAsync(all);
  const stages = rows.map((r) => flat(r.slice(0, n)));
  const lineStages = rows.map((r) => flat(r.slice(n)));
  const S = stages.length;
  const L = standardized ? S - 2 : S - 1;
  const labels = stages.map((_, s) => (s === 0 ? "z(0) ~ base" : standardized && s === S - 1 ? "x (data units)" : !standardized && s === L ? `x = z(${L})` : `z(${s})`));
  return { direction, stages, labels, lines: { stages: lineStages, pointsPerLine: per } };
}

/** One stage of the flow, coloured by where the points start (z(0) for z → x, x for x → z). */
export function drawLayer(box: HTMLElement, stages: LayerStages, index: number): void {
  const s = Math.max(0, Math.min(stages.stages.length - 1, index));
  const canvas = plot.layersFigure(factory, {
    stages: stages.stages,
    labels: stages.labels,
    ...(stages.lines ? { lines: stages.lines } : {}),
    show: [s],
    width: WIDTH,
    height: 560,
    title: stages.direction === "forward" ? `z → x, generative: ${stages.labels[s]}` : `x → z, normalising: ${stages.labels[s]}`,
    note: stages.direction === "forward" ? "colour: where each point starts in z(0); grey: a square grid of z(0)" : "colour: where each point starts in x",
  });
  show(box, canvas);
}

export function placeholder(text: string): HTMLElement {
  const p = document.createElement("p");
  p.className = "placeholder";
  p.textContent = text;
  return p;
}
