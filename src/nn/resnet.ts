/**
 * Convolutional residual conditioner for image couplings (RealNVP, docs/reference/CONFIGS-IMAGES.md C5 §2.2):
 * ResNet(c_in → c_out) of width Wd (feature maps) and B pre-activation residual blocks, every
 * convolution 3×3, stride 1, zero padding 1, with bias:
 *
 *   h = conv_in(x);   h = h + conv_b(relu(conv_a(relu(h))))  (B times);   out = conv_out(relu(h)).
 *
 * Init: PyTorch's default for conv_in, conv_a, conv_b (weight and bias ~ U(±1/√fan_in),
 * fan_in = c_in·9); conv_out weight and bias are zero, so the network outputs 0 at init.
 *
 * Params (`ResNetParams = { W, b }`, init/apply style of mlp.ts), one entry per convolution in
 * the order conv_in, (conv_a, conv_b) for each block, conv_out:
 *   W[l]: [9·c_in, c_out], row (3·di + dj)·c_in + ci, column co  ↔  PyTorch weight[co, ci, di, dj]
 *         (di, dj = kernel row, column; the tap reads input pixel (i + di − 1, j + dj − 1));
 *   b[l]: [c_out].
 * `convWeightToTorch` / `convWeightFromTorch` convert one W to and from PyTorch's [c_out, c_in, 3, 3].
 *
 * HOW it is computed, and why (jax-js 0.1.25, wasm, float32, N = 64, single thread on a shared
 * 2-core machine; scratch timings, best of 2 rounds × 5 runs, ±10% run to run). jax-js turns
 * every contraction into one reduction kernel and vectorises it only when no masked (padding)
 * load sits inside it and the vectorised axis is a multiple of 4; `lax.conv` evaluates its
 * padding mask per multiply-add and runs scalar (0.3 GFLOP/s), a bare matmul at 15–23. So every
 * convolution here is a sum of matmuls over SHIFTED, UNMASKED VIEWS of one flat buffer:
 *
 *  - Activations live channel-minor (NHWC) on a padded grid with SHARED padding: each image is
 *    (H+1)×(W+1), the extra row and column zero, so the zero column after row r is also the left
 *    neighbour of row r+1 and the zero row after image n the top neighbour of image n+1. The grid
 *    is flattened (position p, channel c at p·C + c) with m = W+2 zero positions before and after.
 *    Tap (di, dj) is the flat offset o = (di−1)(W+1) + (dj−1), so its input is ONE contiguous
 *    slice of the buffer, reshaped to [P, C]: conv = Σ_k slice_k · W_k, nine [P, C]×[C, C_out]
 *    matmuls. Outputs at padding positions are garbage and are zeroed by a 0/1 mask; the next
 *    layer's buffer is pad(relu(h)) along the flat axis (one elementwise kernel). Shared padding
 *    computes 53,824 positions for 50,176 pixels at 28×28 (7% waste; a separate 1-pixel border:
 *    15%; at 14×14 15% vs 31%).
 *  - The nine products are summed flat (see convTaps): summed as [P, C] arrays jax-js fuses the
 *    whole sum into the first matmul's epilogue, whose eight extra loads run unvectorised.
 *  - conv_out is computed transposed, [C_out, P] = Σ_k W_kᵀ · slice_kᵀ, which vectorises over
 *    the reduction (once Wᵀ is materialised) when C_out (2 or 4 in C5) is too narrow for the
 *    column-vectorised kernels: a [P, 2]-output matmul runs scalar, 56 ms instead of 6 for 32→2.
 *    Its leading-axis transpose is the NCHW output.
 *  - conv_in with c_in ≤ 4 is one im2col matmul over the nine taps concatenated, padded with zero
 *    columns to a multiple of 4 (the input-gradient matmul with 9 output columns ran scalar).
 *  - The backward pass is jax-js's own autodiff of the above: a slice's transpose is a pad, so a
 *    conv's input gradient is one elementwise kernel summing nine shifted, masked (scalar) loads,
 *    15–20 ms per 32-channel layer at C5 size; the rest is matmuls.
 *
 * One convolution at 28×28, ms (GFLOP/s, counting 2·N·H·W·9·c_in·c_out; fwd+bwd =
 * jit(valueAndGrad) of a weighted sum w.r.t. input, W and b, counted as 3× the forward):
 *                                                         32→32                 1→32
 *                                                     fwd      fwd+bwd      fwd     fwd+bwd
 *   lax.conv, NCHW, "SAME"                        3249 (0.3)       —     79 (0.4)  293 (0.3)
 *   im2col: np.pad + 9 slices + concat + matmul    284 (3.3)  492 (5.6)  10 (2.9)   83 (1.0)
 *   channel-major [C, P] buffer, 9 taps             70 (13)   290 (9.6)
 *   NHWC taps → [C_out, P] outputs                  73 (13)   205 (14)
 *   NHWC taps → [P, C_out], 1-pixel border, adds    61 (15)   189 (15)
 *     same, shared padding                          53 (17)   182 (15)
 *     same, shared padding, flat sums (KEPT)        45 (20)   186 (15)    9 (3.1)   25 (3.4)
 *   3-phase windows (K = 3C matmuls, no copies)     52 (18)   269 (10)
 *   im2col on the grid, 9 columns                                        7 (4.2)   84 (1.0)
 *   im2col on the grid, 12 columns (KEPT for conv_in)                     9 (3.3)   19 (4.6)
 *
 * Whole ResNet, width 32, 2 blocks (this file): ResNet(1→2) at 28×28 fwd 225 ms (17 GFLOP/s),
 * fwd+bwd 880 ms (13); ResNet(2→4) at 14×14 fwd 61 ms (16), fwd+bwd 220–230 ms (13). The
 * fwd+bwd kernel time splits into [P, 32]-output matmuls (forward and input gradient) ~50%,
 * weight-gradient matmuls ~25%, the masked input-gradient shift-sums ~11%, copies ~8%. First
 * call (compilation) of the fwd+bwd: ~4 s. jax-js's worker threads (NFLOW_THREADS=1) made it
 * slower on 2 cores (1,140 ms).
 */
