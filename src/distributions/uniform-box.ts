/**
 * Uniform density on the closed box [low_1, high_1] × … × [low_D, high_D]:
 *     log p(z) = −Σ_d log(high_d − low_d)  when low ≤ z ≤ high (every coordinate), −∞ otherwise.
 * No parameters. The lecture's worked example pushes Uniform([0, 2]²) through a linear map.
 *
 * The density is a constant on each side of the boundary, so logProb is one `where` between two
 * constants: its gradient with respect to z is exactly 0 everywhere (no log of a data-dependent
 * value is ever taken, so there is no NaN to mask with the double-where trick), and a flow's
 * gradient outside the support is carried by the log-det term alone.
 */
import { np, type Array } from "../engine/jax.js";
import { floatDTypeOf, fromValues, type FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import { uniform, type Key } from "../engine/random.js";
import { dropContext } from "../bijectors/bijector.js";
import { sampleTemperature, type Distribution, type SampleAndLogProb, type SampleOptions } from "./distribution.js";

export type UniformBoxParams = Record<string, never>;

export class UniformBox implements Distribution<UniformBoxParams> {
  readonly kind = "uniform";
  readonly contextDim = 0;
  readonly dim: number;
  /** log of the box's volume, Σ_d log(high_d − low_d), computed on the host in float64. */
  readonly logVolume: number;

  /**
   * @param low lower corner (length D).
   * @param high upper corner (length D), high_d > low_d, all finite.
   */
  constructor(readonly low: readonly number[], readonly high: readonly number[]) {
    if (low.length === 0 || low.length !== high.length)
      throw new ConfigError(`uniform: low and high must have the same non-zero length, got ${low.length} and ${high.length}`);
    low.forEach((lo, d) => {
      const hi = high[d]!;
      if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(hi > lo))
        throw new ConfigError(`uniform: expected finite low[${d}] < high[${d}], got low=${lo}, high=${hi}`);
    });
    this.dim = low.length;
    this.logVolume = low.reduce((s, lo, d) => s + Math.log(high[d]! - lo), 0);
  }

  init(key: Key): UniformBoxParams {
    key.dispose();
    return {};
  }

  logProb(_p: UniformBoxParams, x: Array, context?: Array): Array {
    dropContext(context);
    const dtype = floatDTypeOf(x) ?? "float32";
    const n = x.shape[0]!;
    // Count the coordinates inside [low_d, high_d] in floats (summing bools returns a bool).
    const inLow = x.ref.greaterEqual(fromValues(this.low, [this.dim], dtype));
    const inHigh = x.lessEqual(fromValues(this.high, [this.dim], dtype));
    const count = np.logicalAnd(inLow, inHigh).astype(np.float32).sum(1);
    const inside = count.greaterEqual(this.dim - 0.5);
    return np.where(
      inside,
      np.full([n], -this.logVolume, { dtype: x.dtype }),
      np.full([n], -Infinity, { dtype: x.dtype }),
    );
  }

  sample(_p: UniformBoxParams, key: Key, n: number, context?: Array, opts?: SampleOptions): Array {
    const dtype: FloatDType = opts?.dtype ?? (context ? (floatDTypeOf(context) ?? "float32") : "float32");
    dropContext(context);
    sampleTemperature(opts, this.kind, false);
    // u ∈ [0, 1) drawn in float32 (then widened), so low + u·(high − low) stays inside the box.
    const u = uniform(key, [n, this.dim], dtype);
    const width = this.high.map((hi, d) => hi - this.low[d]!);
    return u.mul(fromValues(width, [this.dim], dtype)).add(fromValues(this.low, [this.dim], dtype));
  }

  sampleAndLogProb(p: UniformBoxParams, key: Key, n: number, context?: Array, opts?: SampleOptions): SampleAndLogProb {
    const x = this.sample(p, key, n, context, opts);
    return { x: x.ref, logProb: this.logProb(p, x) };
  }
}
