/**
 * One way to check any bijector against the mathematics (used by test/bijectors/registry.test.ts
 * and by the flow tests):
 *  - round trip: inverse(forward(z)) = z and forward(inverse(x)) = x;
 *  - log-det: forward's logDet equals log|det J| of an autodiff Jacobian, per sample, with the
 *    determinant computed independently on the host (LU with partial pivoting in float64);
 *  - forward and inverse log-dets sum to zero.
 * Params are RANDOM: every leaf is perturbed, so identity-initialised layers prove something.
 */
import assert from "node:assert/strict";
import { jacfwd, type Array } from "../../src/engine/jax.js";
import { fromValues, type FloatDType } from "../../src/engine/dtype.js";
import { keyFromSeed, normal, splitKey } from "../../src/engine/random.js";
import { disposeTree, mapTree, refTree, type Params } from "../../src/engine/tree.js";
import type { Bijector } from "../../src/bijectors/bijector.js";

/** Adds N(0, scale²) noise to every leaf except those whose path matches `skip`. */
export function perturb<P extends Params>(p: P, seed: number, scale = 0.3, skip: (path: string) => boolean = () => false): P {
  let s = seed;
  return mapTree(p, (leaf, path) => {
    if (skip(path) || !String(leaf.dtype).startsWith("float")) return leaf;
    const noise = normal(keyFromSeed(s++), leaf.shape, String(leaf.dtype) as FloatDType);
    return leaf.add(noise.mul(scale));
  });
}

/** Host copy of an array (does not consume). */
export function host(x: Array): number[] {
  return globalThis.Array.from(x.ref.dataSync() as ArrayLike<number>);
}

/** log|det A| of a row-major n×n matrix by LU with partial pivoting, in float64 on the host. */
export function logAbsDetHost(a: number[], n: number): number {
  const m = a.slice();
  let logDet = 0;
  for (let k = 0; k < n; k++) {
    let piv = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i * n + k]!) > Math.abs(m[piv * n + k]!)) piv = i;
    if (m[piv * n + k] === 0) return -Infinity;
    if (piv !== k) for (let j = 0; j < n; j++) [m[k * n + j], m[piv * n + j]] = [m[piv * n + j]!, m[k * n + j]!];
    const d = m[k * n + k]!;
    logDet += Math.log(Math.abs(d));
    for (let i = k + 1; i < n; i++) {
      const f = m[i * n + k]! / d;
      for (let j = k; j < n; j++) m[i * n + j] = m[i * n + j]! - f * m[k * n + j]!;
    }
  }
  return logDet;
}

/**
 * Jacobian of the forward map at one sample, as a row-major D×D host matrix with
 * J[i][j] = ∂x_i/∂z_j. (jax-js's jacfwd returns the transpose; the determinant does not care,
 * but triangularity tests do, so we transpose back here.)
 */
export function forwardJacobian<P extends Params>(
  bij: Bijector<P>,
  p: P,
  z: number[],
  context: number[] | undefined,
  dtype: FloatDType,
  direction: "forward" | "inverse" = "forward",
): number[] {
  const D = bij.dim;
  const f = (v: Array): Array => {
    const ctx = context ? fromValues(context, [1, context.length], dtype) : undefined;
    return bij[direction](refTree(p), v.reshape([1, D]), ctx).y.reshape([D]);
  };
  const jt = host(jacfwd(f)(fromValues(z, [D], dtype)));
  const J = new globalThis.Array<number>(D * D);
  for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) J[i * D + j] = jt[j * D + i]!;
  return J;
}

export interface BijectorCheckOptions {
  dtype: FloatDType;
  n?: number;
  seed?: number;
  /** Tolerance of the round trip (max abs). */
  roundTripTol: number;
  /** Tolerance of log-det vs autodiff Jacobian (abs); undefined skips the Jacobian check. */
  logDetTol?: number;
  /** Number of samples whose Jacobian is checked. */
  jacobianSamples?: number;
  /** Scale of the input batch. */
  inputScale?: number;
  /** Maps raw N(0,1) inputs into the bijector's domain (e.g. (0,1) for logit). */
  toDomain?: (v: number) => number;
  /** Skip perturbation for these param paths. */
  skipPerturb?: (path: string) => boolean;
  perturbScale?: number;
}

