import { test } from "node:test";
import assert from "node:assert/strict";
import {
  choleskyLower,
  gmmChecks,
  gmmEntropy,
  gmmLogDensity,
  gmmParams,
  mixtureLogDensity,
  sampleGmm,
  type GaussianMixture,
} from "../../src/data/gmm.js";
import { ConfigError } from "../../src/engine/errors.js";

const LOG_2PI = Math.log(2 * Math.PI);

/** Inverse and log-determinant of a D×D matrix by Gauss–Jordan elimination with partial pivoting. */
function inverseAndLogDet(a: Float64Array, D: number): { inv: Float64Array; logDet: number } {
  const m = Float64Array.from(a);
  const inv = new Float64Array(D * D);
  for (let i = 0; i < D; i++) inv[i * D + i] = 1;
  let logDet = 0;
  for (let c = 0; c < D; c++) {
    let p = c;
    for (let r = c + 1; r < D; r++) if (Math.abs(m[r * D + c]!) > Math.abs(m[p * D + c]!)) p = r;
    if (p !== c)
      for (let j = 0; j < D; j++) {
        [m[c * D + j], m[p * D + j]] = [m[p * D + j]!, m[c * D + j]!];
        [inv[c * D + j], inv[p * D + j]] = [inv[p * D + j]!, inv[c * D + j]!];
      }
    const piv = m[c * D + c]!;
    logDet += Math.log(Math.abs(piv));
    for (let j = 0; j < D; j++) {
      m[c * D + j] = m[c * D + j]! / piv;
      inv[c * D + j] = inv[c * D + j]! / piv;
    }
    for (let r = 0; r < D; r++) {
      if (r === c) continue;
      const f = m[r * D + c]!;
      for (let j = 0; j < D; j++) {
        m[r * D + j] = m[r * D + j]! - f * m[c * D + j]!;
        inv[r * D + j] = inv[r * D + j]! - f * inv[c * D + j]!;
      }
    }
  }
  return { inv, logDet };
}

/** log N(x; μ, Σ) = −½ (x−μ)ᵀ Σ⁻¹ (x−μ) − (D/2) log 2π − ½ log det Σ, with an explicit inverse. */
function directLogNormal(x: ArrayLike<number>, mu: ArrayLike<number>, cov: Float64Array, D: number): number {
  const { inv, logDet } = inverseAndLogDet(cov, D);
  let q = 0;
  for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) q += (x[i]! - mu[i]!) * inv[i * D + j]! * (x[j]! - mu[j]!);
  return -0.5 * q - 0.5 * D * LOG_2PI - 0.5 * logDet;
}

test("gmm parameters reproduce the checksums of CONFIGS.md §3.1 (gmm8 and gmm43)", () => {
  const expected = {
    8: { sumMeans: 0.66892977, sumLogDet: -24.55998453, sumCov: 16.12024428 },
    43: { sumMeans: 1.05549244, sumLogDet: -250.87608240, sumCov: 65.75578181 },
  } as const;
  for (const D of [8, 43] as const) {
    const c = gmmChecks(gmmParams(D));
    for (const key of ["sumMeans", "sumLogDet", "sumCov"] as const)
      assert.ok(Math.abs(c[key] - expected[D][key]) < 1e-7, `D=${D} ${key}: ${c[key]} vs ${expected[D][key]}`);
  }
});

test("gmm parameters: weights sum to 1, Σ_k = F Fᵀ + diag(d) = L Lᵀ and log det matches the Cholesky factor", () => {
  const D = 8;
  const p = gmmParams(D);
  assert.ok(Math.abs(p.weights.reduce((a, b) => a + b, 0) - 1) < 1e-15);
  for (let k = 0; k < p.components; k++) {
    const S = p.cov.subarray(k * D * D, (k + 1) * D * D);
    const L = p.chol.subarray(k * D * D, (k + 1) * D * D);
    for (let i = 0; i < D; i++)
      for (let j = 0; j < D; j++) {
        let s = 0;
        for (let m = 0; m < D; m++) s += L[i * D + m]! * L[j * D + m]!;
        assert.ok(Math.abs(s - S[i * D + j]!) < 1e-12, `L Lᵀ = Σ at (${k}, ${i}, ${j})`);
        if (j > i) assert.equal(L[i * D + j], 0, "L is lower triangular");
      }
    assert.ok(Math.abs(inverseAndLogDet(Float64Array.from(S), D).logDet - p.logDet[k]!) < 1e-10, `log det Σ_${k}`);
  }
  assert.throws(() => choleskyLower(Float64Array.from([1, 2, 2, 1]), 2), ConfigError);
  assert.throws(() => gmmParams(0), ConfigError);
});

test("one-component mixture log-density equals the direct Gaussian formula", () => {
  for (const D of [8, 43]) {
    const p = gmmParams(D);
    const k = 3;
    const single: GaussianMixture = {
      dim: D,
      weights: Float64Array.of(1),
      means: p.means.slice(k * D, (k + 1) * D),
      chol: p.chol.slice(k * D * D, (k + 1) * D * D),
      logDet: Float64Array.of(p.logDet[k]!),
    };
    const x = sampleGmm(D, 20, 5);
    const lp = mixtureLogDensity(single, x);
    const cov = p.cov.slice(k * D * D, (k + 1) * D * D);
    for (let i = 0; i < 20; i++) {
      const want = directLogNormal(x.subarray(i * D, (i + 1) * D), single.means, cov, D);
      assert.ok(Math.abs(lp[i]! - want) < 1e-9 * Math.max(1, Math.abs(want)), `D=${D} row ${i}: ${lp[i]} vs ${want}`);
    }
  }
});

