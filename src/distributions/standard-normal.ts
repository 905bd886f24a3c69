/** Standard normal N(0, I_D): log p(z) = −½‖z‖² − (D/2) log 2π. No parameters. */
import { np, type Array } from "../engine/jax.js";
import { floatDTypeOf, scalar, type FloatDType } from "../engine/dtype.js";
import { normal, type Key } from "../engine/random.js";
import { dropContext } from "../bijectors/bijector.js";
import { temperedNoise, type Distribution, type SampleAndLogProb, type SampleOptions } from "./distribution.js";

export type StandardNormalParams = Record<string, never>;

const LOG_2PI = Math.log(2 * Math.PI);

export class StandardNormal implements Distribution<StandardNormalParams> {
  readonly kind = "standard-normal";
  readonly contextDim = 0;
  constructor(readonly dim: number) {}

  init(key: Key): StandardNormalParams {
    key.dispose();
    return {};
  }

  logProb(_p: StandardNormalParams, x: Array, context?: Array): Array {
    dropContext(context);
    const c = scalar(0.5 * this.dim * LOG_2PI, x);
    return np.square(x).sum(1).mul(-0.5).sub(c);
  }

  sample(_p: StandardNormalParams, key: Key, n: number, context?: Array, opts?: SampleOptions): Array {
    const dtype: FloatDType = opts?.dtype ?? (context ? (floatDTypeOf(context) ?? "float32") : "float32");
    dropContext(context);
    return temperedNoise(normal(key, [n, this.dim], dtype), opts, this.kind);
  }

  sampleAndLogProb(p: StandardNormalParams, key: Key, n: number, context?: Array, opts?: SampleOptions): SampleAndLogProb {
    const x = this.sample(p, key, n, context, opts);
    return { x: x.ref, logProb: this.logProb(p, x) };
  }
}

