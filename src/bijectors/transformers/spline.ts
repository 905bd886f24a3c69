/**
 * Monotonic rational-quadratic spline transformer (Durkan et al. 2019, "Neural Spline Flows"),
 * with identity ("linear") tails: τ(u) = u outside [−B, B]; inside, K bins with knots
 * (x_k, y_k), k = 0..K, x_0 = y_0 = −B, x_K = y_K = B, and derivatives δ_k at the knots,
 * δ_0 = δ_K = 1 so that the spline joins the identity tails with a continuous slope.
 *
 * Parameters θ (3K − 1 arrays per element, in this order): K width logits, K height logits,
 * K − 1 raw interior derivatives. As in nflows:
 *     w_k = 2B·(m_w + (1 − K·m_w)·softmax(θ^w)_k),   h_k likewise with m_h,
 *     δ_k = m_δ + softplus(θ^δ_k + c),   c = log(e^{1 − m_δ} − 1),
 * so bins are never narrower than 2B·m_w and slopes never below m_δ (m = 1e-3). The constant c is
 * nflows' boundary padding applied to the interior derivatives too: θ = 0 gives uniform bins and
 * δ = 1 everywhere, i.e. τ(u; 0) = u up to rounding. Not bit for bit (softmax, cumulative sums and
 * the rational form round), so `identityAtZero` is false and a coupling picks its transformed
 * columns out instead of running full width.
 *
 * In bin k, with ξ = (u − x_k)/w_k ∈ [0, 1] and s_k = h_k/w_k (Durkan et al. eq. 4–5):
 *     τ(u) = y_k + h_k·[s_k ξ² + δ_k ξ(1 − ξ)] / [s_k + (δ_{k+1} + δ_k − 2s_k) ξ(1 − ξ)],
 *     τ'(u) = s_k²·[δ_{k+1} ξ² + 2 s_k ξ(1 − ξ) + δ_k (1 − ξ)²] / [s_k + (δ_{k+1} + δ_k − 2s_k) ξ(1 − ξ)]².
 * The inverse solves a ξ² + b ξ + c = 0 for y in bin k (by the y-knots), Y = y − y_k:
 *     a = h_k(s_k − δ_k) + Y·(δ_{k+1} + δ_k − 2s_k),  b = h_k δ_k − Y·(δ_{k+1} + δ_k − 2s_k),  c = −s_k·Y,
 *     ξ = 2c / (−b − √(b² − 4ac))       (the root in [0, 1], in the form without cancellation;
 *                                          nflows' unconstrained_rational_quadratic_spline),
 * u = x_k + ξ·w_k, and log|τ⁻¹'(y)| = −log τ'(u).
 *
 * Under jit (docs/reference/ENGINE-NOTES.md): no data-dependent gathers, so the bin is a float
 * one-hot over the K bins, e_k = g_k − g_{k+1} with g_k = [v ≥ x_k] (g_0 = 1, g_K = 0: every
 * input falls in exactly one bin, knots included: u = x_k is in bin k, where ξ = 0), and a bin's
 * values are Σ_k e_k·q_k. No slices (their gradients are wrong under jit): knot positions are
 * products with constant triangular matrices. Tail inputs are replaced by 0 before the spline
 * branch (the `where` trick), so the branch not taken never produces the NaN/∞ whose gradient
 * would poison the taken one. Constants are arrays of the input's dtype (float64 stays float64
 * under jit, engine/dtype.ts scalar).
 *
 * Ownership (jax-js convention): forward/inverse consume u/y and every θ array.
 */
import { np, nn, type Array } from "../../engine/jax.js";
import { floatDTypeOf, fromValues, scalar, type FloatDType } from "../../engine/dtype.js";
import { ConfigError } from "../../engine/errors.js";
import { softplus } from "../../engine/math.js";
import { expectTheta, type ElementwiseTransformer, type TransformerResult } from "./transformer.js";

export interface SplineTransformerOptions {
  /** Number of bins K (≥ 2). Default 8. */
  bins?: number;
  /** Half-width B of the spline's interval [−B, B] (identity outside). Default 3. */
  bound?: number;
  /** Smallest bin width as a fraction of 2B (m_w, K·m_w < 1). Default 1e-3. */
  minBinWidth?: number;
  /** Smallest bin height as a fraction of 2B (m_h, K·m_h < 1). Default 1e-3. */
  minBinHeight?: number;
  /** Smallest knot derivative m_δ (in (0, 1)). Default 1e-3. */
  minDerivative?: number;
}

