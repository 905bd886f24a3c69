/**
 * Per-column standardisation u = (x − μ)/σ, fitted on the TRAINING rows only. It is an affine
 * bijection with Jacobian diag(1/σ), so a density fitted to u gives a density of x by the change
 * of variables
 *     log p_data(x) = log p_model((x − μ)/σ) − Σ_d log σ_d,
 * which is how log-likelihoods are reported in data units.
 */
import { ConfigError, ShapeError } from "../engine/errors.js";

export interface Standardization {
  mean: number[];
  std: number[];
}

/**
 * Column means and standard deviations (population, 1/n) of an n×dim table. A constant column
 * gets σ = 1 (it is only centred), so the map stays invertible.
 */
export function fitStandardization(x: Float64Array, n: number, dim: number): Standardization {
  if (x.length !== n * dim) throw new ShapeError(`standardize: x has ${x.length} values, expected n·dim = ${n * dim}`);
  if (n < 1) throw new ShapeError("standardize: need at least one row to fit");
  const mean = new Array<number>(dim).fill(0);
  const std = new Array<number>(dim).fill(0);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) mean[d]! += x[i * dim + d]!;
  for (let d = 0; d < dim; d++) mean[d] = mean[d]! / n;
  for (let i = 0; i < n; i++)
    for (let d = 0; d < dim; d++) {
      const c = x[i * dim + d]! - mean[d]!;
      std[d]! += c * c;
    }
  for (let d = 0; d < dim; d++) {
    const s = Math.sqrt(std[d]! / n);
    std[d] = s > 0 && Number.isFinite(s) ? s : 1;
  }
  return { mean, std };
}

function check(s: Standardization, x: Float64Array): number {
  const dim = s.mean.length;
  if (s.std.length !== dim) throw new ConfigError(`standardize: mean has ${dim} entries, std ${s.std.length}`);
  s.std.forEach((v, d) => {
    if (!(v > 0 && Number.isFinite(v))) throw new ConfigError(`standardize: std[${d}] must be finite and > 0, got ${v}`);
  });
  if (x.length % dim !== 0) throw new ShapeError(`standardize: x has ${x.length} values, not a multiple of dim = ${dim}`);
  return dim;
}

/** u = (x − μ)/σ, row-major (returns a new array). */
export function applyStandardization(s: Standardization, x: Float64Array): Float64Array {
  const dim = check(s, x);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i]! - s.mean[i % dim]!) / s.std[i % dim]!;
  return out;
}

/** x = μ + σ u (returns a new array). */
export function invertStandardization(s: Standardization, u: Float64Array): Float64Array {
  const dim = check(s, u);
  const out = new Float64Array(u.length);
  for (let i = 0; i < u.length; i++) out[i] = s.mean[i % dim]! + s.std[i % dim]! * u[i]!;
  return out;
}

/** log|det ∂u/∂x| = −Σ_d log σ_d: add it to log p_model(u) to get log p_data(x). */
export function logDetStandardization(std: readonly number[]): number {
  let s = 0;
  for (const v of std) s -= Math.log(v);
  return s;
}
