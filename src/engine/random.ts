/**
 * PRNG keys. Keys are created OUTSIDE jitted functions and passed in as arguments: a key built by
 * `random.key(n)` inside jit gives wrong values in jax-js 0.1.25 (docs/reference/ENGINE-NOTES.md).
 */
import { np, random, type Array } from "./jax.js";
import type { FloatDType } from "./dtype.js";
import { jaxDType } from "./dtype.js";

/** A jax-js PRNG key (uint32[2]). Consumed by every function that takes one. */
export type Key = Array;

/**
 * A fresh key from an integer seed: the uint32 pair [0, seed], the same bits as `random.key(seed)`.
 *
 * Built from a data buffer, not with `random.key`: jax-js 0.1.25 turns a scalar seed into a
 * constant expression (`AluExp.const`), so `random.key(i)` compiles a kernel with i baked in, and
 * the backend's `compiledProgramCache` (keyed by the kernel's hash, never evicted) keeps one
 * WebAssembly module per distinct seed: about 20 KB for every new seed, i.e. a leak for a caller
 * that draws with a new seed each time (`FlowModel.sample`'s default). A typed array of two
 * different values is uploaded as a buffer, and every kernel that reads it is the same for all
 * seeds. (Seed 0 gives [0, 0], which jax-js inlines as one constant: one kernel, not one per seed.)
 */
export function keyFromSeed(seed: number): Key {
  return np.array(new Uint32Array([0, seed >>> 0])); // dtype uint32, from the typed array
}

/** Splits a key into `n` independent keys (consumes `key`). */
export function splitKey(key: Key, n = 2): Key[] {
  const keys = random.split(key, n);
  const out: Key[] = [];
  for (let i = 0; i < n; i++) out.push(keys.ref.slice(i));
  keys.dispose();
  return out;
}

/** Standard normal draws of the given float dtype (jax-js samples in float32, then widens). */
export function normal(key: Key, shape: number[], dtype: FloatDType): Array {
  if (dtype === "float32") return random.normal(key, shape);
  // float64: Box–Muller in float64 from 53-bit uniforms (jax-js's normal is float32 draws):
  // z = √(−2·log(1 − u₁))·cos(2π·u₂)
  const [k1, k2] = random.split(key, 2);
  const c = (v: number): Array => np.full([], v, { dtype: np.float64 });
  const radius = np.sqrt(np.log1p(uniform53(k1!, shape).neg()).mul(c(-2)));
  return radius.mul(np.cos(uniform53(k2!, shape).mul(c(2 * Math.PI))));
}

/** float64 uniform on [0, 1) with 53 random bits: (b₁·2²¹ + ⌊b₂/2¹¹⌋)·2⁻⁵³ (all exact). */
function uniform53(key: Key, shape: number[]): Array {
  const [k1, k2] = random.split(key, 2);
  const c = (v: number): Array => np.full([], v, { dtype: np.float64 });
  const hi = random.bits(k1!, shape).astype(np.float64);
  const lo = np.floor(random.bits(k2!, shape).astype(np.float64).mul(c(2 ** -11)));
  return hi.mul(c(2 ** 21)).add(lo).mul(c(2 ** -53));
}

/** Uniform draws on [low, high) of the given float dtype. */
export function uniform(key: Key, shape: number[], dtype: FloatDType, low = 0, high = 1): Array {
  if (dtype === "float32") return random.uniform(key, shape, { minval: low, maxval: high });
  const u = uniform53(key, shape);
  return low === 0 && high === 1 ? u : u.mul(np.full([], high - low, { dtype: np.float64 })).add(np.full([], low, { dtype: np.float64 }));
}

/**
 * A small deterministic JS generator (mulberry32) for host-side choices that must not touch the
 * engine: random permutations and MADE degrees fixed at construction, data shuffles.
 */
export function hostRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded Fisher–Yates permutation of 0..n-1 computed on the host. */
export function hostPermutation(n: number, seed: number): number[] {
  const rng = hostRng(seed);
  const p = globalThis.Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

