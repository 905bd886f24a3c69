/**
 * Convolutional residual conditioner for image couplings (RealNVP, CONFIGS-IMAGES.md C5 §2.2):
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
 * HOW it is computed, and why (jax-js 0.1.25 on wasm, N = 64, 2 shared cores; scratch/ timings,
 * best of 3–5): `lax.conv` runs at ~0.2 GFLOP/s there (its kernel evaluates the padding mask per
 * multiply-add and never vectorises), a plain jitted matmul at 15–23. So every convolution here is
 * a sum of matmuls over SHIFTED VIEWS of one flat buffer, with no masked loads inside any matmul:
 *
 *  - Activations live channel-minor (NHWC) on a padded grid with SHARED padding: each image is
 *    (H+1)×(W+1), the extra row and column being zeros, so that the zero column after row r is
 *    also the left neighbour of row r+1 and the zero row after image n the top neighbour of image
 *    n+1. The grid is flattened (position p, channel c at p·C + c), with m = W+2 zero positions
 *    before and after. Tap (di, dj) of the 3×3 kernel is then the flat offset
 *    o = (di−1)(W+1) + (dj−1), and its input is ONE contiguous slice of the buffer, reshaped to
 *    [P, C]: conv = Σ_k slice_k · W_k, nine [P, C]×[C, C_out] matmuls (P = grid positions).
 *    Outputs at padding positions are garbage and are zeroed by a 0/1 mask in the matmul's
 *    epilogue; the next layer's buffer is pad(relu(h)) along the flat axis (one cheap kernel).
 *    Shared padding computes 53,824 positions for 50,176 pixels at 28×28 (7% waste; a separate
 *    1-pixel border: 15%; at 14×14: 15% vs 31%).
 *  - conv_out is computed transposed ([C_out, P] = Σ_k W_kᵀ · slice_kᵀ), which vectorises over
 *    positions when C_out (2 or 4 in C5) is too narrow for the column-vectorised kernels (an
 *    [P, 2]-output matmul runs scalar: 56 ms instead of 6 for 32→2), and gives the NCHW output
 *    by a leading-axis transpose.
 *  - conv_in with c_in ≤ 4 is one im2col matmul: the nine taps concatenated (small: 9·c_in
 *    columns, padded with zero columns to a multiple of 4, because jax-js vectorises a matmul
 *    over its output columns only when their count is a multiple of 4 — the input gradient
 *    [P, 9] ran scalar, 40 ms instead of ~5).
 *  - The backward pass is jax-js's own autodiff of the above: each slice's transpose is a pad,
 *    so the input gradient of a conv is one elementwise kernel summing nine shifted
 *    (masked, scalar) loads, ~13–17 ms per 32-channel layer at C5 size; the rest is matmuls.
 *
 * Measured (ms, GFLOP/s counting 2·N·H·W·9·c_in·c_out per conv; fwd+bwd = jit(valueAndGrad) of a
 * weighted-sum loss w.r.t. the input and all parameters, counted as 3× the forward flops):
 *   one conv 32→32 at 28×28, N = 64              fwd        fwd+bwd
 *     lax.conv (NCHW, SAME)                      ~3,800 (0.2)      —
 *     im2col: pad + 9 slices + concat + matmul   331 (2.8)          —
 *     channel-major [C, P] taps, full padding    80 (11.6)     324 (8.6)   (transposed input grads)
 *     NHWC taps → [C_out, P] outputs             78 (11.8)     203 (13.7)
 *     NHWC taps → [P, C_out] outputs             61 (15.1)     203 (13.6)
 *       same, shared padding (kept)              55 (18.1)     194–201 (14.8–15.3)
 *     3-phase windows (K = 3C, no copies)        faster forward (K = 96 matmuls at 21 GFLOP/s)
 *                                                but slower input grads; net loss
 *   full ResNet, width 32, 2 blocks: see the report numbers in the file's tests' neighbours
 *   (RESNET_TIMINGS below).
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
  /** Feature maps Wd of the hidden convolutions (CONFIGS-IMAGES.md's "width W"; not the image width). Default 32. */
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

/** Tap k's input: the [P, C] slice of the buffer at offset o_k (does not consume z). */
function tap(z: Array, g: Grid, k: number, C: number): Array {
  const start = (g.m + g.offsets[k]!) * C;
  return z.ref.slice([start, start + g.P * C]).reshape([g.P, C]);
}

/**
 * Σ_k tap_k · W_k + b → [P, c_out] (consumes z, w, b). The nine products are summed FLAT: with
 * [P, c_out]-shaped adds jax-js fuses the whole sum into the first matmul's epilogue, whose eight
 * extra loads run unvectorised (~3 ms each at C5 size); flattened, the matmuls stay bare and one
 * vectorised elementwise kernel adds them (measured 60 → 50 ms forward for 32→32).
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
  if (kp > k) cols.push(np.zeros([g.P, kp - k], { dtype: w.dtype }));
  const wp = kp > k ? np.pad(w, [[0, kp - k], [0, 0]]) : w;
  return np.matmul(np.concatenate(cols, 1), wp).add(b.reshape([1, co]));
}
