/**
 * Targets of variational inference: unnormalised log-densities log p̃(x), p(x) = p̃(x)/Z, written
 * with the library's array API so that they run under `jit` and `grad` (the reparametrised
 * gradient of the ELBO flows through x = f(z) into log p̃). Z is unknown in general; the built-in
 * targets know it (exactly, or by quadrature), so that estimates of log Z can be checked.
 *
 * Ownership: `logDensity` consumes x (jax-js convention); use `x.ref` to read it twice.
 * Columns: `columns(x)` (one [N] array per dimension), not `x.slice`, whose gradient is wrong
 * under jit in jax-js 0.1.25 (engine/select.ts).
 */
import type { Array } from "../engine/jax.js";
import { ConfigError, NonFiniteError, ShapeError } from "../engine/errors.js";
import { splitColumnBlocks } from "../engine/select.js";

/** An unnormalised target density p̃ on R^D. */
export interface Target {
  /** Its name: a built-in's, or the module it came from. */
  name: string;
  /** Dimension D of x. */
  dim: number;
  /** One line for people. */
  description: string;
  /** log p̃ of every row of x [N, D] as an [N] array (consumes x). Traceable: no host reads. */
  logDensity(x: Array): Array;
  /**
   * A target of plain numbers instead: log p̃ of one row, computed on the host in float64. It
   * cannot be traced, so variational inference evaluates it outside the compiled step and takes
   * its gradient by central differences (2D + 1 calls per sample); `logDensity` then throws.
   */
  hostLogDensity?: (x: number[]) => number;
  /** log Z = log ∫ p̃(x) dx, when known. */
  logZ?: number;
  /** How `logZ` was obtained. */
  logZMethod?: "exact" | "quadrature";
  /** A box [lo, hi] per dimension holding nearly all the mass (pictures). */
  bounds?: readonly (readonly [number, number])[];
}

/** The D columns of x [N, D] as [N] arrays (consumes x); exact, with correct gradients under jit. */
export function columns(x: Array): Array[] {
  const [N, D] = x.shape as [number, number];
  return splitColumnBlocks(x, D).map((c) => c.reshape([N]));
}

/**
 * Checks a target on a concrete batch x [N, D] (consumes x): it must return a jax array of shape
 * [N], finite where p̃ > 0 (−∞ is allowed: outside the support), never NaN. Throws ShapeError or
 * NonFiniteError with a one-line message naming the target. Returns the host values.
 */
export function checkTargetOutput(target: Target, x: Array): Float64Array {
  const N = x.shape[0]!;
  if (x.shape[1] !== target.dim) {
    const d = x.shape[1];
    x.dispose();
    throw new ShapeError(`target ${target.name}: it is ${target.dim}-dimensional, the flow is ${d}-dimensional`);
  }
  let out: unknown;
  try {
    out = target.logDensity(x);
  } catch (error) {
    throw new ConfigError(`target ${target.name}: logDensity(x) failed on a batch [${N}, ${target.dim}]: ${firstLine(error)}`);
  }
  if (typeof out === "number" || (globalThis.Array.isArray(out) && typeof out[0] === "number"))
    throw new ConfigError(
      `target ${target.name}: logDensity returned plain numbers, which cannot be differentiated: take x as an array [N, D] and return log p̃ of every row as an [N] array, written with the library's array API (np, columns)`,
    );
  if (!isArray(out)) throw new ConfigError(`target ${target.name}: logDensity must return an array of shape [N], got ${describe(out)}`);
  const shape = out.shape as number[];
  if (shape.length !== 1 || shape[0] !== N) {
    out.dispose();
    throw new ShapeError(`target ${target.name}: logDensity must return shape [${N}] (one log p̃ per row of x [${N}, ${target.dim}]), got [${shape.join(", ")}]`);
  }
  const values = Float64Array.from(out.dataSync() as Float32Array | Float64Array);
  const bad = values.findIndex((v) => Number.isNaN(v) || v === Infinity);
  if (bad >= 0) throw new NonFiniteError(`target ${target.name}: logDensity returned ${values[bad]} at row ${bad}: log p̃ must be a number or −Infinity`);
  return values;
}

/** Whether v is a jax-js array (duck-typed: a user module may hold another copy of the library). */
export function isArray(v: unknown): v is Array {
  return typeof v === "object" && v !== null && "shape" in v && "dataSync" in v && typeof (v as Array).dispose === "function";
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  return typeof v === "object" ? (v.constructor?.name ?? "an object") : typeof v;
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split("\n")[0]!;
}

/** A Target from a function of one row of plain numbers (see `Target.hostLogDensity`). */
export function hostTarget(name: string, dim: number, f: (x: number[]) => number, extra: Partial<Target> = {}): Target {
  return {
    description: `log p̃ of plain numbers from ${name}`,
    ...extra,
    name,
    dim,
    hostLogDensity: f,
    logDensity: () => {
      throw new ConfigError(`target ${name}: it computes with plain numbers, so it cannot run inside a compiled function (it is evaluated on the host)`);
    },
  };
}

/**
 * log p̃ of every row of x (n rows of D, host float64) and its gradient by central differences,
 * ∂_d log p̃ ≈ (f(x + h e_d) − f(x − h e_d))/2h with h = 1e-5·max(1, |x_d|) (error O(h²)); the
 * gradient is 0 where log p̃ = −∞. NaN or +∞ is a NonFiniteError naming the row.
 */
export function hostValuesAndGradients(target: Target, x: ArrayLike<number>, n: number): { logP: Float64Array; grad: Float64Array } {
  const f = target.hostLogDensity!;
  const D = target.dim;
  const logP = new Float64Array(n);
  const grad = new Float64Array(n * D);
  const row = new globalThis.Array<number>(D);
  const value = (i: number): number => {
    const v = f(row.slice());
    if (typeof v !== "number" || Number.isNaN(v) || v === Infinity)
      throw new NonFiniteError(`target ${target.name}: logDensity returned ${typeof v === "number" ? v : typeof v} at a sample of q (row ${i}): log p̃ must be a number or −Infinity`);
    return v;
  };
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < D; d++) row[d] = x[i * D + d]!;
    logP[i] = value(i);
    if (logP[i] === -Infinity) continue;
    for (let d = 0; d < D; d++) {
      const xd = row[d]!;
      const h = 1e-5 * Math.max(1, Math.abs(xd));
      row[d] = xd + h;
      const up = value(i);
      row[d] = xd - h;
      const down = value(i);
      row[d] = xd;
      const g = (up - down) / (2 * h);
      grad[i * D + d] = Number.isFinite(g) ? g : 0;
    }
  }
  return { logP, grad };
}
