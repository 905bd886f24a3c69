/**
 * MADE (Germain et al. 2015): an MLP whose weights are multiplied by constant 0/1 masks so that
 * output i depends only on inputs j with deg_in[j] < deg_in[i] — the autoregressive conditioner of
 * MAF and IAF. Degrees (as nflows, docs/reference/CONFIGS.md §2):
 *   inputs   deg_in[j] = order[j]                        (a permutation of 1..D; default j + 1)
 *   hidden   sequential: deg_h[k] = (k mod max(1, D−1)) + min(1, D−1)   (1..D−1 repeating)
 *            random: deg_h[k] ~ U{min(previous layer's degrees), …, D−1} (seeded host RNG)
 *   outputs  deg_out[i] = deg_in[i]
 * Masks, for weights stored [in, out] (we compute h·W):
 *   input→hidden and hidden→hidden  M[j, k] = 1 if deg_h[k] ≥ deg_prev[j]
 *   hidden→output                   M[k, i] = 1 if deg_out[i] > deg_h[k]   (strict)
 * Context inputs reach every unit of the first hidden layer (unmasked): they are not part of the
 * autoregressive order. Each of the `paramCount` outputs (θ of the elementwise transformer) has
 * its own [H, D] head, so no output has to be sliced apart (slicing's gradient is wrong under jit
 * in jax-js 0.1.25). The heads are zero-initialised, so a MAF/IAF layer starts as the identity.
 *
 * The masks are constants multiplied in at every apply (W ⊙ M): the masked-out weights are real
 * parameters (counted as nflows counts them) but can never break the autoregressive structure,
 * whatever values an optimiser or a test gives them.
 */
import { np, type Array } from "../engine/jax.js";
import { fromValues, typedArrayFor, type FloatDType } from "../engine/dtype.js";
import { ConfigError, ContextError } from "../engine/errors.js";
import { hostRng, splitKey, type Key } from "../engine/random.js";
import { activation, type ActivationName } from "./activation.js";
import { linearUniform, zeros } from "./init.js";

/** How hidden degrees are assigned: nflows' sequential cycle, or seeded random draws. */
export type MADEDegrees = "sequential" | { random: number };

/** The full description of a MADE network (plain data; storable in a config). */
export interface MADESpec {
  /** Number of autoregressive inputs/outputs D. */
  dim: number;
  /** Hidden layer widths (at least one layer). */
  hidden: number[];
  /** Context width K (0: none). */
  contextDim: number;
  /** Number of output heads, each [N, D]. */
  paramCount: number;
  activation: ActivationName;
  /** Input degrees deg_in[j], a permutation of 1..D. */
  order: number[];
  /** Degrees of the units of every hidden layer. */
  hiddenDegrees: number[][];
}

/** Params of a MADE: masked hidden layers, the context weights, and one masked head per output. */
export type MADEParams = {
  /** W[0]: [D, H_1]; W[l]: [H_l, H_{l+1}]. */
  W: Array[];
  b: Array[];
  /** Context → first hidden layer, [K, H_1]; present iff contextDim > 0. */
  Wc?: Array;
  /** Output heads: W[h]: [H_L, D], b[h]: [D]. */
  heads: { W: Array[]; b: Array[] };
};

/** Hidden degrees for input degrees `order` (a permutation of 1..D). */
export function madeDegrees(order: readonly number[], hidden: readonly number[], degrees: MADEDegrees = "sequential"): number[][] {
  const D = order.length;
  if (degrees === "sequential") {
    const period = Math.max(1, D - 1);
    const offset = Math.min(1, D - 1);
    return hidden.map((H) => globalThis.Array.from({ length: H }, (_, k) => (k % period) + offset));
  }
  if (typeof degrees !== "object" || degrees === null || !Number.isInteger(degrees.random))
    throw new ConfigError(`made: degrees must be "sequential" or { random: <integer seed> }, got ${JSON.stringify(degrees)}`);
  const rng = hostRng(degrees.random);
  const out: number[][] = [];
  let prev: readonly number[] = order;
  for (const H of hidden) {
    // With D = 1 no output may see any input: every hidden degree is 0.
    const lo = D === 1 ? 0 : Math.min(...prev);
    const hi = D - 1;
    const layer = globalThis.Array.from({ length: H }, () => lo + Math.floor(rng() * (hi - lo + 1)));
    out.push(layer);
    prev = layer;
  }
  return out;
}

export interface MADESpecOptions {
  dim: number;
  hidden: readonly number[];
  contextDim?: number;
  paramCount: number;
  activation?: ActivationName;
  /** Input degrees, a permutation of 1..D. Default [1, 2, …, D]. */
  order?: readonly number[];
  /** Hidden degree assignment. Default "sequential". */
  degrees?: MADEDegrees;
}

/** Validates options and computes the degrees of a MADE. */
export function madeSpec(o: MADESpecOptions): MADESpec {
  const { dim: D, contextDim = 0, paramCount, activation: act = "relu" } = o;
  if (!Number.isInteger(D) || D < 1) throw new ConfigError(`made: dim must be a positive integer, got ${D}`);
  if (o.hidden.length === 0) throw new ConfigError("made: needs at least one hidden layer, got hidden = []");
  o.hidden.forEach((h) => {
    if (!Number.isInteger(h) || h < 1) throw new ConfigError(`made: hidden widths must be positive integers, got [${o.hidden.join(", ")}]`);
  });
  if (!Number.isInteger(contextDim) || contextDim < 0)
    throw new ConfigError(`made: contextDim must be a non-negative integer, got ${contextDim}`);
  if (!Number.isInteger(paramCount) || paramCount < 1)
    throw new ConfigError(`made: paramCount must be a positive integer, got ${paramCount}`);
  const order = o.order ? o.order.slice() : globalThis.Array.from({ length: D }, (_, j) => j + 1);
  const sorted = order.slice().sort((a, b) => a - b);
  if (order.length !== D || sorted.some((v, i) => v !== i + 1))
    throw new ConfigError(`made: order must be a permutation of 1..${D}, got [${order.join(", ")}]`);
  return {
    dim: D,
    hidden: o.hidden.slice(),
    contextDim,
    paramCount,
    activation: act,
    order,
    hiddenDegrees: madeDegrees(order, o.hidden, o.degrees ?? "sequential"),
  };
}

