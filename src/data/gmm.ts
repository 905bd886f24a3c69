/**
 * The RNG-free correlated Gaussian mixtures `gmm8` (D = 8) and `gmm43` (D = 43) of the C2
 * benchmark (docs/reference/CONFIGS.md §3.1), for any D ≥ 1. All parameters are float64 and
 * built from sin/cos (radians, 0-based indices k, i, r):
 *     w_k       = (k + 1)/15,                                  k = 0..4
 *     μ_k[i]    = 2 sin(0.9 (i+1)(k+1) + 0.5 k)
 *     Σ_k       = F_k F_kᵀ + diag(d_k)                         (rank-3 factor model)
 *     F_k[i, r] = 0.8 cos(1.3 (i+1)(r+1) + 0.7 (k+1)),         r = 0..2
 *     d_k[i]    = 0.05 + 0.25 (1 + sin(0.37 (i+1) + 1.1 (k+1)))
 * Sampler: c ~ Categorical(w), x = μ_c + F_c u + √d_c ⊙ v with u ~ N(0, I₃), v ~ N(0, I_D),
 * which is exactly N(μ_c, Σ_c). Density p(x) = Σ_k w_k N(x; μ_k, Σ_k) through the Cholesky
 * factors Σ_k = L_k L_kᵀ:  log N = −½|L_k⁻¹(x − μ_k)|² − (D/2) log 2π − ½ log det Σ_k,
 * log det Σ_k = 2 Σ_i log L_k[i, i]. Everything runs on the host in float64; samples are
 * reproducible from (D, n, seed) (engine/random.ts hostRng + Box–Muller), not bit-compatible
 * with numpy.
 */
import { ConfigError, ShapeError } from "../engine/errors.js";
import { hostRng } from "../engine/random.js";
import { normalSource } from "./toys.js";

/** Number of mixture components. */
export const GMM_COMPONENTS = 5;
/** Rank of every component's factor F_k. */
export const GMM_RANK = 3;

const LOG_2PI = Math.log(2 * Math.PI);

/** A Gaussian mixture in Cholesky form: what `mixtureLogDensity` needs. */
export interface GaussianMixture {
  /** Dimension D. */
  dim: number;
  /** Weights w_k (K of them, summing to 1). */
  weights: Float64Array;
  /** Means, row-major K×D. */
  means: Float64Array;
  /** Lower Cholesky factors L_k of the covariances, row-major K×D×D. */
  chol: Float64Array;
  /** log det Σ_k (K of them). */
  logDet: Float64Array;
}

/** The full parameters of the C2 mixture of dimension D. */
export interface GmmParams extends GaussianMixture {
  /** Number of components K (5). */
  components: number;
  /** Rank R of the factors (3). */
  rank: number;
  /** Factors F_k, row-major K×D×R. */
  factors: Float64Array;
  /** Diagonals d_k, row-major K×D. */
  diag: Float64Array;
  /** Covariances Σ_k = F_k F_kᵀ + diag(d_k), row-major K×D×D. */
  cov: Float64Array;
}

/** The checksums of docs/reference/CONFIGS.md §3.1 (float64). */
export interface GmmChecks {
  /** Σ_k Σ_i μ_k[i]. */
  sumMeans: number;
  /** Σ_k log det Σ_k. */
  sumLogDet: number;
  /** Σ of all entries of all Σ_k. */
  sumCov: number;
}

function checkDim(D: number): void {
  if (!Number.isInteger(D) || D < 1) throw new ConfigError(`gmm: dim must be a positive integer, got ${D}`);
}

/**
 * Lower Cholesky factor L of a symmetric positive-definite D×D matrix (row-major), A = L Lᵀ.
 * Throws ConfigError when A is not positive definite.
 */
export function choleskyLower(a: Float64Array, D: number): Float64Array {
  if (a.length !== D * D) throw new ShapeError(`cholesky: expected ${D}×${D} = ${D * D} values, got ${a.length}`);
  const L = new Float64Array(D * D);
  for (let i = 0; i < D; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * D + j]!;
      for (let m = 0; m < j; m++) s -= L[i * D + m]! * L[j * D + m]!;
      if (i === j) {
        if (!(s > 0)) throw new ConfigError(`cholesky: matrix is not positive definite (pivot ${i} is ${s})`);
        L[i * D + i] = Math.sqrt(s);
      } else {
        L[i * D + j] = s / L[j * D + j]!;
      }
    }
  }
  return L;
}

/** The parameters of the C2 mixture of dimension D (gmm8: D = 8, gmm43: D = 43). */
export function gmmParams(D: number): GmmParams {
  checkDim(D);
  const K = GMM_COMPONENTS;
  const R = GMM_RANK;
  const weights = Float64Array.from({ length: K }, (_, k) => (k + 1) / 15);
  const means = new Float64Array(K * D);
  const diag = new Float64Array(K * D);
  const factors = new Float64Array(K * D * R);
  for (let k = 0; k < K; k++)
    for (let i = 0; i < D; i++) {
      means[k * D + i] = 2 * Math.sin(0.9 * (i + 1) * (k + 1) + 0.5 * k);
      diag[k * D + i] = 0.05 + 0.25 * (1 + Math.sin(0.37 * (i + 1) + 1.1 * (k + 1)));
      for (let r = 0; r < R; r++) factors[(k * D + i) * R + r] = 0.8 * Math.cos(1.3 * (i + 1) * (r + 1) + 0.7 * (k + 1));
    }
  const cov = new Float64Array(K * D * D);
  const chol = new Float64Array(K * D * D);
  const logDet = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    const S = cov.subarray(k * D * D, (k + 1) * D * D);
    for (let i = 0; i < D; i++)
      for (let j = 0; j < D; j++) {
        let s = i === j ? diag[k * D + i]! : 0;
        for (let r = 0; r < R; r++) s += factors[(k * D + i) * R + r]! * factors[(k * D + j) * R + r]!;
        S[i * D + j] = s;
      }
    const L = choleskyLower(S, D);
    chol.set(L, k * D * D);
    let ld = 0;
    for (let i = 0; i < D; i++) ld += Math.log(L[i * D + i]!);
    logDet[k] = 2 * ld;
  }
  return { dim: D, components: K, rank: R, weights, means, factors, diag, cov, chol, logDet };
}

