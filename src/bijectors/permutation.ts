/**
 * A fixed permutation of the coordinates: x[:, j] = z[:, order[j]], z[:, order[j]] = x[:, j].
 * Between couplings it lets every dimension be transformed (RealNVP alternation, MAF/IAF order
 * reversal). It is volume-preserving: |det J| = 1, log-det 0.
 *
 * Implemented as a product with a constant one-hot matrix (src/engine/select.ts), which is exact
 * and differentiable under jit, where slicing and gathers are not (docs/reference/ENGINE-NOTES.md).
 */
import { np, type Array } from "../engine/jax.js";
import { ConfigError } from "../engine/errors.js";
import { hostPermutation, type Key } from "../engine/random.js";
import { takeColumns } from "../engine/select.js";
import { dropContext, type BijectionResult, type Bijector } from "./bijector.js";

/** No parameters. */
export type PermutationParams = Record<string, never>;

export class Permutation implements Bijector<PermutationParams> {
  readonly kind = "permutation";
  readonly dim: number;
  readonly contextDim = 0;
  readonly forwardPass = "parallel" as const;
  readonly inversePass = "parallel" as const;
  /** order[j]: the input coordinate that becomes output coordinate j (forward). */
  readonly order: readonly number[];
  /** The inverse order: inverseOrder[order[j]] = j. */
  readonly inverseOrder: readonly number[];

  /** @param order a permutation of 0..D−1; forward sets x[:, j] = z[:, order[j]]. */
  constructor(order: readonly number[]) {
    this.order = validatePermutation(order, "permutation");
    this.dim = order.length;
    const inv = new globalThis.Array<number>(this.dim);
    this.order.forEach((o, j) => {
      inv[o] = j;
    });
    this.inverseOrder = inv;
  }

  /** Reverses the coordinates: order = [D−1, …, 0] (the MAF/IAF convention between layers). */
  static reverse(dim: number): Permutation {
    checkDim(dim);
    return new Permutation(globalThis.Array.from({ length: dim }, (_, i) => dim - 1 - i));
  }

  /** A seeded random permutation, fixed at construction (same seed, same order). */
  static random(dim: number, seed: number): Permutation {
    checkDim(dim);
    return new Permutation(hostPermutation(dim, seed));
  }

  init(key: Key): PermutationParams {
    key.dispose();
    return {};
  }

  forward(_p: PermutationParams, z: Array, context?: Array): BijectionResult {
    dropContext(context);
    const n = z.shape[0]!;
    const dtype = z.dtype;
    return { y: takeColumns(z, this.order), logDet: np.zeros([n], { dtype }) };
  }

  inverse(_p: PermutationParams, x: Array, context?: Array): BijectionResult {
    dropContext(context);
    const n = x.shape[0]!;
    const dtype = x.dtype;
    return { y: takeColumns(x, this.inverseOrder), logDet: np.zeros([n], { dtype }) };
  }
}

function checkDim(dim: number): void {
  if (!Number.isInteger(dim) || dim < 1) throw new ConfigError(`permutation: dim must be a positive integer, got ${dim}`);
}

/**
 * Checks that `order` holds each of 0..D−1 exactly once (D ≥ 1) and returns a copy.
 * Out-of-range indices would silently select garbage, so they are refused here.
 */
export function validatePermutation(order: readonly number[], what: string): number[] {
  if (!globalThis.Array.isArray(order) || order.length === 0)
    throw new ConfigError(`${what}: expected a non-empty array of indices, got ${JSON.stringify(order)}`);
  const D = order.length;
  const seen = new globalThis.Array<boolean>(D).fill(false);
  for (const [j, o] of order.entries()) {
    if (!Number.isInteger(o) || o < 0 || o >= D)
      throw new ConfigError(`${what}: expected integers in 0..${D - 1}, got ${JSON.stringify(o)} at position ${j}`);
    if (seen[o]) throw new ConfigError(`${what}: index ${o} appears more than once; expected a permutation of 0..${D - 1}`);
    seen[o] = true;
  }
  return order.slice();
}
