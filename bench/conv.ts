/**
 * The engine's 3×3 convolution on this machine, as the C5/C6 conditioner computes it
 * (docs/reference/CONFIGS-IMAGES.md §2.2: 3×3, stride 1, zero padding 1, with bias, 32 → 32 maps,
 * batch 64; 28×28 at scale 1, 14×14 at scale 2): one hidden convolution of src/nn/resnet.ts,
 * `resnetHiddenConv` (relu, pad along the flat channel-last grid, nine [P, 32]×[32, 32] matmuls over
 * shifted views of that one buffer, bias, mask), jitted. Two passes per shape:
 *
 *   fwd       y = conv(h; W, b)
 *   fwd+bwd   jit(grad) of Σ y ⊙ c (a fixed random cotangent c) w.r.t. h, W and b: the forward
 *             and the input and weight gradients, as a training step needs them.
 *
 * FLOPs (bench/peer.ts convFlops): forward 2·N·H·W·c_in·c_out·9 (image pixels, not the ~7% of extra
 * grid positions ours computes, nor the bias); fwd+bwd 3× that (each gradient is one more
 * convolution's worth of multiply-adds). GFLOP/s = FLOPs / median call time over `reps` timed calls
 * after two warm-up calls (the first compiles). One JSON line per (implementation, shape, pass),
 * config "CONV", the counterpart of bench/peer_conv.py's.
 *
 * --lax SHAPES adds jax-js's own `lax.conv` (NCHW, "SAME", with the bias added), forward only, as a
 * reference row (impl "lax.conv"); it runs scalar (~0.3 GFLOP/s: src/nn/resnet.ts), so 1 warm-up and
 * --lax-reps calls (default 3), and by default only at 14×14 (~1 s a call; 28×28 is ~3 s).
 *
 *   node --import tsx bench/conv.ts [--shapes 28,14] [--reps 10] [--lax 14|28,14|none] [--lax-reps 3] [--threads]
 */
import "./threads-flag.js";
import { blockUntilReady, grad, jit, lax, np, type Array } from "../src/engine/jax.js";
import { fromValues } from "../src/engine/dtype.js";
import { hostRng } from "../src/engine/random.js";
import { resnetGridPositions, resnetHiddenConv } from "../src/nn/resnet.js";
import { convFlops } from "./peer.js";
import { env, round, throughput, type Jitted } from "./common.js";

const argv = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : def;
};
const list = (s: string): number[] => (s === "none" ? [] : s.split(",").map((v) => Number(v.trim())));
const SHAPES = list(opt("shapes", "28,14"));
const REPS = Number(opt("reps", "10"));
const LAX = list(opt("lax", "14"));
const LAX_REPS = Number(opt("lax-reps", "3"));
const N = 64;
const C = 32;
for (const s of [...SHAPES, ...LAX]) if (!Number.isInteger(s) || s < 1) throw new Error(`bench/conv.ts: bad image size ${s} (--shapes / --lax: e.g. 28,14)`);

const rng = hostRng(0);
const uniform = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => (2 * rng() - 1) * scale);

type Timing = { med: number; min: number; contention: number | null; first_ms: number };

/** Median and min (ms) of `reps` timed calls after `warmup` untimed ones (bench/common.ts throughput). */
async function time(call: () => Promise<void>, warmup: number, reps: number): Promise<Timing> {
  let first = NaN;
  const t = await throughput(1, reps, call, async () => {
    for (let r = 0; r < warmup; r++) {
      const t0 = performance.now();
      await call();
      if (r === 0) first = performance.now() - t0;
    }
  });
  return { med: t.median_s * 1000, min: t.min_s * 1000, contention: t.contention, first_ms: first };
}

function emit(impl: string, name: string, H: number, pass: "fwd" | "fwd+bwd", reps: number, t: Timing): void {
  const flops = convFlops(N, H, H, C, C, pass);
  process.stdout.write(
    JSON.stringify({
      config: "CONV",
      impl,
      name,
      shape: `${H}x${H}`,
      pass,
      batch: N,
      c_in: C,
      c_out: C,
      reps,
      flops,
      ms_median: round(t.med, 3),
      ms_min: round(t.min, 3),
      first_call_ms: round(t.first_ms, 1),
      gflops_per_s: round(flops / (t.med * 1e6), 2),
      contention: t.contention,
      env: env(),
      timestamp: new Date().toISOString(),
    }) + "\n",
  );
}

for (const H of SHAPES) {
  const P = resnetGridPositions(N, H, H);
  // activations on the padded grid: zero at the padding positions, as resnetApply keeps them
  const Wg = H + 1;
  const hv = uniform(P * C, 1);
  for (let p = 0; p < P; p++) {
    const r = Math.floor(p / Wg) % (H + 1);
    const c = p % Wg;
    if (p >= N * (H + 1) * Wg || r === H || c === H) hv.fill(0, p * C, (p + 1) * C);
  }
  const bound = 1 / Math.sqrt(9 * C); // PyTorch's default init scale
  const h = fromValues(hv, [P, C], "float32");
  const w = fromValues(uniform(9 * C * C, bound), [9 * C, C], "float32");
  const b = fromValues(uniform(C, bound), [C], "float32");
  const cot = fromValues(uniform(P * C, 1), [P, C], "float32");
  const fwd = jit((h: Array, w: Array, b: Array) => resnetHiddenConv(h, w, b, N, H, H)) as unknown as Jitted<(h: Array, w: Array, b: Array) => Array>;
  const loss = (h: Array, w: Array, b: Array, c: Array): Array => resnetHiddenConv(h, w, b, N, H, H).mul(c).sum();
  const fb = jit(grad(loss, { argnums: [0, 1, 2] })) as unknown as Jitted<(h: Array, w: Array, b: Array, c: Array) => Array[]>;
  const name = `resnetHiddenConv ${N}×${C}×${H}×${H}, 3×3 ${C}→${C}, jitted (nine tap matmuls, src/nn/resnet.ts)`;
  const tf = await time(async () => (await blockUntilReady(fwd(h.ref, w.ref, b.ref))).dispose(), 2, REPS);
  emit("taps", name, H, "fwd", REPS, tf);
  const tb = await time(async () => {
    for (const g of await blockUntilReady(fb(h.ref, w.ref, b.ref, cot.ref))) g.dispose();
  }, 2, REPS);
  emit("taps", `${name}, grad w.r.t. h, W, b`, H, "fwd+bwd", REPS, tb);
  fwd.dispose();
  fb.dispose();
  for (const a of [h, w, b, cot]) a.dispose();
}

for (const H of LAX) {
  const bound = 1 / Math.sqrt(9 * C);
  const x = fromValues(uniform(N * C * H * H, 1), [N, C, H, H], "float32");
  const w = fromValues(uniform(C * C * 9, bound), [C, C, 3, 3], "float32");
  const b = fromValues(uniform(C, bound), [C], "float32");
  const f = jit((x: Array, w: Array, b: Array) => lax.conv(x, w, [1, 1], "SAME").add(b.reshape([1, C, 1, 1]))) as unknown as Jitted<(x: Array, w: Array, b: Array) => Array>;
  const t = await time(async () => (await blockUntilReady(f(x.ref, w.ref, b.ref))).dispose(), 1, LAX_REPS);
  emit("lax.conv", `jax-js lax.conv ${N}×${C}×${H}×${H} NCHW "SAME" + bias, jitted`, H, "fwd", LAX_REPS, t);
  f.dispose();
  for (const a of [x, w, b]) a.dispose();
}