import { np, type Array } from "../engine/jax.js";
import type { FloatDType } from "../engine/dtype.js";
import { ConfigError, ShapeError } from "../engine/errors.js";
import { splitKey, type Key } from "../engine/random.js";
import { linearUniform, zeros } from "./init.js";

/** Params of a ResNet: one [9·c_in, c_out] weight matrix and one [c_out] bias per convolution. */
export type ResNetParams = { W: Array[]; b: Array[] };

export interface ResNetSpec {
  /** Input channels c_in. */
  inChannels: number;
  /** Output channels c_out. */
  outChannels: number;
  /** Feature maps Wd of the hidden convolutions (docs/reference/CONFIGS-IMAGES.md's "width W"; not the image width). Default 32. */
  width?: number;
  /** Residual blocks B (each two convolutions). Default 2; 0 gives conv_out(relu(conv_in(x))). */
  blocks?: number;
}

/** Channel counts [c_in, c_out] of every convolution, in params order. */
export function resnetLayerChannels(spec: ResNetSpec): [number, number][] {
  const { inChannels, outChannels, width, blocks } = resolve(spec);
  const layers: [number, number][] = [[inChannels, width]];
  for (let i = 0; i < 2 * blocks; i++) layers.push([width, width]);
  layers.push([width, outChannels]);
  return layers;
}

/** Number of parameters: Σ over convolutions of 9·c_in·c_out + c_out. */
export function resnetParamCount(spec: ResNetSpec): number {
  return resnetLayerChannels(spec).reduce((n, [ci, co]) => n + 9 * ci * co + co, 0);
}

export function resnetInit(spec: ResNetSpec, key: Key, dtype: FloatDType): ResNetParams {
  const layers = resnetLayerChannels(spec);
  const keys = splitKey(key, 2 * layers.length);
  const W: Array[] = [];
  const b: Array[] = [];
  layers.forEach(([ci, co], l) => {
    if (l === layers.length - 1) {
      keys[2 * l]!.dispose();
      keys[2 * l + 1]!.dispose();
      W.push(zeros([9 * ci, co], dtype));
      b.push(zeros([co], dtype));
    } else {
      W.push(linearUniform(keys[2 * l]!, [9 * ci, co], 9 * ci, dtype));
      b.push(linearUniform(keys[2 * l + 1]!, [co], 9 * ci, dtype));
    }
  });
  return { W, b };
}

