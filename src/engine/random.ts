/**
 * PRNG keys. Keys are created OUTSIDE jitted functions and passed in as arguments: a key built by
 * `random.key(n)` inside jit gives wrong values in jax-js 0.1.25 (ENGINE-NOTES.md).
 */
import { random, type Array } from "./jax.js";
import type { FloatDType } from "./dtype.js";
import { jaxDType } from "./dtype.js";

/** A jax-js PRNG key (uint32[2]). Consumed by every function that takes one. */
export type Key = Array;

/** A fresh key from an integer seed. */
export function keyFromSeed(seed: number): Key {
  return random.key(seed >>> 0);
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
  const z = random.normal(key, shape);
  return dtype === "float32" ? z : z.astype(jaxDType(dtype));
}

/** Uniform draws on [low, high) of the given float dtype. */
export function uniform(key: Key, shape: number[], dtype: FloatDType, low = 0, high = 1): Array {
  const u = random.uniform(key, shape, { minval: low, maxval: high });
  return dtype === "float32" ? u : u.astype(jaxDType(dtype));
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

