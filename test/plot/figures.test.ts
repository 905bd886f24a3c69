import { test } from "node:test";
import assert from "node:assert/strict";
import type { Axes } from "../../src/plot/axes.js";
import { nodeCanvasFactory } from "../../src/plot/node-canvas.js";
import { scatterFigure } from "../../src/plot/scatter.js";
import { densityFigure } from "../../src/plot/density.js";
import { layersFigure, pickStages, startColors } from "../../src/plot/layers.js";
import { lossFigure, movingAverage } from "../../src/plot/loss.js";
import { imageGridFigure } from "../../src/plot/image-grid.js";
import { histogram, pairPlotFigure } from "../../src/plot/pair-plot.js";
import { densityStepsFigure } from "../../src/plot/density-steps.js";
import { hostRng } from "../../src/engine/random.js";
import { assertNonTrivial, checkedPixels, luminance, rgbAt } from "./png.js";

/** n seeded 2-D Gaussian points N(mean, s²I), interleaved. */
function gaussian(n: number, mean: [number, number], s: number, seed: number): Float64Array {
  const u = hostRng(seed);
  const out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const a = 2 * Math.PI * u();
    out[2 * i] = mean[0] + s * r * Math.cos(a);
    out[2 * i + 1] = mean[1] + s * r * Math.sin(a);
  }
  return out;
}

const logGauss = (mean: [number, number], s: number) => (p: Float64Array): Float64Array =>
  Float64Array.from({ length: p.length / 2 }, (_, i) => -Math.log(2 * Math.PI * s * s) - ((p[2 * i]! - mean[0]) ** 2 + (p[2 * i + 1]! - mean[1]) ** 2) / (2 * s * s));

test("scatter: data | samples panels at the requested size", async () => {
  const f = await nodeCanvasFactory();
  const c = scatterFigure(f, {
    title: "Data and samples",
    panels: [
      { title: "data", series: [{ points: gaussian(500, [0, 0], 1, 1), label: "data" }] },
      { title: "samples", series: [{ points: Array.from({ length: 300 }, (_, i) => [Math.cos(i), Math.sin(i)]), label: "samples" }] },
    ],
    width: 820,
    height: 400,
  });
  assertNonTrivial(await checkedPixels(c, 820, 400), "scatter");
  assert.throws(() => scatterFigure(f, { panels: [] }), /at least one panel/);
  assert.throws(() => scatterFigure(f, { panels: [{ series: [{ points: [1, 2, 3] }] }] }), /multiple of 2/);
});

test("density: bright at the mode of a known Gaussian, dark in the corner", async () => {
  const f = await nodeCanvasFactory();
  let axes: readonly Axes[] = [];
  const mode: [number, number] = [1, -0.5];
  const c = await densityFigure(f, {
    title: "A Gaussian",
    panels: [{ title: "p(x)", logDensity: logGauss(mode, 0.6) }],
    bounds: [[-3, 3], [-3, 3]],
    width: 800,
    height: 640,
    onAxes: (a) => (axes = a),
  });
  const px = await checkedPixels(c, 800, 640);
  assertNonTrivial(px, "density");
  const ax = axes[0]!;
  const atMode = luminance(px, ax.px(mode[0]) + 6, ax.py(mode[1]) + 6);
  const corner = luminance(px, ax.px(-2.8), ax.py(2.8));
  assert.ok(atMode > corner + 100, `mode luminance ${atMode} should exceed the corner's ${corner}`);
  // Viridis: the top of the colour map (yellow, high red + green) sits at the mode.
  const [r, g, b] = rgbAt(px, ax.px(mode[0]) + 6, ax.py(mode[1]) + 6);
  assert.ok(r > 180 && g > 180 && b < 120, `mode colour ${[r, g, b]} is not the top of viridis`);
});

test("density: two panels share one colour scale (a wider Gaussian is dimmer)", async () => {
  const f = await nodeCanvasFactory();
  let axes: readonly Axes[] = [];
  const c = await densityFigure(f, {
    panels: [{ logDensity: logGauss([0, 0], 0.5) }, { logDensity: logGauss([0, 0], 1) }],
    bounds: [[-3, 3], [-3, 3]],
    onAxes: (a) => (axes = a),
  });
  const px = await checkedPixels(c);
  const peak = (i: number): number => luminance(px, axes[i]!.px(0.05), axes[i]!.py(0.05));
  assert.ok(peak(0) > peak(1) + 60, `narrow peak ${peak(0)} vs wide peak ${peak(1)}`);
});

