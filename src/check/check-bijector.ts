/**
 * The exactness check of a bijection, the same one the test registry runs on every layer:
 *  - round trips  g(f(z)) = z  and  f(g(x)) = x;
 *  - forward and inverse log-dets sum to zero:  log|det J_f(z)| + log|det J_g(f(z))| = 0;
 *  - each log-det equals log|det J| of the autodiff Jacobian (forward-mode JVPs, the determinant
 *    by LU with partial pivoting in float64 on the host, independent of the code under test);
 *  - autoregressive layers: J is triangular in the autoregressive order, ∂y_i/∂v_j = 0 whenever
 *    order[j] > order[i].
 * Without params the bijector is checked on random ones: init, then every trainable leaf perturbed
 * by N(0, 0.3²), so identity-initialised layers prove something.
 *
 * @example A user-defined bijection, checked in one line (see docs/check.md):
 * ```ts
 * const report = checkBijector(myBijector);
 * if (!report.pass) console.log(formatReport(report).join("\n"));
 * ```
 */
import { defaultDevice, type Device } from "../engine/jax.js";
import { fromValues, type FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import { hostRng, keyFromSeed } from "../engine/random.js";
import { disposeTree, refTree, type Params } from "../engine/tree.js";
import type { Bijector } from "../bijectors/bijector.js";
import { Autoregressive } from "../bijectors/autoregressive.js";
import { jacobianColumns } from "./jacobian.js";
import { logAbsDetHost, maxAbs, maxAbsDiff } from "./linear-algebra.js";
import { castParams, paramsDType, perturbParams } from "./params.js";
import { defaultTolerances, entry, skipped, type CheckEntry, type CheckReport, type CheckTolerances } from "./report.js";

/** Dimension up to which every check is done in full (all Jacobian columns, both directions). */
export const SMALL_DIM = 64;

/** Options of `checkBijector` (every one has a default). */
export interface BijectorCheckOptions {
  /** Precision of the check; params are cast to it through the host. Default "float64". */
  dtype?: FloatDType;
  /** jax-js device to run on (restored afterwards). Default: the current default device. */
  device?: Device;
  /** Seed of the random params, points and contexts. Default 1. */
  seed?: number;
  /** Number of points of the round trips. Default 16 (D ≤ 64) or 4. */
  points?: number;
  /** The forward inputs z (rows of D values) instead of random ones. */
  inputs?: readonly (readonly number[])[];
  /** Scale of the random inputs z ~ N(0, scale²). Default 1. */
  inputScale?: number;
  /** Maps each raw N(0, 1) input value into the bijector's domain (e.g. (0, 1) for a sigmoid's inverse). */
  toDomain?: (v: number) => number;
  /** Context of a conditional bijection: one row for all points, or one per point. Default N(0, 1) rows. */
  context?: readonly number[] | readonly (readonly number[])[];
  /** Points whose Jacobian is computed. Default 2 (D ≤ 64) or 1. 0 skips the Jacobian checks. */
  jacobianPoints?: number;
  /**
   * Directions whose log-det is compared with the autodiff Jacobian. Default both for D ≤ 64,
   * otherwise the parallel one (a sequential direction at large D costs D passes per JVP).
   */
  jacobianDirections?: readonly ("forward" | "inverse")[];
  /**
   * Autoregressive order (rank of each dimension): the Jacobian must be triangular in it. Default:
   * the MADE order of MAF/IAF layers, none for other bijectors. `false` turns the check off.
   */
  triangular?: readonly number[] | false;
  /** Jacobian columns of the triangularity check above D = 64 (sampled). Default 16. */
  triangularColumns?: number;
  /** Scale of the perturbation of random params (0: the init params as they are). Default 0.3. */
  perturbScale?: number;
  /** Param paths left unperturbed (state leaves are always left). */
  skipPerturb?: (path: string) => boolean;
  /** Tolerances, replacing the defaults of `dtype` one by one. */
  tolerances?: Partial<CheckTolerances>;
}

/** Resolved options (internal). */
export interface ResolvedBijectorCheck {
  dtype: FloatDType;
  seed: number;
  tol: CheckTolerances;
  jacobianPoints: number;
  jacobianDirections: readonly ("forward" | "inverse")[];
  triangular: readonly number[] | undefined;
  triangularColumns: number;
}

/** What the checks of one bijector at given points measured. */
export interface BijectorChecks {
  checks: CheckEntry[];
  /** f(z), host rows. */
  x: number[][];
  /** log|det J_f(z)| per point. */
  forwardLogDet: number[];
}

/**
 * Checks a bijection (round trips, log-det sum, log-det vs autodiff Jacobian, triangularity) and
 * returns every figure with its tolerance. Without `params`, on random params (see the module
 * doc); with them, on a float64 copy (the given params are not consumed). Never throws on a
 * failed check: read `report.pass`.
 *
 * @example Your own bijection in one line (a full one, that passes, and a wrong log-det, that fails: docs/check.md):
 * ```ts
 * console.log(formatReport(checkBijector(new MyBijection(3))).join("\n"));
 * ```
 */
export function checkBijector<P extends Params>(bijector: Bijector<P>, params?: P, options: BijectorCheckOptions = {}): CheckReport {
  const start = Date.now();
  const dtype = options.dtype ?? "float64";
  const previous = defaultDevice();
  if (options.device) defaultDevice(options.device);
  const device = String(defaultDevice());
  try {
    const seed = options.seed ?? 1;
    const D = bijector.dim;
    const K = bijector.contextDim;
    const state = new Set(bijector.stateLeaves ?? []);
    const p: P = params
      ? castParams(params, dtype)
      : perturbParams(bijector.init(keyFromSeed(seed), dtype), seed + 100, options.perturbScale ?? 0.3, (path) => state.has(path) || (options.skipPerturb?.(path) ?? false));
    const rng = hostRng(seed + 7);
    const gauss = (): number => {
      const u = 1 - rng();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
    };
    const n = options.inputs?.length ?? options.points ?? (D <= SMALL_DIM ? 16 : 4);
    // inputs are rounded to the checked precision first: the round trip compares with what went in
    const round = dtype === "float32" ? Math.fround : (v: number) => v;
    const z = (
      options.inputs?.map((row, i) => {
        if (row.length !== D) throw new ConfigError(`inputs: row ${i} has ${row.length} values, the bijector has dim ${D}`);
        return [...row];
      }) ??
      globalThis.Array.from({ length: n }, () =>
        globalThis.Array.from({ length: D }, () => {
          const v = gauss();
          return options.toDomain ? options.toDomain(v) : v * (options.inputScale ?? 1);
        }),
      )
    ).map((row) => row.map(round));
    const context = K > 0 ? contextRows(options.context, n, K, gauss) : undefined;
    const resolved = resolveOptions(bijector, options, dtype, seed);
    const r = checkBijectorAt(bijector, p, z, context, resolved);
    disposeTree(p);
    return {
      subject: bijector.kind,
      dim: D,
      contextDim: K,
      dtype,
      paramsDType: params ? paramsDType(params, dtype) : dtype,
      device,
      seed,
      randomParams: !params,
      pass: r.checks.every((c) => c.status !== "fail"),
      checks: r.checks,
      points: { z, x: r.x, context: context ?? null },
      seconds: (Date.now() - start) / 1000,
    };
  } finally {
    if (options.device) defaultDevice(previous);
  }
}

/** Resolves the options that `checkBijectorAt` needs (internal; also used by `checkFlow`). */
export function resolveOptions(
  bijector: Bijector,
  options: Pick<BijectorCheckOptions, "jacobianPoints" | "jacobianDirections" | "triangular" | "triangularColumns" | "tolerances">,
  dtype: FloatDType,
  seed: number,
): ResolvedBijectorCheck {
  const D = bijector.dim;
  const small = D <= SMALL_DIM;
  const parallel: "forward" | "inverse" = bijector.inversePass === "parallel" ? "inverse" : "forward";
  const triangular =
    options.triangular === false ? undefined : (options.triangular ?? (bijector instanceof Autoregressive ? bijector.made.order : undefined));
  if (triangular && triangular.length !== D) throw new ConfigError(`triangular: expected an order of ${D} values, got ${triangular.length}`);
  return {
    dtype,
    seed,
    tol: { ...defaultTolerances(dtype), ...(options.tolerances ?? {}) },
    jacobianPoints: options.jacobianPoints ?? (small ? 2 : 1),
    jacobianDirections: options.jacobianDirections ?? (small ? ["forward", "inverse"] : [parallel]),
    triangular,
    triangularColumns: options.triangularColumns ?? 16,
  };
}

function contextRows(
  given: readonly number[] | readonly (readonly number[])[] | undefined,
  n: number,
  K: number,
  gauss: () => number,
): number[][] {
  if (given === undefined) return globalThis.Array.from({ length: n }, () => globalThis.Array.from({ length: K }, gauss));
  const rows = typeof given[0] === "number" ? globalThis.Array.from({ length: n }, () => [...(given as readonly number[])]) : (given as readonly (readonly number[])[]).map((r) => [...r]);
  if (rows.length !== n) throw new ConfigError(`context: expected one row or ${n} rows, got ${rows.length}`);
  rows.forEach((r, i) => {
    if (r.length !== K) throw new ConfigError(`context: row ${i} has ${r.length} values, expected ${K}`);
  });
  return rows;
}

const flat = (rows: readonly (readonly number[])[]): number[] => rows.flat();
const toRows = (v: ArrayLike<number>, n: number, d: number): number[][] =>
  globalThis.Array.from({ length: n }, (_, i) => globalThis.Array.from(globalThis.Array.prototype.slice.call(v, i * d, (i + 1) * d) as number[]));

/**
 * The checks of one bijector with params `p` (not consumed) at forward inputs `z` (host rows) and
 * contexts (host rows, one per point). Internal door shared by `checkBijector` and `checkFlow`.
 */
export function checkBijectorAt<P extends Params>(
  bijector: Bijector<P>,
  p: P,
  z: number[][],
  context: number[][] | undefined,
  o: ResolvedBijectorCheck,
): BijectorChecks {
  const D = bijector.dim;
  const n = z.length;
  const dtype = o.dtype;
  const K = bijector.contextDim;
  const ctx = () => (context && K > 0 ? fromValues(flat(context), [n, K], dtype) : undefined);
  const checks: CheckEntry[] = [];

  // z → x → z, with both log-dets
  const fwd = bijector.forward(refTree(p), fromValues(flat(z), [n, D], dtype), ctx());
  const xFlat = Float64Array.from(fwd.y.ref.dataSync() as ArrayLike<number>);
  const ldF = globalThis.Array.from(fwd.logDet.dataSync() as ArrayLike<number>);
  const inv = bijector.inverse(refTree(p), fwd.y, ctx());
  const zBack = inv.y.dataSync() as ArrayLike<number>;
  const ldG = globalThis.Array.from(inv.logDet.dataSync() as ArrayLike<number>);
  const zFlat = flat(z);
  checks.push(
    entry({
      id: "round-trip-zxz",
      description: "max |g(f(z)) − z|, tolerance scaled by max(1, max |z|)",
      maxError: finiteOr(maxAbsDiff(zBack, zFlat), xFlat),
      tolerance: o.tol.roundTrip * Math.max(1, maxAbs(zFlat)),
      points: n,
    }),
  );
  let sumErr = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.abs(ldF[i]! + ldG[i]!) / Math.max(1, Math.abs(ldF[i]!));
    sumErr = Number.isFinite(e) ? Math.max(sumErr, e) : Infinity;
  }
  checks.push(
    entry({
      id: "log-det-sum",
      description: "max |log|det J_f(z)| + log|det J_g(f(z))|| / max(1, |log|det J_f(z)||)",
      maxError: sumErr,
      tolerance: o.tol.logDetSum,
      points: n,
    }),
  );

  // x → z → x from the points x = f(z) of the range
  const inv2 = bijector.inverse(refTree(p), fromValues(xFlat, [n, D], dtype), ctx());
  const ldG2 = globalThis.Array.from(inv2.logDet.dataSync() as ArrayLike<number>);
  const fwd2 = bijector.forward(refTree(p), inv2.y, ctx());
  fwd2.logDet.dispose();
  const xBack = fwd2.y.dataSync() as ArrayLike<number>;
  checks.push(
    entry({
      id: "round-trip-xzx",
      description: "max |f(g(x)) − x| at x = f(z), tolerance scaled by max(1, max |x|)",
      maxError: finiteOr(maxAbsDiff(xBack, xFlat), xFlat),
      tolerance: o.tol.roundTrip * Math.max(1, maxAbs(xFlat)),
      points: n,
    }),
  );
  const x = toRows(xFlat, n, D);

  // log-det against the autodiff Jacobian
  const m = Math.min(n, o.jacobianPoints);
  for (const direction of ["forward", "inverse"] as const) {
    const id = `log-det-jacobian-${direction}`;
    const description = `max |log|det J| − log-det| / max(1, |log|det J||), J = ∂${direction === "forward" ? "f(z)/∂z" : "g(x)/∂x"} by forward-mode autodiff, det by host LU in float64`;
    if (!o.jacobianDirections.includes(direction) || m === 0) {
      const why =
        m === 0
          ? "no Jacobian points asked for"
          : `the ${direction} direction is ${direction === "forward" ? bijector.forwardPass : bijector.inversePass} and D = ${D}: checked in the other direction (the log-det sum links them)`;
      checks.push(skipped(id, description, why));
      continue;
    }
    let err = 0;
    const refs: number[] = [];
    for (let i = 0; i < m; i++) {
      const at = direction === "forward" ? z[i]! : x[i]!;
      const J = jacobianColumns(bijector, p, at, context?.[i], dtype, direction);
      const ref = logAbsDetHost(J, D);
      refs.push(ref);
      const ld = direction === "forward" ? ldF[i]! : ldG2[i]!;
      const e = Math.abs(ref - ld) / Math.max(1, Math.abs(ref));
      err = Number.isFinite(e) ? Math.max(err, e) : Infinity;
    }
    checks.push(entry({ id, description, maxError: err, tolerance: o.tol.logDet, points: m, figures: { logAbsDetJ: refs } }));
  }

  if (o.triangular) checks.push(...triangularChecks(bijector, p, z[0]!, x[0]!, context?.[0], o, undefined));
  return { checks, x, forwardLogDet: ldF };
}

