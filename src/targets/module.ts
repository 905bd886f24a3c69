/**
 * A user's target from a JavaScript module (Node.js): the module exports
 *
 *     export const dim = 2;                       // optional, default 2
 *     export const logZ = 1.2;                    // optional: log Z when known, printed beside the estimate
 *     export function logDensity(x, { np, nn, columns }) {
 *       const [a, b] = columns(x);                // x: [N, D] array → D arrays [N]
 *       return a.mul(a.ref).add(b.mul(b.ref)).mul(-0.5);   // log p̃ of every row: [N]
 *     }
 *
 * written with the library's array API, which the second argument hands over (so the module needs
 * no import and works wherever it lies). The function is traced under jit and differentiated; it
 * is checked on a batch of points when loaded. A function of plain numbers (one row x = [x0, x1, …]
 * in, one number out) cannot be traced: it is detected (it fails or returns a number on an array,
 * and works on a row) and evaluated on the host instead, its gradient by central differences.
 */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { nn, np, type Array } from "../engine/jax.js";
import { FileFormatError, NonFiniteError, ShapeError } from "../engine/errors.js";
import { fromValues } from "../engine/dtype.js";
import { checkTargetOutput, columns, hostTarget, hostValuesAndGradients, isArray, type Target } from "./target.js";

/** What a target module's logDensity receives as its second argument. */
export const TARGET_API = Object.freeze({ np, nn, columns });

/**
 * Imports a target module and checks it (FileFormatError, ShapeError or NonFiniteError with one
 * line naming the file): a `logDensity` export that maps a batch [N, D] to [N] finite values or
 * −∞, an integer `dim` ≥ 1 when given, a finite `logZ` when given.
 */
export async function loadTargetModule(path: string, o: { dim?: number } = {}): Promise<Target> {
  const full = resolve(path);
  if (!existsSync(full) || !statSync(full).isFile()) throw new FileFormatError(`${path}: no such file (a target is a built-in name or a .mjs/.js module exporting logDensity)`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(full).href)) as Record<string, unknown>;
  } catch (error) {
    throw new FileFormatError(`${path}: the module could not be loaded: ${String((error as Error)?.message ?? error).split("\n")[0]}`);
  }
  const f = mod.logDensity ?? (mod.default as Record<string, unknown> | undefined)?.logDensity;
  if (typeof f !== "function")
    throw new FileFormatError(`${path}: the module exports no logDensity function (export function logDensity(x, { np, columns }) { … } returning log p̃ of every row)`);
  const dim = mod.dim ?? o.dim ?? 2;
  if (!(typeof dim === "number" && Number.isInteger(dim) && dim >= 1)) throw new FileFormatError(`${path}: export dim must be an integer ≥ 1, got ${JSON.stringify(dim)}`);
  if (o.dim !== undefined && o.dim !== dim) throw new ShapeError(`${path}: the module exports dim ${dim}, but dimension ${o.dim} was asked for`);
  const logZ = mod.logZ;
  if (logZ !== undefined && !(typeof logZ === "number" && Number.isFinite(logZ))) throw new FileFormatError(`${path}: export logZ must be a finite number, got ${JSON.stringify(logZ)}`);
  const logDensity = f as (x: Array, api: typeof TARGET_API) => Array;
  const target: Target = {
    name: path,
    dim,
    description: typeof mod.description === "string" ? mod.description : `log p̃ from ${path}`,
    logDensity: (x) => logDensity(x, TARGET_API),
    ...(logZ !== undefined ? { logZ, logZMethod: "exact" as const } : {}),
  };
  return checkModuleTarget(target, f as (x: unknown, api: typeof TARGET_API) => unknown, path);
}

/**
 * The load-time check of a module's function on a few points of [−1, 1]^D (every error a
 * FileFormatError naming the file). A function that works on a plain row of numbers but not on an
 * array becomes a host target (`Target.hostLogDensity`: evaluated outside the compiled step, its
 * gradient by central differences).
 */
function checkModuleTarget(target: Target, f: (x: unknown, api: typeof TARGET_API) => unknown, path: string): Target {
  const N = 8;
  const D = target.dim;
  const values = Float64Array.from({ length: N * D }, (_, i) => Math.sin(1.7 * i + 0.3));
  let arrayError: unknown;
  try {
    checkTargetOutput(target, fromValues(values, [N, D], "float32"));
    return target;
  } catch (error) {
    arrayError = error;
  }
  // plain numbers? (x[0] of an array is undefined, so such code returns NaN or throws on arrays)
  let plain: unknown;
  try {
    plain = f(globalThis.Array.from(values.subarray(0, D)), TARGET_API);
  } catch {
    plain = undefined;
  }
  if (typeof plain === "number" && !isArray(plain)) {
    const host = hostTarget(path, D, (row) => f(row, TARGET_API) as number, { description: target.description, ...(target.logZ !== undefined ? { logZ: target.logZ, logZMethod: target.logZMethod! } : {}) });
    const rows = Float64Array.from(values);
    try {
      hostValuesAndGradients(host, rows, N);
    } catch (error) {
      throw new NonFiniteError(String((error as Error).message).replace(`target ${path}: `, `${path}: `).replace(" at a sample of q", ""));
    }
    return host;
  }
  const message = String((arrayError as Error)?.message ?? arrayError).replace(`target ${path}: `, `${path}: `);
  if (arrayError instanceof ShapeError) throw new ShapeError(message);
  if (arrayError instanceof NonFiniteError) throw new NonFiniteError(message);
  const hint = / failed on a batch /.test(message) ? ` (is the module's dim, ${D}, the one its logDensity expects? export const dim = …)` : "";
  throw new FileFormatError(`${message}${hint}`);
}