/** Runs the round-trip and log-det checks on random params; returns the perturbed params. */
export function checkBijector<P extends Params>(bij: Bijector<P>, o: BijectorCheckOptions): void {
  const n = o.n ?? 16;
  const D = bij.dim;
  const K = bij.contextDim;
  const seed = o.seed ?? 1;
  const [kInit, kZ, kC] = splitKey(keyFromSeed(seed), 3);
  const p = perturb(bij.init(kInit!, o.dtype), seed + 100, o.perturbScale ?? 0.3, o.skipPerturb);
  const zRaw = host(normal(kZ!, [n, D], o.dtype)).map((v) => (o.toDomain ? o.toDomain(v) : v * (o.inputScale ?? 1)));
  const ctxRaw = K > 0 ? host(normal(kC!, [n, K], o.dtype)) : undefined;
  if (K === 0) kC!.dispose();
  const z = () => fromValues(zRaw, [n, D], o.dtype);
  const ctx = () => (ctxRaw ? fromValues(ctxRaw, [n, K], o.dtype) : undefined);

  // forward then inverse
  const fwd = bij.forward(refTree(p), z(), ctx());
  const xHost = host(fwd.y);
  const fwdLd = host(fwd.logDet);
  const inv = bij.inverse(refTree(p), fwd.y, ctx());
  const zBack = host(inv.y);
  const invLd = host(inv.logDet);
  inv.y.dispose();
  inv.logDet.dispose();
  fwd.logDet.dispose();
  assert.equal(fwdLd.length, n, "forward logDet has one value per sample");
  let err = 0;
  for (let i = 0; i < zRaw.length; i++) err = Math.max(err, Math.abs(zBack[i]! - zRaw[i]!));
  assert.ok(err <= o.roundTripTol, `${bij.kind}: round trip z→x→z max error ${err} > ${o.roundTripTol}`);
  for (let i = 0; i < n; i++) {
    assert.ok(Number.isFinite(fwdLd[i]!), `${bij.kind}: forward logDet not finite`);
    const s = Math.abs(fwdLd[i]! + invLd[i]!);
    assert.ok(s <= Math.max(o.roundTripTol, 1e-12) * 10 + (o.logDetTol ?? o.roundTripTol), `${bij.kind}: forward+inverse logDet = ${s}, not 0`);
  }

  // inverse then forward from x (a point in the range)
  const inv2 = bij.inverse(refTree(p), fromValues(xHost, [n, D], o.dtype), ctx());
  const fwd2 = bij.forward(refTree(p), inv2.y, ctx());
  const xBack = host(fwd2.y);
  fwd2.y.dispose();
  fwd2.logDet.dispose();
  inv2.logDet.dispose();
  let err2 = 0;
  for (let i = 0; i < xHost.length; i++) err2 = Math.max(err2, Math.abs(xBack[i]! - xHost[i]!));
  assert.ok(err2 <= o.roundTripTol * Math.max(1, maxAbs(xHost)), `${bij.kind}: round trip x→z→x max error ${err2}`);

  if (o.logDetTol !== undefined) {
    const m = Math.min(n, o.jacobianSamples ?? 4);
    for (let i = 0; i < m; i++) {
      const zi = zRaw.slice(i * D, (i + 1) * D);
      const ci = ctxRaw?.slice(i * K, (i + 1) * K);
      const J = forwardJacobian(bij, p, zi, ci, o.dtype);
      const ref = logAbsDetHost(J, D);
      assert.ok(
        Math.abs(ref - fwdLd[i]!) <= o.logDetTol,
        `${bij.kind}: logDet ${fwdLd[i]} vs log|det J| ${ref} (sample ${i}, diff ${Math.abs(ref - fwdLd[i]!)})`,
      );
    }
  }
  disposeTree(p);
}

function maxAbs(v: number[]): number {
  return v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
}

