/**
 * Image grids from a flow: n samples of an unconditional model, or, for a class-conditional one
 * (context = the one-hot label, columns label=0 … label=K−1, as `nflow train --context-column
 * label` makes it), one row of samples per class.
 */
import { ConfigError, ContextError } from "../engine/errors.js";
import type { FlowModel } from "../model/model.js";

export interface ImageSampleOptions {
  /** Seed of the draw. Default 0. */
  seed?: number;
  /** Base temperature (z = μ + T·σ·ε). Default 1. */
  temperature?: number;
  /** Progress of long draws (MAF samples with D sequential passes per layer). */
  onProgress?: (done: number, total: number) => void;
}

/** The number of classes of a class-conditional model (one-hot label context), or 0 when it is not one. */
export function labelClasses(model: FlowModel): number {
  const cols = model.contextInfo?.columns;
  const K = model.contextDim;
  if (K === 0 || !cols || cols.length !== K) return 0;
  return cols.every((c, k) => c === `label=${k}`) ? K : 0;
}

/** The one-hot context rows of `labels` for a model of K classes (checked: integers in 0..K−1). */
export function labelContext(labels: ArrayLike<number>, K: number): Float64Array {
  const out = new Float64Array(labels.length * K);
  for (let i = 0; i < labels.length; i++) {
    const k = labels[i]!;
    if (!(Number.isInteger(k) && k >= 0 && k < K)) throw new ContextError(`label: expected an integer class in 0..${K - 1}, got ${k}`);
    out[i * K + k] = 1;
  }
  return out;
}

/**
 * n images x ~ p(x) (or x ~ p(x | label) when `labels` gives one label per image): n×D values.
 * A conditional model that is not a class-conditional one needs `context` rows instead.
 */
export function sampleImages(model: FlowModel, n: number, o: ImageSampleOptions & { labels?: readonly number[]; context?: Float64Array } = {}): Float64Array {
  const K = model.contextDim;
  let context: Float64Array | undefined = o.context;
  if (o.labels) {
    const classes = labelClasses(model);
    if (classes === 0) throw new ContextError(`labels: this model is not class-conditional (its context is not a one-hot label${K === 0 ? "; it has none" : ""})`);
    if (o.labels.length !== n) throw new ConfigError(`labels: expected one label per image (${n}), got ${o.labels.length}`);
    context = labelContext(o.labels, classes);
  }
  if (K > 0 && !context) throw new ContextError(`sample: this model is conditional; give labels (class-conditional) or ${K} context values per image`);
  const rows = model.sample(n, {
    seed: o.seed ?? 0,
    ...(context ? { context } : {}),
    ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  const D = model.dim;
  const out = new Float64Array(n * D);
  rows.forEach((r, i) => out.set(r, i * D));
  return out;
}