/** Default number of bins (nflows' and the NSF paper's 2-D toys use 8). */
export const DEFAULT_SPLINE_BINS = 8;
/** Default interval half-width B (the NSF paper's tail bound for tabular data is 3). */
export const DEFAULT_SPLINE_BOUND = 3;
/** Most bins a config may ask for. */
export const MAX_SPLINE_BINS = 256;

/** The per-bin values of the bin each element falls in, [N, k] each. */
interface Bin {
  /** Left knot in the input direction (x_k forward, y_k inverse), and the other direction's. */
  xLeft: Array;
  yLeft: Array;
  width: Array;
  height: Array;
  dLeft: Array;
  dRight: Array;
}

export class SplineTransformer implements ElementwiseTransformer {
  readonly kind = "spline";
  readonly paramCount: number;
  readonly identityAtZero = false;
  readonly bins: number;
  readonly bound: number;
  readonly minBinWidth: number;
  readonly minBinHeight: number;
  readonly minDerivative: number;

  constructor({
    bins = DEFAULT_SPLINE_BINS,
    bound = DEFAULT_SPLINE_BOUND,
    minBinWidth = 1e-3,
    minBinHeight = 1e-3,
    minDerivative = 1e-3,
  }: SplineTransformerOptions = {}) {
    if (!Number.isInteger(bins) || bins < 2 || bins > MAX_SPLINE_BINS)
      throw new ConfigError(`spline transformer: bins must be an integer in 2..${MAX_SPLINE_BINS}, got ${bins}`);
    if (!(typeof bound === "number" && Number.isFinite(bound) && bound > 0))
      throw new ConfigError(`spline transformer: bound must be a finite number > 0, got ${bound}`);
    for (const [name, m] of [["minBinWidth", minBinWidth], ["minBinHeight", minBinHeight]] as const)
      if (!(m > 0 && m * bins < 1))
        throw new ConfigError(`spline transformer: ${name} must be > 0 with ${name}·bins < 1, got ${m} with ${bins} bins`);
    if (!(minDerivative > 0 && minDerivative < 1))
      throw new ConfigError(`spline transformer: minDerivative must be in (0, 1), got ${minDerivative}`);
    this.bins = bins;
    this.bound = bound;
    this.minBinWidth = minBinWidth;
    this.minBinHeight = minBinHeight;
    this.minDerivative = minDerivative;
    this.paramCount = 3 * bins - 1;
  }

  forward(u: Array, theta: Array[]): TransformerResult {
    return this.apply(u, theta, "forward");
  }

  inverse(y: Array, theta: Array[]): TransformerResult {
    return this.apply(y, theta, "inverse");
  }

  private apply(v: Array, theta: Array[], direction: "forward" | "inverse"): TransformerResult {
    expectTheta(this.kind, theta, this.paramCount);
    const dtype = floatDTypeOf(v) ?? "float32";
    const c = (x: number): Array => scalar(x, v);
    // |v| ≤ B: the spline; elsewhere the identity tail. The spline branch sees 0 for tail inputs.
    const inside = np.abs(v.ref).lessEqual(c(this.bound));
    const vs = np.where(inside.ref, v.ref, c(0));
    const bin = this.bin(vs.ref, theta, dtype, direction);
    const { xLeft, yLeft, width, height, dLeft, dRight } = bin;
    const slope = height.ref.div(width.ref);
    // q = δ_{k+1} + δ_k − 2s_k
    const q = dRight.ref.add(dLeft.ref).sub(slope.ref.mul(c(2)));
    let xi: Array;
    let out: Array;
    if (direction === "forward") {
      xi = vs.sub(xLeft).div(width);
      const t = xi.ref.mul(c(1).sub(xi.ref));
      const num = height.mul(slope.ref.mul(xi.ref.mul(xi.ref)).add(dLeft.ref.mul(t.ref)));
      const den = slope.ref.add(q.mul(t));
      out = yLeft.add(num.div(den));
    } else {
      const Y = vs.sub(yLeft);
      const a = height.ref.mul(slope.ref.sub(dLeft.ref)).add(Y.ref.mul(q.ref));
      const b = height.mul(dLeft.ref).sub(Y.ref.mul(q.ref));
      const cc = slope.ref.mul(Y).neg();
      const disc = np.maximum(b.ref.mul(b.ref).sub(a.mul(cc.ref).mul(c(4))), c(0));
      xi = cc.mul(c(2)).div(b.neg().sub(np.sqrt(disc)));
      out = xLeft.add(xi.ref.mul(width));
      q.dispose();
    }
    const logDeriv = this.logDerivative(xi, slope, dLeft, dRight, c);
    const ld = direction === "forward" ? logDeriv : logDeriv.neg();
    return {
      y: np.where(inside.ref, out, v),
      logDet: np.where(inside, ld, c(0)),
    };
  }