test("layers: the same points in every panel, coloured by where they started", async () => {
  const f = await nodeCanvasFactory();
  const z = gaussian(400, [0, 0], 1, 3);
  const stages = [z];
  for (let l = 0; l < 4; l++) {
    const prev = stages[l]!;
    stages.push(Float64Array.from(prev, (v, k) => (k % 2 === 0 ? v + 0.3 * Math.sin(prev[k + 1]!) : v * (1 + 0.2 * l))));
  }
  const c = layersFigure(f, { stages, title: "layers", lines: { stages: stages.map((s) => s.subarray(0, 40)), pointsPerLine: 20 } });
  assertNonTrivial(await checkedPixels(c), "layers");
  const colors = startColors(z);
  assert.equal(colors.length, 400);
  assert.ok(new Set(colors).size > 300, "colours distinguish the points");
  assert.deepEqual(pickStages(9, 6), [0, 2, 3, 5, 6, 8]);
  assert.deepEqual(pickStages(3, 6), [0, 1, 2]);
  assert.throws(() => layersFigure(f, { stages: [z] }), /at least 2 stages/);
  assert.throws(() => layersFigure(f, { stages, labels: ["a"] }), /labels/);
});

test("loss: curves with validation and a reference line", async () => {
  const f = await nodeCanvasFactory();
  const values = Array.from({ length: 300 }, (_, i) => 1.7 + 2 * Math.exp(-i / 50) + 0.05 * Math.sin(i));
  const c = lossFigure(f, {
    train: { values },
    validation: { steps: [50, 100, 150, 200, 250, 300], values: [2.5, 2.0, 1.85, 1.8, 1.78, 1.77] },
    reference: { value: 1.6747, label: "entropy" },
    title: "loss",
  });
  assertNonTrivial(await checkedPixels(c, 800, 480), "loss");
  // The bias-corrected moving average of a constant is that constant.
  assert.deepEqual(Array.from(movingAverage([2, 2, 2], 0.1)), [2, 2, 2]);
  assert.throws(() => lossFigure(f, { train: { values: [] } }), /empty/);
  assert.throws(() => lossFigure(f, { train: { steps: [1, 2], values: [1] } }), /2 steps but 1 values/);
});

test("image grid: grey images in a grid, white gaps, black = range start", async () => {
  const f = await nodeCanvasFactory();
  const n = 6;
  const images = new Float64Array(n * 8 * 8).map((_, k) => ((k % 64) % 8) / 7); // horizontal ramps
  const c = imageGridFigure(f, { images, imageHeight: 8, imageWidth: 8, cols: 3, scale: 10, title: "ramps" });
  const px = await checkedPixels(c);
  assertNonTrivial(px, "image grid");
  // First image starts at x0 = (width − grid)/2, y = 44; its left column is black, right column white.
  const gridW = 3 * 80 + 2 * 4;
  const x0 = Math.round((px.width - gridW) / 2);
  assert.ok(luminance(px, x0 + 2, 44 + 5) < 5);
  assert.ok(luminance(px, x0 + 77, 44 + 5) > 250);
  assert.throws(() => imageGridFigure(f, { images: new Float64Array(10), imageHeight: 3, imageWidth: 3 }), /N·3·3/);
});

test("pair plot: chosen dimensions of D = 4 data, histograms on the diagonal", async () => {
  const f = await nodeCanvasFactory();
  const u = hostRng(5);
  const pts = Float64Array.from({ length: 4 * 400 }, () => u() * 2 - 1);
  const c = pairPlotFigure(f, { series: [{ points: pts, label: "data" }, { points: pts.map((v) => v * 0.5), label: "model" }], dim: 4, dims: [0, 2, 3], title: "pairs" });
  assertNonTrivial(await checkedPixels(c), "pair plot");
  const h = histogram([0.1, 0.2, 0.9, 5], [0, 1], 2);
  // 3 of 4 values inside, bin width 0.5: densities 2/(4·0.5) and 1/(4·0.5).
  assert.deepEqual(Array.from(h), [1, 0.5]);
  assert.throws(() => pairPlotFigure(f, { series: [{ points: pts }], dim: 4, dims: [0, 4] }), /outside 0..3/);
});

test("density estimation step by step: four panels from plain numbers", async () => {
  const f = await nodeCanvasFactory();
  const queries = [[1, 0], [0, 1], [-1, -1], [2, 2]];
  const latents = queries.map(([a, b]) => [a! / 2, b! / 2]); // g(x) = x/2: log|det J_g| = 2 log ½
  const logBase = latents.map(([a, b]) => -Math.log(2 * Math.PI) - (a! ** 2 + b! ** 2) / 2);
  const logDet = latents.map(() => 2 * Math.log(0.5));
  const c = await densityStepsFigure(f, { queries, latents, logBase, logDet, data: gaussian(300, [0, 0], 2, 9), modelLogDensity: logGauss([0, 0], 2) });
  assertNonTrivial(await checkedPixels(c, 1000, 900), "density steps");
  await assert.rejects(densityStepsFigure(f, { queries, latents, logBase: [0], logDet }), /one per query/);
});