test("the mixture log-density is log Σ_k w_k N(x; μ_k, Σ_k) by the direct formula, also far from the data", () => {
  const D = 8;
  const p = gmmParams(D);
  const x = new Float64Array([...sampleGmm(D, 10, 11), ...Array.from({ length: D }, (_, i) => 6 + i)]);
  const lp = gmmLogDensity(D, x);
  for (let r = 0; r < 11; r++) {
    const terms = Array.from({ length: p.components }, (_, k) =>
      Math.log(p.weights[k]!) + directLogNormal(x.subarray(r * D, (r + 1) * D), p.means.subarray(k * D, (k + 1) * D), p.cov.slice(k * D * D, (k + 1) * D * D), D),
    );
    const m = Math.max(...terms);
    const want = m + Math.log(terms.reduce((s, t) => s + Math.exp(t - m), 0));
    assert.ok(Number.isFinite(lp[r]!) && Math.abs(lp[r]! - want) < 1e-9 * Math.max(1, Math.abs(want)), `row ${r}: ${lp[r]} vs ${want}`);
  }
});

test("samples are seeded and have the mixture's mean and covariance", () => {
  const D = 8;
  const n = 100_000;
  assert.deepEqual(sampleGmm(D, 50, 4), sampleGmm(D, 50, 4));
  assert.notDeepEqual(sampleGmm(D, 50, 4), sampleGmm(D, 50, 5));
  const p = gmmParams(D);
  // mixture moments: m = Σ w_k μ_k, C = Σ w_k (Σ_k + μ_k μ_kᵀ) − m mᵀ
  const mean = new Float64Array(D);
  const second = new Float64Array(D * D);
  for (let k = 0; k < p.components; k++)
    for (let i = 0; i < D; i++) {
      mean[i] += p.weights[k]! * p.means[k * D + i]!;
      for (let j = 0; j < D; j++)
        second[i * D + j] += p.weights[k]! * (p.cov[k * D * D + i * D + j]! + p.means[k * D + i]! * p.means[k * D + j]!);
    }
  const x = sampleGmm(D, n, 1);
  const sm = new Float64Array(D);
  for (let r = 0; r < n; r++) for (let i = 0; i < D; i++) sm[i] += x[r * D + i]! / n;
  for (let i = 0; i < D; i++) {
    const sd = Math.sqrt(second[i * D + i]! - mean[i]! * mean[i]!);
    assert.ok(Math.abs(sm[i]! - mean[i]!) < 5 * (sd / Math.sqrt(n)), `mean[${i}]: ${sm[i]} vs ${mean[i]}`);
  }
  // each entry of the sample covariance against 5 standard errors of its own estimator
  for (let i = 0; i < D; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      let s2 = 0;
      for (let r = 0; r < n; r++) {
        const v = (x[r * D + i]! - mean[i]!) * (x[r * D + j]! - mean[j]!);
        s += v;
        s2 += v * v;
      }
      const c = s / n;
      const se = Math.sqrt((s2 / n - c * c) / n);
      const want = second[i * D + j]! - mean[i]! * mean[j]!;
      assert.ok(Math.abs(c - want) < 5 * se, `cov[${i},${j}]: ${c} vs ${want} (se ${se})`);
    }
});

test("sampler and density agree: E_p[w_k N_k(x)/p(x)] = w_k for every component (responsibilities)", () => {
  // Σ_k w_k N_k / p = 1 holds pointwise for any density formula; the per-component means are w_k
  // only when the samples come from p itself. Each ratio is bounded by 1, so the estimate is tight.
  for (const D of [8, 43]) {
    const n = 20_000;
    const p = gmmParams(D);
    const x = sampleGmm(D, n, 7);
    const lp = gmmLogDensity(D, x);
    for (let k = 0; k < p.components; k++) {
      const comp: GaussianMixture = {
        dim: D,
        weights: Float64Array.of(p.weights[k]!),
        means: p.means.slice(k * D, (k + 1) * D),
        chol: p.chol.slice(k * D * D, (k + 1) * D * D),
        logDet: Float64Array.of(p.logDet[k]!),
      };
      const lk = mixtureLogDensity(comp, x); // log w_k N_k (unnormalised one-component mixture)
      let s = 0;
      let s2 = 0;
      for (let r = 0; r < n; r++) {
        const v = Math.exp(lk[r]! - lp[r]!);
        s += v;
        s2 += v * v;
      }
      const m = s / n;
      const se = Math.sqrt((s2 / n - m * m) / n);
      assert.ok(Math.abs(m - p.weights[k]!) < 5 * se + 1e-9, `D=${D} k=${k}: ${m} vs ${p.weights[k]} (se ${se})`);
    }
  }
});

test("Monte-Carlo entropy of gmm8 agrees with the peer's 10⁶-sample value (10.4803 ± 0.0023)", () => {
  const { entropy, se } = gmmEntropy(8, 50_000, 3);
  assert.ok(se > 0 && se < 0.02, `se ${se}`);
  assert.ok(Math.abs(entropy - 10.4803) < 5 * Math.hypot(se, 0.0023), `H = ${entropy} ± ${se}`);
});
