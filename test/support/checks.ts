/**
 * The tests' door to the library's exactness check (src/check/): the registry and the bijector
 * tests assert on the same report that `checkBijector` gives users, so what the tests prove is
 * what a user's one-line check proves. This file only adapts option names and turns a failed
 * report into an assertion listing the failed checks with their figures.
 */
import assert from "node:assert/strict";
import type { Array, Device } from "../../src/engine/jax.js";
import type { FloatDType } from "../../src/engine/dtype.js";
import type { Params } from "../../src/engine/tree.js";
import type { Bijector } from "../../src/bijectors/bijector.js";
import { checkBijector as checkBijectorReport, formatReport, jacobian, perturbParams, type CheckReport } from "../../src/check/index.js";

export { logAbsDetHost } from "../../src/check/index.js";

/** Adds N(0, scale²) noise to every leaf except those whose path matches `skip` (the library's perturbParams). */
export function perturb<P extends Params>(p: P, seed: number, scale = 0.3, skip: (path: string) => boolean = () => false): P {
  return perturbParams(p, seed, scale, skip);
}

/** Host copy of an array (does not consume). */
export function host(x: Array): number[] {
  return globalThis.Array.from(x.ref.dataSync() as ArrayLike<number>);
}

/** Jacobian J[i][j] = ∂y_i/∂v_j of one direction at one sample, row-major D×D (the library's `jacobian`). */
export function forwardJacobian<P extends Params>(
  bij: Bijector<P>,
  p: P,
  z: number[],
  context: number[] | undefined,
  dtype: FloatDType,
  direction: "forward" | "inverse" = "forward",
): number[] {
  return globalThis.Array.from(jacobian(bij, p, z, context, dtype, direction));
}

export interface BijectorCheckOptions {
  dtype: FloatDType;
  n?: number;
  seed?: number;
  /** Tolerance of the round trip (max abs, scaled by max(1, max |v|)). */
  roundTripTol: number;
  /** Tolerance of log-det vs autodiff Jacobian; undefined skips the Jacobian check. */
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
  device?: Device;
}

/** Fails with every failed check's line when the report does not pass. */
export function assertPasses(report: CheckReport): void {
  assert.ok(report.pass, formatReport(report).filter((l) => l.includes("FAIL") || !l.startsWith("  ")).join("\n"));
}

/** The library's checkBijector on random params, asserted to pass. */
export function checkBijector<P extends Params>(bij: Bijector<P>, o: BijectorCheckOptions): CheckReport {
  const report = checkBijectorReport(bij, undefined, {
    dtype: o.dtype,
    points: o.n ?? 16,
    seed: o.seed ?? 1,
    jacobianPoints: o.logDetTol === undefined ? 0 : (o.jacobianSamples ?? 4),
    tolerances: {
      roundTrip: o.roundTripTol,
      logDetSum: Math.max(o.roundTripTol, 1e-12) * 10 + (o.logDetTol ?? o.roundTripTol),
      ...(o.logDetTol !== undefined ? { logDet: o.logDetTol } : {}),
    },
    ...(o.inputScale !== undefined ? { inputScale: o.inputScale } : {}),
    ...(o.toDomain ? { toDomain: o.toDomain } : {}),
    ...(o.skipPerturb ? { skipPerturb: o.skipPerturb } : {}),
    ...(o.perturbScale !== undefined ? { perturbScale: o.perturbScale } : {}),
    ...(o.device ? { device: o.device } : {}),
  });
  assertPasses(report);
  return report;
}
