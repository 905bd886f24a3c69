/** Weight initialisers. */
import type { Array } from "../engine/jax.js";
import { np } from "../engine/jax.js";
import type { FloatDType } from "../engine/dtype.js";
import { jaxDType } from "../engine/dtype.js";
import { uniform, type Key } from "../engine/random.js";

/**
 * PyTorch's default for nn.Linear (what the reference peers use): W, b ~ U(−1/√fan_in, 1/√fan_in).
 * Shape of W is [fanIn, fanOut] (we compute x·W).
 */
export function linearUniform(key: Key, shape: number[], fanIn: number, dtype: FloatDType): Array {
  const bound = 1 / Math.sqrt(Math.max(1, fanIn));
  return uniform(key, shape, dtype, -bound, bound);
}

/** Zeros of a float dtype (used for identity-at-init output layers). */
export function zeros(shape: number[], dtype: FloatDType): Array {
  return np.zeros(shape, { dtype: jaxDType(dtype) });
}