  /**
   * log τ'(u) at ξ (consumes all): 2 log s + log[δ_{k+1} ξ² + 2 s ξ(1 − ξ) + δ_k (1 − ξ)²]
   * − 2 log[s + (δ_{k+1} + δ_k − 2s) ξ(1 − ξ)].
   */
  private logDerivative(xi: Array, slope: Array, dLeft: Array, dRight: Array, c: (x: number) => Array): Array {
    const om = c(1).sub(xi.ref);
    const t = xi.ref.mul(om.ref);
    const num = dRight.ref.mul(xi.ref.mul(xi)).add(slope.ref.mul(t.ref).mul(c(2))).add(dLeft.ref.mul(om.ref.mul(om)));
    const den = slope.ref.add(dRight.add(dLeft).sub(slope.ref.mul(c(2))).mul(t));
    return np.log(slope).mul(c(2)).add(np.log(num)).sub(np.log(den).mul(c(2)));
  }

  /**
   * The knots from θ and the values of the bin each element of v falls in (consumes v and θ).
   * Forward looks bins up by the x-knots, inverse by the y-knots; `xLeft` is always the x-knot.
   */
  private bin(v: Array, theta: Array[], dtype: FloatDType, direction: "forward" | "inverse"): Bin {
    const K = this.bins;
    const B = this.bound;
    const c = (x: number): Array => scalar(x, v);
    const sizes = (logits: Array[], min: number): Array =>
      nn.softmax(np.stack(logits, -1), -1).mul(c(2 * B * (1 - K * min))).add(c(2 * B * min));
    const widths = sizes(theta.slice(0, K), this.minBinWidth); // [N, k, K]
    const heights = sizes(theta.slice(K, 2 * K), this.minBinHeight);
    // left knots: −B + Σ_{j<k} w_j, a product with the strictly upper-triangular ones [K, K]
    const strict = new Float64Array(K * K);
    for (let j = 0; j < K; j++) for (let k = j + 1; k < K; k++) strict[j * K + k] = 1;
    const cumulative = fromValues(strict, [K, K], dtype);
    const xLeft = np.matmul(widths.ref, cumulative.ref).sub(c(B));
    const yLeft = np.matmul(heights.ref, cumulative).sub(c(B));
    // δ_k = m_δ + softplus(θ + c), c = log(e^{1 − m_δ} − 1): δ = 1 at θ = 0, as at the boundary knots
    const shift = Math.log(Math.expm1(1 - this.minDerivative));
    const interior = theta.slice(2 * K).map((r) => softplus(r.add(c(shift))).add(c(this.minDerivative)));
    const one = np.onesLike(v.ref);
    const dLeftAll = np.stack([one.ref, ...interior.map((d) => d.ref)], -1);
    const dRightAll = np.stack([...interior, one], -1);
    // g_k = [v ≥ left_k] with g_0 = 1; e_k = g_k − g_{k+1} (g_K = 0): the one-hot of v's bin
    const first = new Float64Array(K);
    first[0] = 1;
    const diff = new Float64Array(K * K);
    for (let k = 0; k < K; k++) {
      diff[k * K + k] = 1;
      if (k > 0) diff[k * K + k - 1] = -1;
    }
    const lookup = direction === "forward" ? xLeft.ref : yLeft.ref;
    const g = np.maximum(v.reshape([...v.shape, 1]).greaterEqual(lookup).astype(lookup.dtype), fromValues(first, [K], dtype));
    const e = np.matmul(g, fromValues(diff, [K, K], dtype));
    const pick = (q: Array, last = false): Array => (last ? e : e.ref).mul(q).sum(-1);
    return {
      xLeft: pick(xLeft),
      yLeft: pick(yLeft),
      width: pick(widths),
      height: pick(heights),
      dLeft: pick(dLeftAll),
      dRight: pick(dRightAll, true),
    };
  }
}
