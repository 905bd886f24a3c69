/**
 * Multi-layer perceptron conditioner: h_0 = [input, context], h_{i+1} = act(h_i W_i + b_i),
 * out = h_L W_L + b_L (no output activation). `zeroLast` zeroes the output layer so a coupling
 * built on it starts as the identity map (RealNVP/Glow practice).
 */
import { np, type Array } from "../engine/jax.js";
import type { FloatDType } from "../engine/dtype.js";
import { splitKey, type Key } from "../engine/random.js";
import { activation, type ActivationName } from "./activation.js";
import { linearUniform, zeros } from "./init.js";

/** Params of an MLP: weights [in, out] and biases [out], one entry per layer. */
export type MLPParams = { W: Array[]; b: Array[] };

export interface MLPSpec {
  inputDim: number;
  hidden: readonly number[];
  outputDim: number;
  activation: ActivationName;
  /** Zero the output layer at init (identity-at-init flows). */
  zeroLast?: boolean;
}

export function mlpInit(spec: MLPSpec, key: Key, dtype: FloatDType): MLPParams {
  const sizes = [spec.inputDim, ...spec.hidden, spec.outputDim];
  const nLayers = sizes.length - 1;
  const keys = splitKey(key, 2 * nLayers);
  const W: Array[] = [];
  const b: Array[] = [];
  for (let i = 0; i < nLayers; i++) {
    const fanIn = sizes[i]!;
    const last = i === nLayers - 1;
    if (last && spec.zeroLast) {
      keys[2 * i]!.dispose();
      keys[2 * i + 1]!.dispose();
      W.push(zeros([sizes[i]!, sizes[i + 1]!], dtype));
      b.push(zeros([sizes[i + 1]!], dtype));
    } else {
      W.push(linearUniform(keys[2 * i]!, [sizes[i]!, sizes[i + 1]!], fanIn, dtype));
      b.push(linearUniform(keys[2 * i + 1]!, [sizes[i + 1]!], fanIn, dtype));
    }
  }
  return { W, b };
}

/** Applies the MLP to x [N, inputDim] (consumes p and x). */
export function mlpApply(spec: MLPSpec, p: MLPParams, x: Array): Array {
  const act = activation(spec.activation);
  let h = x;
  const n = p.W.length;
  for (let i = 0; i < n; i++) {
    h = np.matmul(h, p.W[i]!).add(p.b[i]!);
    if (i < n - 1) h = act(h);
  }
  return h;
}

/**
 * Stacks the params of `list.length` MLPs of the same spec on a new leading layer axis:
 * W[i] becomes [L, in_i, out_i] and b[i] becomes [L, out_i] (consumes the list). One leaf per
 * parameter kind instead of one per layer: jax-js spends most of a small training step on
 * per-kernel and per-leaf overhead (docs/reference/ENGINE-NOTES.md "Speed").
 */
export function mlpStack(list: readonly MLPParams[]): MLPParams {
  const n = list[0]!.W.length;
  const W: Array[] = [];
  const b: Array[] = [];
  for (let i = 0; i < n; i++) {
    W.push(np.stack(list.map((p) => p.W[i]!)));
    b.push(np.stack(list.map((p) => p.b[i]!)));
  }
  return { W, b };
}

/**
 * The params of layer `l` of stacked MLP params (consumes p). Slices the leading axis: fine for
 * reading values, and on a differentiable path only where each slice's cotangent is a
 * materialised dot or sum (see CouplingStack), never a broadcast constant (docs/reference/ENGINE-NOTES.md).
 */
export function mlpLayer(p: MLPParams, l: number): MLPParams {
  const out = { W: p.W.map((w) => w.ref.slice(l)), b: p.b.map((b) => b.ref.slice(l)) };
  for (const a of [...p.W, ...p.b]) a.dispose();
  return out;
}