/**
 * Applies the ResNet to x [N, c_in, H, W] (NCHW, float32 or float64) and returns
 * [N, c_out, H, W] (consumes p and x). Works eagerly, under `jit`, `grad` and `valueAndGrad`.
 */
export function resnetApply(spec: ResNetSpec, p: ResNetParams, x: Array): Array {
  const s = resolve(spec);
  const layers = resnetLayerChannels(spec);
  if (p.W.length !== layers.length || p.b.length !== layers.length)
    throw new ShapeError(`resnet: expected ${layers.length} convolutions (1 + 2·${s.blocks} + 1), got params for ${p.W.length}`);
  if (x.ndim !== 4 || x.shape[1] !== s.inChannels)
    throw new ShapeError(`resnet: expected input [N, ${s.inChannels}, H, W], got [${x.shape.join(", ")}]`);
  const dtype = String(x.dtype);
  if (dtype !== "float32" && dtype !== "float64") throw new ShapeError(`resnet: expected a float32 or float64 input, got ${dtype}`);
  const [N, , H, Wi] = x.shape as [number, number, number, number];
  const g = gridGeometry(N, H, Wi, dtype);
  const last = layers.length - 1;

  const { W, b } = p;
  // [P] mask: 1 at the image's pixels, 0 at the grid's padding positions (every conv's output
  // is masked, so that padding stays zero for the next conv)
  const mask = g.maskArray();
  const col = mask.ref.reshape([g.P, 1]);
  let h = convIn(toGrid(x, g), W[0]!, b[0]!, g, s.inChannels, s.width).mul(col.ref);
  for (let i = 0; i < s.blocks; i++) {
    const a = convTaps(prep(h.ref, g), W[1 + 2 * i]!, b[1 + 2 * i]!, g, s.width, s.width).mul(col.ref);
    h = h.add(convTaps(prep(a, g), W[2 + 2 * i]!, b[2 + 2 * i]!, g, s.width, s.width).mul(col.ref));
  }
  col.dispose();
  // [c_out, P]; masking here also keeps the gradient right when the caller's loss is a bare sum
  // (jax-js's jit gradient of the slices below fills a broadcast cotangent everywhere)
  const y = convTapsTransposed(prep(h, g), W[last]!, b[last]!, g, s.width, s.outChannels).mul(mask.reshape([1, g.P]));
  return y
    .slice([], [0, g.P0])
    .reshape([s.outChannels, N, H + 1, Wi + 1])
    .slice([], [], [0, H], [0, Wi])
    .transpose([1, 0, 2, 3]);
}

/** Grid positions P of an N×H×W batch: the rows of `resnetHiddenConv`'s input and output. */
export function resnetGridPositions(N: number, H: number, W: number): number {
  return gridGeometry(N, H, W, "float32").P;
}

/**
 * ONE hidden 3×3 convolution of `resnetApply` (conv_a or conv_b of a block) exactly as it runs
 * there, for benchmarks (bench/conv.ts): h [P, c_in] on the padded grid of an N×H×W batch (P =
 * `resnetGridPositions`; zero at the grid's padding positions) → mask·(Σ_k tap_k(pad(relu(h)))·W_k + b),
 * [P, c_out] (consumes h, w, b). The dtype is h's.
 */
