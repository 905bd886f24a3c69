/**
 * The target a model from `nflow vi` was fitted to, found again from its training record (a
 * built-in by name; a module by the path given to --target, relative to the working directory,
 * when it is still there), and its normalised density p(x) = p̃(x)/Z for the density picture.
 */
import { existsSync } from "node:fs";
import { basename } from "node:path";
import type { FlowModel } from "../model/model.js";
import type { VariationalRecord } from "../io/model-format.js";
import { fromValues } from "../engine/dtype.js";
import { builtinTarget } from "../targets/builtin.js";
import { loadTargetModule } from "../targets/module.js";
import { checkTargetOutput, type Target } from "../targets/target.js";
import type { ReferenceDensity } from "./pictures.js";

/** The recorded target, or why it cannot be had (a module that has moved); a broken module throws as in `nflow vi`. */
export async function recordedTarget(model: FlowModel): Promise<{ target: Target } | { missing: string }> {
  const rec = model.training?.variational;
  if (!rec) return { missing: "the model was not fitted by variational inference" };
  if (rec.targetKind === "builtin") return { target: builtinTarget(rec.target) };
  if (!existsSync(rec.target)) return { missing: `${rec.target}: the target module is not there any more` };
  return { target: await loadTargetModule(rec.target, { dim: model.dim }) };
}

/**
 * log p̃ at the rows of `points` (row-major, target.dim columns; host float64 out), evaluated
 * eagerly in chunks: with the array API, or row by row for a target of plain numbers.
 */
export function targetLogDensity(target: Target, points: Float64Array): Float64Array {
  const D = target.dim;
  const n = points.length / D;
  const out = new Float64Array(n);
  if (target.hostLogDensity) {
    for (let i = 0; i < n; i++) out[i] = target.hostLogDensity(Array.from(points.subarray(i * D, (i + 1) * D)));
    return out;
  }
  const chunk = 8192;
  for (let from = 0; from < n; from += chunk) {
    const m = Math.min(chunk, n - from);
    out.set(checkTargetOutput(target, fromValues(points.subarray(from * D, (from + m) * D), [m, D], "float32")), from);
  }
  return out;
}

/**
 * The target's normalised density, log p = log p̃ − log Z with the true log Z where the record
 * knows it, else with the importance-sampled log Ẑ of q (the title says which); `missing`, with
 * the reason, when neither is finite. Its bounds are the target's box, when it has one.
 */
export function targetDensity(target: Target, rec: VariationalRecord): ReferenceDensity | { missing: string } {
  const known = rec.trueLogZ !== null;
  const logZ = rec.trueLogZ ?? rec.logZ;
  if (logZ === null || !Number.isFinite(logZ)) return { missing: `${rec.target}: neither its log Z nor an estimate log Ẑ is known, so its density cannot be normalised` };
  // a module's file name, not its path: a panel title has room for about 50 characters
  const name = rec.targetKind === "module" ? basename(rec.target) : rec.target;
  return {
    title: known ? `target ${name}: p̃/Z, true log Z = ${logZ.toFixed(4)}` : `target ${name}: p̃/Ẑ, estimated log Ẑ = ${logZ.toFixed(4)}`,
    logDensity: (pts) => targetLogDensity(target, pts).map((v) => v - logZ),
    ...(target.bounds && target.bounds.length === 2 ? { bounds: [target.bounds[0]!, target.bounds[1]!] as const } : {}),
  };
}

/** The target's density for `nflow plot density` on a model from `nflow vi`, or why it is left out. */
export async function recordedTargetDensity(model: FlowModel): Promise<ReferenceDensity | { missing: string }> {
  const found = await recordedTarget(model);
  if ("missing" in found) return found;
  return targetDensity(found.target, model.training!.variational!);
}
