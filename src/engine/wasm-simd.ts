/**
 * Relaxed SIMD (fused multiply-add) for jax-js's wasm kernels on Node.js 20.
 *
 * jax-js 0.1.25 emits `f32x4.relaxed_madd` in its float32 matmul and reduction kernels when the
 * runtime validates a relaxed-SIMD probe; it asks once, when it compiles its first kernel.
 * Chromium and Node ≥ 22 have relaxed SIMD on; Node 20 (V8 11.3) only behind
 * `--experimental-wasm-relaxed-simd`, a flag that NODE_OPTIONS refuses. V8 reads wasm feature
 * flags when it validates or compiles a module, so setting the flag with `v8.setFlagsFromString`
 * before the first kernel is compiled is enough: no re-exec, no command-line flag.
 *
 * This module runs when `engine/jax.ts` loads (before any kernel exists), so the library, the
 * `nflow` binary, the benchmarks and the tests all compute with the same kernels, and Node 20
 * computes what Node 22 and Chromium compute (the multiply-add rounds once: results differ
 * from plain-SIMD ones in the last bits, so a run is reproducible within one setting, not across).
 * Measured gain: docs/performance.md. `NFLOW_RELAXED_SIMD=0` keeps plain SIMD (mul, then add).
 */

/** A module whose one function is `f32x4.relaxed_madd` (jax-js's own probe, "relaxed-madd"). */
const PROBE = "0061736d0100000001080160037b7b7b017b030201000a0d010b00200020012002fd85020b";

type NodeProcess = {
  versions?: { node?: string };
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (id: string) => unknown;
  stderr?: { write(s: string): void };
};

function probeBytes(): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(PROBE.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(PROBE.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** Whether this runtime validates relaxed-SIMD wasm now. */
export function relaxedSimdAvailable(): boolean {
  try {
    return typeof WebAssembly !== "undefined" && WebAssembly.validate(probeBytes());
  } catch {
    return false;
  }
}

/** How relaxed SIMD came to be on or off in this process. */
export type RelaxedSimdState = "native" | "enabled" | "off-by-env" | "unavailable";

let state: RelaxedSimdState | undefined;

/**
 * Turns relaxed SIMD on where the runtime has it behind a flag (Node 20), unless `NFLOW_RELAXED_SIMD`
 * is `0`/`off`/`false`/`no`. Idempotent; called by `engine/jax.ts` as the engine loads. Effective
 * only before jax-js compiles its first kernel (it probes once).
 */
export function prepareRelaxedSimd(): RelaxedSimdState {
  if (state !== undefined) return state;
  if (relaxedSimdAvailable()) return (state = "native");
  const p = (globalThis as { process?: NodeProcess }).process;
  if (typeof p?.versions?.node !== "string") return (state = "unavailable");
  const v = (p.env?.NFLOW_RELAXED_SIMD ?? "").trim().toLowerCase();
  if (v === "0" || v === "off" || v === "false" || v === "no") return (state = "off-by-env");
  const v8 = p.getBuiltinModule?.("node:v8") as { setFlagsFromString?: (flags: string) => void } | undefined;
  try {
    v8?.setFlagsFromString?.("--experimental-wasm-relaxed-simd");
  } catch {
    // an embedder that forbids flag changes keeps plain SIMD
  }
  return (state = relaxedSimdAvailable() ? "enabled" : "unavailable");
}

/** The state `prepareRelaxedSimd()` left (it runs when the engine loads). */
export function relaxedSimdState(): RelaxedSimdState {
  return state ?? prepareRelaxedSimd();
}

prepareRelaxedSimd();