export function resnetHiddenConv(h: Array, w: Array, b: Array, N: number, H: number, W: number): Array {
  const dtype = String(h.dtype);
  if (dtype !== "float32" && dtype !== "float64") throw new ShapeError(`resnet: expected a float32 or float64 input, got ${dtype}`);
  const g = gridGeometry(N, H, W, dtype);
  const [P, ci] = h.shape as [number, number];
  const co = w.shape[1]!;
  if (P !== g.P || w.shape[0] !== 9 * ci || b.shape[0] !== co)
    throw new ShapeError(`resnet: expected h [${g.P}, c_in], W [9·c_in, c_out], b [c_out]; got [${h.shape.join(", ")}], [${w.shape.join(", ")}], [${b.shape.join(", ")}]`);
  return convTaps(prep(h, g), w, b, g, ci, co).mul(g.maskArray().reshape([g.P, 1]));
}

/** One convolution's W ([9·c_in, c_out], this file's layout) as PyTorch's [c_out, c_in, 3, 3] (consumes w). */
export function convWeightToTorch(w: Array, inChannels: number): Array {
  const co = w.shape[1]!;
  return w.reshape([3, 3, inChannels, co]).transpose([3, 2, 0, 1]);
}

/** PyTorch's [c_out, c_in, 3, 3] conv weight as this file's [9·c_in, c_out] (consumes w). */
export function convWeightFromTorch(w: Array): Array {
  const [co, ci] = w.shape as [number, number];
  return w.transpose([2, 3, 1, 0]).reshape([9 * ci, co]);
}

// ---------------------------------------------------------------------------------------------

interface Resolved {
  inChannels: number;
  outChannels: number;
  width: number;
  blocks: number;
}

function resolve(spec: ResNetSpec): Resolved {
  const width = spec.width ?? 32;
  const blocks = spec.blocks ?? 2;
  const positive = (v: number): boolean => Number.isInteger(v) && v >= 1;
  if (!positive(spec.inChannels) || !positive(spec.outChannels) || !positive(width))
    throw new ConfigError(
      `resnet: inChannels, outChannels and width must be positive integers, got ${spec.inChannels}, ${spec.outChannels}, ${width}`,
    );
  if (!Number.isInteger(blocks) || blocks < 0) throw new ConfigError(`resnet: blocks must be a non-negative integer, got ${blocks}`);
  return { inChannels: spec.inChannels, outChannels: spec.outChannels, width, blocks };
}

/** The padded grid of a batch: positions p = (n·(H+1) + r)·(W+1) + c, pixels where r < H and c < W. */
interface Grid {
  /** Grid positions N·(H+1)·(W+1). */
  P0: number;
  /** Positions computed: P0 rounded up to a multiple of 4 (vectorised kernels want it). */
  P: number;
  /** Zero positions before and after the grid in a layer's input buffer (max |tap offset|). */
  m: number;
  /** Flat offsets of the nine taps, index 3·di + dj. */
  offsets: number[];
  /** A fresh [P] mask array of the batch's dtype. */
  maskArray: () => Array;
}

const gridCache = new Map<string, Grid>();

function gridGeometry(N: number, H: number, W: number, dtype: "float32" | "float64"): Grid {
  const key = `${N}:${H}:${W}:${dtype}`;
  const cached = gridCache.get(key);
  if (cached) return cached;
  const Wg = W + 1;
  const P0 = N * (H + 1) * Wg;
  const P = Math.ceil(P0 / 4) * 4;
  const Typed = dtype === "float64" ? Float64Array : Float32Array;
  const values = new Typed(P);
  for (let n = 0; n < N; n++)
    for (let r = 0; r < H; r++) values.fill(1, (n * (H + 1) + r) * Wg, (n * (H + 1) + r) * Wg + W);
  const offsets: number[] = [];
  for (let di = 0; di < 3; di++) for (let dj = 0; dj < 3; dj++) offsets.push((di - 1) * Wg + (dj - 1));
  const jdtype = dtype === "float64" ? np.float64 : np.float32;
  const grid: Grid = { P0, P, m: Wg + 1, offsets, maskArray: () => np.array(values, { shape: [P], dtype: jdtype }) };
  if (gridCache.size > 64) gridCache.clear();
  gridCache.set(key, grid);
  return grid;
}

/** x [N, C, H, W] → the flat input buffer of the first convolution, [(m + P + m)·C] (consumes x). */
function toGrid(x: Array, g: Grid): Array {
  const C = x.shape[1]!;
  const grid = np.pad(x.transpose([0, 2, 3, 1]), [[0, 0], [0, 1], [0, 1], [0, 0]]).reshape([g.P0 * C]);
  return np.pad(grid, [[g.m * C, (g.P - g.P0 + g.m) * C]]);
}

