/**
 * What an exactness check returns: every figure it measured, the tolerance it compared with, and
 * a verdict per check and overall. Plain numbers only (JSON-serialisable as it is).
 */
import type { FloatDType } from "../engine/dtype.js";

/** Verdict of one check: "skipped" says why in `note` and does not fail the report. */
export type CheckStatus = "pass" | "fail" | "skipped";

/** One check and its figures. */
export interface CheckEntry {
  /** Stable identifier: "round-trip-zxz", "round-trip-xzx", "log-det-sum", "log-det-jacobian-forward", "log-det-jacobian-inverse", "triangular", "log-prob-paths", "integral", "model-log-prob". */
  id: string;
  /** What was compared, in words (the equation). */
  description: string;
  status: CheckStatus;
  /** The measured error (max over the points), or the integral's |∫p − 1|. */
  maxError: number | null;
  /** The tolerance `maxError` was compared with (already scaled as `description` says). */
  tolerance: number | null;
  /** How many points (or grid cells, or Jacobian columns) entered. */
  points: number;
  /** The layer a per-layer check looked at ("layers.2 masked-autoregressive"). */
  layer?: string;
  /** Further figures of this check (the integral's box and value, Jacobian columns used …). */
  figures?: Record<string, number | string | number[] | boolean>;
  /** Why it was skipped, or what the figures mean. */
  note?: string;
}

/** The report of `checkBijector` / `checkFlow`. */
export interface CheckReport {
  /** What was checked: the bijector's kind, "flow (…)" or "model (…)". */
  subject: string;
  dim: number;
  contextDim: number;
  /** Precision the check computed in (params cast to it). */
  dtype: FloatDType;
  /** Precision of the params as given (a float32 model checked in float64 says float32 here). */
  paramsDType: FloatDType;
  /** The jax-js device the check ran on. */
  device: string;
  seed: number;
  /** Params were drawn at random (init, then every trainable leaf perturbed) rather than given. */
  randomParams: boolean;
  /** Every check passed (skipped ones do not count). */
  pass: boolean;
  checks: CheckEntry[];
  /** The points used: base-side z (forward inputs), x = f(z) (inverse inputs), contexts. */
  points: { z: number[][]; x: number[][]; context: number[][] | null };
  /** Wall time of the check. */
  seconds: number;
}

/** Tolerances of the checks (see `defaultTolerances`). */
export interface CheckTolerances {
  /** Round trips: max |v′ − v| ≤ roundTrip · max(1, max |v|). */
  roundTrip: number;
  /** Forward + inverse log-dets: |ld_f(z) + ld_g(f(z))| ≤ logDetSum · max(1, |ld_f(z)|). */
  logDetSum: number;
  /** Log-det vs log|det J| of the autodiff Jacobian (host LU in float64): ≤ logDet · max(1, |log|det J||). */
  logDet: number;
  /** Entries that must vanish in a triangular Jacobian: |J_ij| ≤ triangular · max(1, max |J|). */
  triangular: number;
  /** Density paths: |log p via sampling − log p via density| ≤ logProb · max(1, |log p|). */
  logProb: number;
  /** 2-D flows: |∫ p − 1| over the grid ≤ integral. */
  integral: number;
}

/**
 * Default tolerances: float64 ones are what exact code reaches with room for D-fold sums
 * (round trips 1e-10, log-dets 1e-9); float32 ones are float32 rounding over a few layers.
 * The integral's 2e-3 covers the midpoint rule on a 400 × 400 grid and the mass outside the box.
 */
export function defaultTolerances(dtype: FloatDType): CheckTolerances {
  return dtype === "float64"
    ? { roundTrip: 1e-10, logDetSum: 1e-9, logDet: 1e-9, triangular: 1e-12, logProb: 1e-9, integral: 2e-3 }
    : { roundTrip: 1e-4, logDetSum: 1e-4, logDet: 1e-3, triangular: 1e-6, logProb: 1e-4, integral: 5e-3 };
}

/** A check entry from a measured error and its tolerance. */
export function entry(e: Omit<CheckEntry, "status"> & { maxError: number; tolerance: number }): CheckEntry {
  return { ...e, status: e.maxError <= e.tolerance ? "pass" : "fail" };
}

/** A skipped check entry. */
export function skipped(id: string, description: string, note: string): CheckEntry {
  return { id, description, status: "skipped", maxError: null, tolerance: null, points: 0, note };
}

function fmt(v: number | null): string {
  if (v === null) return "—";
  if (!Number.isFinite(v)) return String(v);
  return v === 0 ? "0" : v.toExponential(2);
}

/** The report as text lines, one per check ("PASS  round-trip-zxz  max error 1.2e-15 ≤ 1e-10 (8 points)"). */
export function formatReport(r: CheckReport): string[] {
  const lines = [
    `${r.subject}: D = ${r.dim}${r.contextDim ? `, context ${r.contextDim}` : ""}, checked in ${r.dtype}${r.paramsDType !== r.dtype ? ` (params cast from ${r.paramsDType})` : ""} on ${r.device}, seed ${r.seed}${r.randomParams ? ", random params" : ""}`,
  ];
  const width = Math.max(...r.checks.map((c) => c.id.length + (c.layer ? c.layer.length + 3 : 0)));
  for (const c of r.checks) {
    const name = (c.layer ? `${c.id} [${c.layer}]` : c.id).padEnd(width);
    const verdict = c.status === "pass" ? "PASS" : c.status === "fail" ? "FAIL" : "SKIP";
    const figures = c.status === "skipped" ? c.note ?? "" : `max error ${fmt(c.maxError)} ${c.status === "pass" ? "≤" : ">"} ${fmt(c.tolerance)} (${c.points} ${c.id === "integral" ? "grid cells" : c.id === "triangular" ? "Jacobian columns" : c.points === 1 ? "point" : "points"})${c.note ? `; ${c.note}` : ""}`;
    lines.push(`  ${verdict}  ${name}  ${figures}`);
  }
  const failed = r.checks.filter((c) => c.status === "fail").length;
  const skippedCount = r.checks.filter((c) => c.status === "skipped").length;
  lines.push(
    r.pass
      ? `all ${r.checks.length - skippedCount} checks passed${skippedCount ? ` (${skippedCount} skipped)` : ""} in ${r.seconds.toFixed(1)} s`
      : `${failed} of ${r.checks.length - skippedCount} checks FAILED in ${r.seconds.toFixed(1)} s`,
  );
  return lines;
}
