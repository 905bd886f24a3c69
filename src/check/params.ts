/** Params for the exactness checks: copies in the checked precision, and random perturbations. */
import { type Array } from "../engine/jax.js";
import { floatDTypeOf, fromValues, type FloatDType } from "../engine/dtype.js";
import { keyFromSeed, normal } from "../engine/random.js";
import { mapTree, refTree, treeLeaves, type Params } from "../engine/tree.js";

/**
 * Adds N(0, scale²) noise to every float leaf except those whose path matches `skip`, so that
 * identity-initialised layers (zero last layers, unit scales) are checked away from the identity.
 * Consumes `p`; leaf l gets the noise of seed `seed + l`.
 */
export function perturbParams<P extends Params>(p: P, seed: number, scale = 0.3, skip: (path: string) => boolean = () => false): P {
  let s = seed;
  return mapTree(p, (leaf, path) => {
    if (skip(path) || !floatDTypeOf(leaf)) return leaf;
    const noise = normal(keyFromSeed(s++), leaf.shape, floatDTypeOf(leaf)!);
    return leaf.add(noise.mul(scale));
  });
}

/**
 * A copy of `p` with every float leaf in `dtype`, made through the host on the current device
 * (so params of a float32 model, or params living on another device, are checked in float64
 * where the check runs). Does not consume `p`.
 */
export function castParams<P extends Params>(p: P, dtype: FloatDType): P {
  return mapTree(refTree(p), (leaf: Array) => {
    if (!floatDTypeOf(leaf)) return leaf;
    const shape = leaf.shape;
    return fromValues(leaf.dataSync() as ArrayLike<number>, shape, dtype);
  });
}

/** The float dtype of a params tree's leaves (`fallback` when there is none). */
export function paramsDType(p: Params, fallback: FloatDType): FloatDType {
  for (const leaf of treeLeaves(p)) {
    const d = floatDTypeOf(leaf);
    if (d) return d;
  }
  return fallback;
}