/** Host 0/1 masks of a MADE, row-major [in, out]: one per hidden layer, then the output mask [H_L, D]. */
export interface MADEMasks {
  hidden: Float64Array[];
  output: Float64Array;
}

/** The masks of a spec, computed from its degrees. */
export function madeMasks(spec: MADESpec): MADEMasks {
  const hidden: Float64Array[] = [];
  let prev: readonly number[] = spec.order;
  for (const layer of spec.hiddenDegrees) {
    const m = new Float64Array(prev.length * layer.length);
    prev.forEach((dj, j) => layer.forEach((dk, k) => (m[j * layer.length + k] = dk >= dj ? 1 : 0)));
    hidden.push(m);
    prev = layer;
  }
  const D = spec.dim;
  const output = new Float64Array(prev.length * D);
  prev.forEach((dk, k) => spec.order.forEach((di, i) => (output[k * D + i] = di > dk ? 1 : 0)));
  return { hidden, output };
}

/** Fresh MADE params: PyTorch-default hidden (and context) layers, zero heads. Consumes key. */
export function madeInit(spec: MADESpec, key: Key, dtype: FloatDType): MADEParams {
  const sizes = [spec.dim, ...spec.hidden];
  const L = spec.hidden.length;
  const keys = splitKey(key, 2 * L + 1);
  const W: Array[] = [];
  const b: Array[] = [];
  for (let l = 0; l < L; l++) {
    W.push(linearUniform(keys[2 * l]!, [sizes[l]!, sizes[l + 1]!], sizes[l]!, dtype));
    b.push(linearUniform(keys[2 * l + 1]!, [sizes[l + 1]!], sizes[l]!, dtype));
  }
  const H = spec.hidden[L - 1]!;
  const heads = {
    W: globalThis.Array.from({ length: spec.paramCount }, () => zeros([H, spec.dim], dtype)),
    b: globalThis.Array.from({ length: spec.paramCount }, () => zeros([spec.dim], dtype)),
  };
  const kc = keys[2 * L]!;
  if (spec.contextDim === 0) {
    kc.dispose();
    return { W, b, heads };
  }
  const Wc = linearUniform(kc, [spec.contextDim, spec.hidden[0]!], spec.contextDim, dtype);
  return { W, b, Wc, heads };
}

const maskCache = new WeakMap<MADESpec, Partial<Record<FloatDType, { hidden: ArrayLike<number>[]; output: ArrayLike<number> }>>>();

/** Host masks of a spec in a dtype's typed array (cached per spec object). */
function hostMasks(spec: MADESpec, dtype: FloatDType): { hidden: ArrayLike<number>[]; output: ArrayLike<number> } {
  let entry = maskCache.get(spec);
  if (!entry) maskCache.set(spec, (entry = {}));
  let m = entry[dtype];
  if (!m) {
    const masks = madeMasks(spec);
    const Typed = typedArrayFor(dtype);
    m = { hidden: masks.hidden.map((h) => Typed.from(h)), output: Typed.from(masks.output) };
    entry[dtype] = m;
  }
  return m;
}

/** A fresh engine array holding a copy of a cached host mask (the engine may recycle buffers). */
function maskArray(data: ArrayLike<number>, shape: number[], dtype: FloatDType): Array {
  return fromValues((data as Float32Array | Float64Array).slice(), shape, dtype);
}

/**
 * Applies the MADE to x [N, D] (and context [N, K] when contextDim > 0). Returns one [N, D]
 * array per head; head h, column i, depends only on inputs j with deg_in[j] < deg_in[i] (and on
 * the context). Consumes p, x and context.
 */
export function madeApply(spec: MADESpec, p: MADEParams, x: Array, context?: Array): Array[] {
  if (spec.contextDim > 0 && context === undefined)
    throw new ContextError(`made: this network is conditional and needs a context of shape [N, ${spec.contextDim}], none was given`);
  if (spec.contextDim === 0 && context !== undefined)
    throw new ContextError(`made: this network is unconditional, but a context of shape [${context.shape.join(", ")}] was given`);
  const dtype = String(x.dtype) as FloatDType;
  const masks = hostMasks(spec, dtype);
  const act = activation(spec.activation);
  const sizes = [spec.dim, ...spec.hidden];
  let h = x;
  for (let l = 0; l < spec.hidden.length; l++) {
    const Wm = p.W[l]!.mul(maskArray(masks.hidden[l]!, [sizes[l]!, sizes[l + 1]!], dtype));
    h = np.matmul(h, Wm).add(p.b[l]!);
    if (l === 0 && context !== undefined) h = h.add(np.matmul(context, p.Wc!));
    h = act(h);
  }
  const H = sizes[sizes.length - 1]!;
  const out: Array[] = [];
  const nHeads = p.heads.W.length;
  for (let i = 0; i < nHeads; i++) {
    const Wm = p.heads.W[i]!.mul(maskArray(masks.output, [H, spec.dim], dtype));
    out.push(np.matmul(i === nHeads - 1 ? h : h.ref, Wm).add(p.heads.b[i]!));
  }
  return out;
}