/** h [P, C] (zero at padding positions) → the next convolution's input buffer pad(relu(h)) (consumes h). */
function prep(h: Array, g: Grid): Array {
  const C = h.shape[1]!;
  return np.pad(np.maximum(h, 0).reshape([g.P * C]), [[g.m * C, g.m * C]]);
}

/**
 * Tap k's input: the [P, C] slice of the buffer at offset o_k (does not consume z). The buffer
 * is a pad (a masked view); jax-js materialises it because nine matmuls read it. Were a pad read
 * by a single matmul, jax-js would fuse its mask into the matmul and run it scalar (87 vs 7 ms).
 */
function tap(z: Array, g: Grid, k: number, C: number): Array {
  const start = (g.m + g.offsets[k]!) * C;
  return z.ref.slice([start, start + g.P * C]).reshape([g.P, C]);
}

/**
 * Σ_k tap_k · W_k + b → [P, c_out] (consumes z, w, b). The nine products are summed FLAT: with
 * [P, c_out]-shaped adds jax-js fuses the whole sum into the first matmul's epilogue, whose eight
 * extra loads run unvectorised (~3 ms each at C5 size); flattened, the matmuls stay bare and one
 * vectorised elementwise kernel adds them (forward 53 → 45 ms for 32→32 at C5 size).
 */
function convTaps(z: Array, w: Array, b: Array, g: Grid, ci: number, co: number): Array {
  let acc: Array | undefined;
  for (let k = 0; k < 9; k++) {
    const t = np.matmul(tap(z, g, k, ci), w.ref.slice([k * ci, (k + 1) * ci])).reshape([g.P * co]);
    acc = acc ? acc.add(t) : t;
  }
  z.dispose();
  w.dispose();
  return acc!.reshape([g.P, co]).add(b.reshape([1, co]));
}

/**
 * Σ_k W_kᵀ · tap_kᵀ + b → [c_out, P] (consumes z, w, b). jax-js vectorises this shape over the
 * reduction only when both operands are contiguous along it, so Wᵀ is materialised first (by a
 * negation, undone in the sum: a plain transpose is only a view, and ×1 is simplified away).
 */
function convTapsTransposed(z: Array, w: Array, b: Array, g: Grid, ci: number, co: number): Array {
  const wt = np.negative(w.transpose());
  let acc: Array | undefined;
  for (let k = 0; k < 9; k++) {
    const t = np.matmul(wt.ref.slice([], [k * ci, (k + 1) * ci]), tap(z, g, k, ci).transpose()).reshape([co * g.P]);
    acc = acc ? acc.add(t) : t;
  }
  z.dispose();
  wt.dispose();
  return acc!.reshape([co, g.P]).neg().add(b.reshape([co, 1]));
}

/** conv_in: one im2col matmul for few input channels, else the tap sum (consumes z, w, b). */
function convIn(z: Array, w: Array, b: Array, g: Grid, ci: number, co: number): Array {
  if (ci > 4) return convTaps(z, w, b, g, ci, co);
  const k = 9 * ci;
  const kp = Math.ceil(k / 4) * 4;
  const cols: Array[] = [];
  for (let t = 0; t < 9; t++) cols.push(tap(z, g, t, ci));
  z.dispose();
  if (kp === k) return np.matmul(np.concatenate(cols, 1), w).add(b.reshape([1, co]));
  cols.push(np.zeros([g.P, kp - k], { dtype: w.dtype }));
  // zero rows appended by a concatenation, not np.pad: a pad is a masked VIEW, and fused into the
  // matmul (when W is used once, as in a forward pass) it makes the whole matmul scalar (31 vs 5 ms)
  const wp = np.concatenate([w, np.zeros([kp - k, co], { dtype: w.dtype })], 0);
  return np.matmul(np.concatenate(cols, 1), wp).add(b.reshape([1, co]));
}
