/**
 * Uniform dequantisation of discrete data (pixel values b ∈ {0, …, L − 1}, L = 256 for 8-bit
 * images) and the discrete-space score it licenses (Theis et al. 2016; the RealNVP and MAF papers):
 *
 *     x = (b + u) / L,  u ~ U[0, 1)^D     (fresh u for every training batch, a fixed seed for evaluation)
 *
 * A density p(x) on [0, 1]^D then bounds the probability of the discrete value,
 *     log P(b) ≥ E_u[log p((b + u)/L)] − D log L,
 * so the reported score, in bits per dimension of the DISCRETE data, is
 *     bits/dim = (NLL_x + D·log L) / (D·ln 2),   NLL_x = −log p(x) in nats on [0, 1]^D,
 * which is never negative for a normalised p (P(b) ≤ 1; its estimate from one u is, up to
 * noise). Without dequantisation a density on integer points is not a probability and has no
 * bits/dim (a flow can put arbitrary density there: −2.76 bits/dim on fair coin flips).
 */
import { ConfigError, FileFormatError } from "../engine/errors.js";
import { hostRng } from "../engine/random.js";

/** How discrete data were dequantised: x = (b + u)/levels. */
export interface Dequantization {
  kind: "uniform";
  /** Number of discrete levels L (256 for 8-bit pixels). */
  levels: number;
}

/** Checks a dequantisation record (ConfigError naming the field). */
export function checkDequantization(d: unknown, what = "dequantize"): Dequantization {
  const o = d as Partial<Dequantization> | null;
  if (typeof o !== "object" || o === null || o.kind !== "uniform" || !Number.isInteger(o.levels) || o.levels! < 2 || o.levels! > 65536)
    throw new ConfigError(`${what}: expected {"kind": "uniform", "levels": L} with an integer L in 2..65536, got ${JSON.stringify(d)}`);
  return { kind: "uniform", levels: o.levels! };
}

/**
 * Checks that every value is an integer level in [0, L) (FileFormatError naming the first bad
 * value): dequantising anything else would not model the data's own probabilities.
 */
export function checkLevels(values: ArrayLike<number>, levels: number, width: number, what = "data"): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(Number.isInteger(v) && v >= 0 && v < levels))
      throw new FileFormatError(
        `${what}: dequantisation expects integer levels 0..${levels - 1}, got ${v} in row ${Math.floor(i / width)}, column ${i % width}`,
      );
  }
}

/** (b + u)/L for every value, u from `uniform` (drawn in order); `out` may be given. */
export function dequantize(values: ArrayLike<number>, levels: number, uniform: () => number, out = new Float64Array(values.length)): Float64Array {
  const inv = 1 / levels;
  for (let i = 0; i < values.length; i++) out[i] = (values[i]! + uniform()) * inv;
  return out;
}

/** Dequantised copy with the fixed noise stream of `seed` (evaluation and validation). */
export function dequantizeSeeded(values: ArrayLike<number>, levels: number, seed: number): Float64Array {
  return dequantize(values, levels, hostRng(seed >>> 0));
}

/** Seed of the evaluation noise: fixed, so every evaluation of a model sees the same x. */
export const EVAL_NOISE_SEED = 2;

/**
 * Bits per dimension in the discrete space from the mean log-density of dequantised data on
 * [0, 1]^D (nats per row): (−ll + D log L)/(D ln 2).
 */
export function bitsPerDim(meanLogLikelihood: number, dim: number, levels: number): number {
  return (-meanLogLikelihood + dim * Math.log(levels)) / (dim * Math.LN2);
}

/**
 * log|dy/dx| of the logit preprocessing y = logit(α + (1 − 2α)x), per row, in float64 on the host:
 *     Σ_i [log(1 − 2α) − log s_i − log(1 − s_i)],   s = α + (1 − 2α)x,
 * so that log q(y) = log p(x) − this (the logit-space log-likelihood the MAF paper reports).
 */
export function logitLogDet(x: ArrayLike<number>, n: number, dim: number, alpha: number): Float64Array {
  const out = new Float64Array(n);
  const l = Math.log1p(-2 * alpha);
  for (let r = 0; r < n; r++) {
    let acc = 0;
    for (let d = 0; d < dim; d++) {
      const s = alpha + (1 - 2 * alpha) * x[r * dim + d]!;
      acc += l - Math.log(s) - Math.log1p(-s);
    }
    out[r] = acc;
  }
  return out;
}
