/**
 * Transcendental functions accurate to a few ulps in float32 AND float64 (docs/float64.md).
 * jax-js's own log1p/expm1 lose up to 7e-15 relative in float64 (series cut-off at |x| = 0.01,
 * then log(1 + x)), its tanh 2.5e-15 near 0 (e^{-2|x|} − 1 cancels), its softplus all digits for
 * x < −37 (log(1 + e^x) with 1 + e^x = 1). These use the classic exact-arithmetic tricks instead,
 * with constants of the input's dtype (engine/dtype.ts scalar) and `where` forms whose unselected
 * branch stays finite, so gradients are finite everywhere. Each consumes its argument.
 *
 * float32 arrays go to jax-js's own functions (np.tanh, nn.softplus, np.log1p), whose errors are
 * far below float32's own rounding where the library uses them: the float32 path keeps its
 * measured speed (one fused kernel instead of a where/expm1 composite in every affine layer) and
 * its bits, so float32 results, shipped models and benchmarks are as they were.
 */
import { nn, np, type Array } from "./jax.js";
import { floatDTypeOf, scalar } from "./dtype.js";

const isFloat64 = (x: Array): boolean => floatDTypeOf(x) === "float64";

/**
 * log(1 + x). Goldberg: with u = fl(1 + x), log1p(x) = log(u)·x/(u − 1) (u − 1 is exact), and
 * x itself when u = 1; for |x| ≥ 1/2, log(1 + x) directly (no cancellation there).
 */
export function log1p(x: Array): Array {
  if (!isFloat64(x)) return np.log1p(x);
  const c = (v: number): Array => scalar(v, x);
  const small = np.abs(x.ref).less(c(0.5));
  const xs = np.where(small.ref, x.ref, c(0)); // |xs| < 1/2
  // 1 as a non-constant expression: under jit jax-js reassociates (xs + 1) − 1 into xs + 0 when
  // both 1s are constants, which would undo the trick (u − 1 must be computed in floating point).
  const one = np.where(np.isnan(xs.ref), c(2), c(1));
  const u = xs.ref.add(one.ref);
  const um1 = u.ref.sub(one);
  const same = um1.ref.equal(c(0));
  const ratio = xs.ref.div(np.where(same.ref, c(1), um1));
  const near = np.where(same, xs, np.log(u).mul(ratio));
  return np.where(small, near, np.log(x.add(c(1))));
}

/**
 * e^x − 1. Kahan: with u = fl(e^x), expm1(x) = (u − 1)·x/log(u), and x when u = 1; for
 * |x| ≥ 1/2, e^x − 1 directly.
 */
export function expm1(x: Array): Array {
  const c = (v: number): Array => scalar(v, x);
  const small = np.abs(x.ref).less(c(0.5));
  const xs = np.where(small.ref, x.ref, c(0));
  const u = np.exp(xs.ref);
  const um1 = u.ref.sub(c(1));
  const same = um1.ref.equal(c(0));
  const logU = np.log(np.where(same.ref, c(1), u));
  const near = np.where(same.ref, xs.ref, um1.mul(xs).div(np.where(same, c(1), logU)));
  return np.where(small, near, np.exp(x).sub(c(1)));
}

/**
 * |x| through `where`, with the gradient at 0 chosen (+1 or −1) to match the branch the caller
 * takes at x = 0, so that the composite's gradient at 0 is right (tanh′(0) = 1, softplus′(0) = ½).
 */
function absWhere(x: Array, slopeAtZero: 1 | -1): Array {
  const zero = scalar(0, x);
  const useX = slopeAtZero > 0 ? x.ref.greaterEqual(zero) : x.ref.greater(zero);
  return np.where(useX, x.ref, x.neg());
}

/** tanh(x) = −t/(2 + t)·sign(x) with t = expm1(−2|x|): no cancellation near 0. */
export function tanh(x: Array): Array {
  if (!isFloat64(x)) return np.tanh(x);
  const t = expm1(absWhere(x.ref, 1).mul(scalar(-2, x)));
  const mag = t.ref.neg().div(t.add(scalar(2, x)));
  return np.where(x.less(scalar(0, mag)), mag.ref.neg(), mag);
}

/** softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^{−|x|}). */
export function softplus(x: Array): Array {
  if (!isFloat64(x)) return nn.softplus(x);
  const pos = np.where(x.ref.greater(scalar(0, x)), x.ref, scalar(0, x));
  return pos.add(log1p(np.exp(absWhere(x, -1).neg())));
}

/** sigmoid(x) = 1/(1 + e^{−x}), as e^{x}/(1 + e^{x}) for x < 0 (one exp of −|x|, no overflow). */
export function sigmoid(x: Array): Array {
  const e = np.exp(absWhere(x.ref, 1).neg());
  const num = np.where(x.less(scalar(0, e)), e.ref, scalar(1, e));
  return num.div(e.add(scalar(1, num)));
}

/** log sigmoid(x) = −softplus(−x). */
export function logSigmoid(x: Array): Array {
  return softplus(x.neg()).neg();
}