/**
 * ∂y_i/∂v_j = 0 whenever order[j] > order[i], in both directions, at one point: every column for
 * D ≤ 64, otherwise `triangularColumns` sampled columns (JVPs e_j).
 */
export function triangularChecks<P extends Params>(
  bijector: Bijector<P>,
  p: P,
  z: readonly number[],
  x: readonly number[],
  context: readonly number[] | undefined,
  o: ResolvedBijectorCheck,
  layer: string | undefined,
): CheckEntry[] {
  const order = o.triangular!;
  const D = bijector.dim;
  let columns: number[] | undefined;
  if (D > SMALL_DIM) {
    const rng = hostRng(o.seed + 11);
    const all = globalThis.Array.from({ length: D }, (_, j) => j);
    for (let i = D - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    columns = all.slice(0, Math.min(D, o.triangularColumns)).sort((a, b) => a - b);
  }
  const cols = columns ?? globalThis.Array.from({ length: D }, (_, j) => j);
  const out: CheckEntry[] = [];
  for (const direction of o.jacobianDirections.length === 2 ? (["forward", "inverse"] as const) : o.jacobianDirections) {
    const J = jacobianColumns(bijector, p, direction === "forward" ? z : x, context, dtype(o), direction, columns);
    const k = cols.length;
    let worst = 0;
    let scale = 1;
    let zeroDiagonal = 0;
    for (let i = 0; i < D; i++)
      for (let c = 0; c < k; c++) {
        const j = cols[c]!;
        const v = J[i * k + c]!;
        scale = Math.max(scale, Math.abs(v));
        if (order[j]! > order[i]!) worst = Math.max(worst, Number.isFinite(v) ? Math.abs(v) : Infinity);
        if (i === j && v === 0) zeroDiagonal++;
      }
    const e = entry({
      id: "triangular",
      description: `max |∂y_i/∂v_j| over order[j] > order[i] (${direction}), relative to max(1, max |J|)`,
      maxError: worst / scale,
      tolerance: o.tol.triangular,
      points: k,
      figures: { direction, columns: columns ? cols : "all", zeroDiagonal },
      ...(layer ? { layer } : {}),
      ...(zeroDiagonal ? { note: `${zeroDiagonal} zero diagonal entries (not invertible there)` } : {}),
    });
    out.push(zeroDiagonal ? { ...e, status: "fail" } : e);
  }
  return out;
}

const dtype = (o: ResolvedBijectorCheck): FloatDType => o.dtype;

/** A round-trip error, or Infinity when the forward output itself is not finite. */
function finiteOr(err: number, x: ArrayLike<number>): number {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) return Infinity;
  return err;
}