/** The three checksums of docs/reference/CONFIGS.md §3.1 for a mixture's parameters. */
export function gmmChecks(p: GmmParams): GmmChecks {
  const sum = (v: Float64Array): number => v.reduce((a, b) => a + b, 0);
  return { sumMeans: sum(p.means), sumLogDet: sum(p.logDet), sumCov: sum(p.cov) };
}

const paramsCache = new Map<number, GmmParams>();

/** Cached parameters (internal: callers of the public API get fresh copies from gmmParams). */
function cachedParams(D: number): GmmParams {
  checkDim(D);
  let p = paramsCache.get(D);
  if (!p) paramsCache.set(D, (p = gmmParams(D)));
  return p;
}

/** n samples (row-major n×D, float64) of the C2 mixture of dimension D, reproducible from the seed. */
export function sampleGmm(D: number, n: number, seed = 0): Float64Array {
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`gmm: n must be an integer ≥ 0, got ${n}`);
  const p = cachedParams(D);
  const { components: K, rank: R } = p;
  const uniform = hostRng(seed);
  const normal = normalSource(uniform);
  const cumulative = new Float64Array(K);
  let acc = 0;
  for (let k = 0; k < K; k++) cumulative[k] = acc += p.weights[k]!;
  const sd = p.diag.map(Math.sqrt);
  const x = new Float64Array(n * D);
  const u = new Float64Array(R);
  for (let m = 0; m < n; m++) {
    const t = uniform();
    let c = 0;
    while (c < K - 1 && t >= cumulative[c]!) c++;
    for (let r = 0; r < R; r++) u[r] = normal();
    for (let i = 0; i < D; i++) {
      let v = p.means[c * D + i]! + sd[c * D + i]! * normal();
      for (let r = 0; r < R; r++) v += p.factors[(c * D + i) * R + r]! * u[r]!;
      x[m * D + i] = v;
    }
  }
  return x;
}

/**
 * log p(x) of every row of x (row-major n×D) under a Gaussian mixture in Cholesky form:
 * log Σ_k exp(log w_k − ½|L_k⁻¹(x − μ_k)|² − (D/2) log 2π − ½ log det Σ_k), by forward
 * substitution and log-sum-exp, in float64.
 */
export function mixtureLogDensity(m: GaussianMixture, x: Float64Array): Float64Array {
  const D = m.dim;
  const K = m.weights.length;
  if (x.length % D !== 0) throw new ShapeError(`gmm: x must hold n×${D} values, got ${x.length}`);
  const n = x.length / D;
  const out = new Float64Array(n);
  const constant = Float64Array.from({ length: K }, (_, k) => Math.log(m.weights[k]!) - 0.5 * D * LOG_2PI - 0.5 * m.logDet[k]!);
  const z = new Float64Array(D);
  const terms = new Float64Array(K);
  for (let row = 0; row < n; row++) {
    for (let k = 0; k < K; k++) {
      const L = k * D * D;
      let q = 0;
      // z = L⁻¹ (x − μ): forward substitution
      for (let i = 0; i < D; i++) {
        let s = x[row * D + i]! - m.means[k * D + i]!;
        for (let j = 0; j < i; j++) s -= m.chol[L + i * D + j]! * z[j]!;
        const zi = s / m.chol[L + i * D + i]!;
        z[i] = zi;
        q += zi * zi;
      }
      terms[k] = constant[k]! - 0.5 * q;
    }
    let mx = -Infinity;
    for (const t of terms) if (t > mx) mx = t;
    let s = 0;
    for (const t of terms) s += Math.exp(t - mx);
    out[row] = mx + Math.log(s);
  }
  return out;
}

/** log p(x) of every row of x (row-major n×D) under the C2 mixture of dimension D. */
export function gmmLogDensity(D: number, x: Float64Array): Float64Array {
  return mixtureLogDensity(cachedParams(D), x);
}

/**
 * Differential entropy H = −E log p(x) (nats) of the C2 mixture by Monte Carlo: n samples drawn
 * with `seed` (docs/reference/CONFIGS.md: 10⁶ samples, seed 3), in chunks. Returns the estimate and its
 * standard error std(log p)/√n.
 */
export function gmmEntropy(D: number, n = 1_000_000, seed = 3): { entropy: number; se: number } {
  if (!Number.isInteger(n) || n < 2) throw new ConfigError(`gmm: entropy needs an integer n ≥ 2 samples, got ${n}`);
  // one stream for all n draws: sampleGmm(D, n, seed) in chunks would restart it, so draw once
  // per chunk from chunk-specific seeds derived from `seed` instead
  const chunk = 100_000;
  let sum = 0;
  let sumSq = 0;
  for (let done = 0, c = 0; done < n; done += chunk, c++) {
    const m = Math.min(chunk, n - done);
    const lp = gmmLogDensity(D, sampleGmm(D, m, (seed + 0x9e3779b9 * c) >>> 0));
    for (const v of lp) {
      sum += v;
      sumSq += v * v;
    }
  }
  const mean = sum / n;
  const variance = Math.max(0, sumSq / n - mean * mean);
  return { entropy: -mean, se: Math.sqrt(variance / n) };
}
