/**
 * Tiny image data and models for task tests: 4×4 grey "bars" (one bright row or column on a dark
 * background, as 0..255 integers) and small flows fitted to them in seconds.
 */
import { hostRng } from "../../src/engine/random.js";
import { fit } from "../../src/model/fit.js";
import type { FitConfig } from "../../src/model/fit.js";
import type { FlowModel } from "../../src/model/model.js";

/** n 4×4 bar images as integers 0..255 (row-major, 16 values each), and their labels (0 row, 1 column). */
export function barImages(n: number, seed = 1): { x: Float64Array; labels: number[] } {
  const u = hostRng(seed);
  const x = new Float64Array(n * 16);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const vertical = u() < 0.5;
    const k = Math.floor(u() * 4);
    labels.push(vertical ? 1 : 0);
    for (let r = 0; r < 4; r++)
      for (let q = 0; q < 4; q++) {
        const on = vertical ? q === k : r === k;
        x[i * 16 + r * 4 + q] = on ? 200 + Math.floor(u() * 56) : Math.floor(u() * 30);
      }
  }
  return { x, labels };
}

/** A flow fitted to bar images with dequantisation (density on [0,1]^16). */
export async function fitTinyImageModel(config: Omit<FitConfig, "image">, steps = 300, context?: Float64Array): Promise<FlowModel> {
  const { x } = barImages(1200);
  return fit(
    { ...config, image: [1, 4, 4] },
    { x, n: 1200, dim: 16, ...(context ? { context } : {}) },
    { steps, batchSize: 100, lr: 3e-3, evalEvery: 100, seed: 0, dequantize: { kind: "uniform", levels: 256 } },
  );
}
