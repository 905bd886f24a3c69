/**
 * Pieces shared by the commands that use a saved model: the `--model` flag, loading with a
 * note, and evaluation in slices so that a progress bar can move.
 */
import type { FlagSpec } from "../args.js";
import type { Output } from "../output.js";
import { loadModel } from "../../model/load.js";
import type { FlowModel } from "../../model/model.js";

/** The `--model` flag of every command that reads a model file. */
export const MODEL_FLAG = {
  type: "string",
  required: true,
  placeholder: "file",
  description: "a model file written by 'nflow train'",
} as const satisfies FlagSpec;

/** Values per slice between two progress updates (4096 rows of 2-D data … 167 images of 784 pixels). */
export const SLICE_VALUES = 2 ** 17;

/** Rows per slice for rows of `width` values: between 64 and 4096. */
export function sliceRows(width: number): number {
  return Math.min(4096, Math.max(64, Math.floor(SLICE_VALUES / width)));
}

/** Loads `--model` (FileFormatError with one line on any problem); its warnings go to stderr. */
export async function openModel(path: string, out: Output): Promise<FlowModel> {
  out.note(`loading ${path}`);
  const model = await loadModel(path);
  for (const warning of model.warnings) out.warn(warning);
  return model;
}

/**
 * Applies `fn` to slices of n rows of `width` values (and of the context), with a progress bar;
 * concatenates the results (`outWidth` values per row).
 */
export function inSlices(
  out: Output,
  label: string,
  n: number,
  width: number,
  x: Float64Array,
  context: Float64Array | undefined,
  contextWidth: number,
  outWidth: number,
  fn: (x: Float64Array, context: Float64Array | undefined) => ArrayLike<number> | number[][],
): Float64Array {
  const result = new Float64Array(n * outWidth);
  const progress = out.progress({ label, total: n, unit: "row" });
  const rows = sliceRows(width);
  for (let start = 0; start < n; start += rows) {
    const m = Math.min(rows, n - start);
    const xs = x.subarray(start * width, (start + m) * width);
    const cs = context?.subarray(start * contextWidth, (start + m) * contextWidth);
    const r = fn(xs, cs);
    if (Array.isArray(r) && Array.isArray(r[0])) {
      (r as number[][]).forEach((row, i) => result.set(row, (start + i) * outWidth));
    } else {
      result.set(r as ArrayLike<number>, start * outWidth);
    }
    progress.update(start + m);
  }
  progress.finish();
  return result;
}
