#!/usr/bin/env node
// Patches the installed @jax-js/jax 0.1.25 so that float64 means float64 (docs/float64.md), and
// makes its wasm kernels cheaper to dispatch and faster (docs/performance.md).
// Run by `npm install` (the "postinstall" script); idempotent: a patched file is left alone.
//
// 1. wasm backend (dist/backend-*.{js,cjs}): jax-js computes exp, log, sin and cos of a float64
//    array by demoting to float32, calling its float32 polynomial and promoting back (exp errs by
//    4e-7 relative, log by 1.3e-5). The patch adds float64 versions, emitted as wasm like the
//    float32 ones, and calls them for float64 operands:
//      exp:  x = k·ln2 + r (Cody–Waite, ln2 in two parts), |r| ≤ ln2/2, e^r by its Taylor series
//            to r¹³/13! (remainder < 5e-18), 2^k as two exact powers of two built from bits;
//      log:  x = 2^e·m with m in [√½, √2] (bits; subnormals scaled by 2^54 first), f = m − 1,
//            s = f/(2+f), log m = f − s·(f − R) in fdlibm's form with its minimax R(s²);
//      sin, cos: q = round(x·2/π), z = x − q·π/2 (π/2 in three 33-bit parts, exact products for
//            |q| < 2^20), Taylor series of sin z to z¹⁷ and cos z to z¹⁸ on |z| ≤ π/4, quadrant q mod 4.
//    float32 kernels are unchanged (same functions, same bits).
// 2. jit literals (dist/index.{js,cjs}): under jit a bare JS number (a weakly typed scalar) became
//    a literal through a float32 buffer, so `x.mul(1.1)` on float64 x used 1.100000023841858 (5e-6
//    relative error under jit, exact in eager code). The patch keeps the number's exact value; the
//    literal is still weakly typed, so float32 code rounds it to float32 exactly as before.
// 3. speed (docs/performance.md; all of it switchable at run time, globalThis.__nflowJaxSpeed.on, for
//    interleaved A/B in bench/levers.ts; no result changes, test/engine/speed-patch.test.ts):
//      - the wasm backend keeps each compiled module's kernel instance (jax-js instantiated the
//        module on every dispatch: 0.9 ms of a 5.8 ms C1 step) and each Kernel object's Executable
//        (no BigInt hash of the kernel per dispatch); a jitted Jaxpr keeps its compiled program (no
//        hash of the whole Jaxpr per call). C1 step 7.6 → 5.0 ms CPU.
//      - tiled SIMD matmul with 2-row register tiles instead of 4 (4 × 4 accumulators spilled out of
//        V8's 16 xmm registers): 512³ matmul 23 → 28 GFLOP/s plain SIMD, 28 → 35 with relaxed SIMD.
//      - np.concatenate of n > 8 arrays in two levels (groups of ⌈√n⌉, then the groups) instead of a
//        chain re-reading the growing result: C2 step (flat Adam over 41 leaves) 380 → 337 ms CPU.
//    Measured on the shared 2-core machine of issue 10 (CPU time, least of interleaved rounds).
//    Tried and NOT kept (no gain, docs/performance.md "Second pass"): materialising the transposed
//    right operand of g·Wᵀ before a tiled matmul (C1 step 4.11 vs 4.10 ms, C2 310 vs 308 ms); vector
//    lane sums in the K-vectorised matmul (same bits, C1 3.75 vs 3.69 ms); unrolling the tiled
//    matmul's k loop 2× or 4× (512³ 7.4 → 9.0–9.8 ms: slower).
// 4. pool-inline (dist/backend-*; on top of 3, switchable: __nflowJaxSpeed.poolInline): with threads on
//    (src/engine/threads.ts), a cheap kernel runs at once on the main thread when jax-js's worker pool
//    has nothing in flight, instead of going through the pool's promise queue; same chunks, same bits
//    (test/engine/pool-inline.test.ts). C1 step with threads 8.77 → 6.71 ms (one process, --ab
//    sub:poolInline); against threads off, 1.35× → 1.05× slower (docs/performance.md).
//
// If a target text is missing (another jax-js version), the file is left unchanged and a warning
// is printed: `npm install` never fails because of this script, and test/engine/float64.test.ts
// and test/engine/speed-patch.test.ts fail instead, naming what is not in effect.
import { readFileSync, writeFileSync, readdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

export const MARK = "/* nflow-patch: float64 v1 */";

const F64_FUNCTIONS = String.raw`
//#region nflow-patch: float64 transcendental functions for the wasm backend
${MARK}
var NflowI64 = class {
	cg;
	constructor(cg) {
		this.cg = cg;
	}
	get typeId() {
		return 126;
	}
	get name() {
		return "i64";
	}
	const(i) {
		this.cg._emit(66);
		this.cg._emit(encodeSigned(i));
		this.cg._push(this);
	}
	extend_i32_s = UNARY_OP("extend_i32_s", 172, "i32", "i64");
	shl = BINARY_OP("shl", 134, "i64", "i64", "i64");
	shr_u = BINARY_OP("shr_u", 136, "i64", "i64", "i64");
	or = BINARY_OP("or", 132, "i64", "i64", "i64");
	reinterpret_f64 = UNARY_OP("reinterpret_f64", 189, "f64", "i64");
	/** i32.wrap_i64 */
	wrap_to_i32 = UNARY_OP("wrap_i64", 167, "i64", "i32");
	/** f64.reinterpret_i64 */
	reinterpret_to_f64 = UNARY_OP("reinterpret_i64", 191, "i64", "f64");
};
function nflowI64(cg) {
	if (!cg.i64) cg.i64 = new NflowI64(cg);
	return cg.i64;
}
/** Horner: push sum[i](as[i] * x^i) for an f64 local x. */
function nflowPoly64(cg, x, as) {
	cg.f64.const(as[as.length - 1]);
	for (let i = as.length - 2; i >= 0; i--) {
		cg.local.get(x);
		cg.f64.mul();
		cg.f64.const(as[i]);
		cg.f64.add();
	}
}
/** Push 2^k as f64 for an i32 local k with -1022 <= k <= 1023 (exponent bits (k+1023) << 52). */
function nflowPow2(cg, k) {
	const i64 = nflowI64(cg);
	cg.local.get(k);
	cg.i32.const(1023);
	cg.i32.add();
	i64.extend_i32_s();
	i64.const(52);
	i64.shl();
	i64.reinterpret_to_f64();
}
const NFLOW_INV_FACT = Array.from({ length: 19 }, (_, n) => {
	let f = 1;
	for (let i = 2; i <= n; i++) f *= i;
	return 1 / f;
});
/** e^x in float64 (see scripts/patch-jax-js.mjs). */
function nflow_wasm_exp64(cg) {
	return cg.function([cg.f64], [cg.f64], () => {
		const kf = cg.local.declare(cg.f64);
		const r = cg.local.declare(cg.f64);
		const k = cg.local.declare(cg.i32);
		const k1 = cg.local.declare(cg.i32);
		const k2 = cg.local.declare(cg.i32);
		cg.local.get(0);
		cg.local.get(0);
		cg.f64.ne();
		cg.if(cg.void);
		cg.local.get(0);
		cg.return();
		cg.end();
		cg.local.get(0);
		cg.f64.const(709.782712893384);
		cg.f64.gt();
		cg.if(cg.void);
		cg.f64.const(Infinity);
		cg.return();
		cg.end();
		cg.local.get(0);
		cg.f64.const(-745.1332191019412);
		cg.f64.lt();
		cg.if(cg.void);
		cg.f64.const(0);
		cg.return();
		cg.end();
		cg.local.get(0);
		cg.f64.const(1 / Math.LN2);
		cg.f64.mul();
		cg.f64.nearest();
		cg.local.tee(kf);
		cg.i32.trunc_sat_f64_s();
		cg.local.set(k);
		cg.local.get(0);
		cg.local.get(kf);
		cg.f64.const(6.93147180369123816490e-01);
		cg.f64.mul();
		cg.f64.sub();
		cg.local.get(kf);
		cg.f64.const(1.90821492927058770002e-10);
		cg.f64.mul();
		cg.f64.sub();
		cg.local.set(r);
		nflowPoly64(cg, r, NFLOW_INV_FACT.slice(0, 14));
		cg.local.get(k);
		cg.i32.const(1);
		cg.i32.shr_s();
		cg.local.tee(k1);
		cg.local.get(k);
		cg.local.get(k1);
		cg.i32.sub();
		cg.local.set(k2);
		cg.drop();
		nflowPow2(cg, k1);
		cg.f64.mul();
		nflowPow2(cg, k2);
		cg.f64.mul();
	});
}
/** ln(x) in float64 (fdlibm e_log.c's reduction and polynomial). */
function nflow_wasm_log64(cg) {
	return cg.function([cg.f64], [cg.f64], () => {
		const i64 = nflowI64(cg);
		const xx = cg.local.declare(cg.f64);
		const bits = cg.local.declare(cg.i64);
		const e = cg.local.declare(cg.i32);
		const m = cg.local.declare(cg.f64);
		const f = cg.local.declare(cg.f64);
		const s = cg.local.declare(cg.f64);
		const z = cg.local.declare(cg.f64);
		const R = cg.local.declare(cg.f64);
		const hfsq = cg.local.declare(cg.f64);
		const dk = cg.local.declare(cg.f64);
		cg.local.get(0);
		cg.local.get(0);
		cg.f64.ne();
		cg.if(cg.void);
		cg.local.get(0);
		cg.return();
		cg.end();
		cg.local.get(0);
		cg.f64.const(0);
		cg.f64.lt();
		cg.if(cg.void);
		cg.f64.const(NaN);
		cg.return();
		cg.end();
		cg.local.get(0);
		cg.f64.const(0);
		cg.f64.eq();
		cg.if(cg.void);
		cg.f64.const(-Infinity);
		cg.return();
		cg.end();
		cg.local.get(0);
		cg.f64.const(Infinity);
		cg.f64.eq();
		cg.if(cg.void);
		cg.local.get(0);
		cg.return();
		cg.end();
		cg.local.get(0);
		cg.local.set(xx);
		cg.i32.const(0);
		cg.local.set(e);
		cg.local.get(xx);
		cg.f64.const(2.2250738585072014e-308);
		cg.f64.lt();
		cg.if(cg.void);
		cg.local.get(xx);
		cg.f64.const(18014398509481984);
		cg.f64.mul();
		cg.local.set(xx);
		cg.i32.const(-54);
		cg.local.set(e);
		cg.end();
		cg.local.get(xx);
		i64.reinterpret_f64();
		cg.local.tee(bits);
		i64.const(52);
		i64.shr_u();
		i64.wrap_to_i32();
		cg.i32.const(1023);
		cg.i32.sub();
		cg.local.get(e);
		cg.i32.add();
		cg.local.set(e);
		cg.local.get(bits);
		i64.const(12);
		i64.shl();
		i64.const(12);
		i64.shr_u();
		cg.i32.const(1023);
		i64.extend_i32_s();
		i64.const(52);
		i64.shl();
		i64.or();
		i64.reinterpret_to_f64();
		cg.local.set(m);
		cg.local.get(m);
		cg.f64.const(Math.SQRT2);
		cg.f64.gt();
		cg.if(cg.void);
		cg.local.get(m);
		cg.f64.const(.5);
		cg.f64.mul();
		cg.local.set(m);
		cg.local.get(e);
		cg.i32.const(1);
		cg.i32.add();
		cg.local.set(e);
		cg.end();
		cg.local.get(m);
		cg.f64.const(1);
		cg.f64.sub();
		cg.local.tee(f);
		cg.f64.const(2);
		cg.local.get(f);
		cg.f64.add();
		cg.f64.div();
		cg.local.tee(s);
		cg.local.get(s);
		cg.f64.mul();
		cg.local.set(z);
		nflowPoly64(cg, z, [
			6.666666666666735130e-01,
			3.999999999940941908e-01,
			2.857142874366239149e-01,
			2.222219843214978396e-01,
			1.818357216161805012e-01,
			1.531383769920937332e-01,
			1.479819860511658591e-01
		]);
		cg.local.get(z);
		cg.f64.mul();
		cg.local.set(R);
		cg.f64.const(.5);
		cg.local.get(f);
		cg.f64.mul();
		cg.local.get(f);
		cg.f64.mul();
		cg.local.set(hfsq);
		cg.local.get(e);
		cg.f64.convert_i32_s();
		cg.local.tee(dk);
		cg.f64.const(6.93147180369123816490e-01);
		cg.f64.mul();
		cg.local.get(hfsq);
		cg.local.get(s);
		cg.local.get(hfsq);
		cg.local.get(R);
		cg.f64.add();
		cg.f64.mul();
		cg.local.get(dk);
		cg.f64.const(1.90821492927058770002e-10);
		cg.f64.mul();
		cg.f64.add();
		cg.f64.sub();
		cg.local.get(f);
		cg.f64.sub();
		cg.f64.sub();
	});
}
/** Shared reduction of sin/cos: quadrant q (i32 local) and sin z, cos z (f64 locals). */
function nflowSinCos64(cg) {
	const qf = cg.local.declare(cg.f64);
	const q = cg.local.declare(cg.i32);
	const z = cg.local.declare(cg.f64);
	const z2 = cg.local.declare(cg.f64);
	const sz = cg.local.declare(cg.f64);
	const cz = cg.local.declare(cg.f64);
	cg.local.get(0);
	cg.f64.const(2 / Math.PI);
	cg.f64.mul();
	cg.f64.nearest();
	cg.local.tee(qf);
	cg.i32.trunc_sat_f64_s();
	cg.local.set(q);
	cg.local.get(0);
	cg.local.get(qf);
	cg.f64.const(1.57079632673412561417e+00);
	cg.f64.mul();
	cg.f64.sub();
	cg.local.get(qf);
	cg.f64.const(6.07710050630396597660e-11);
	cg.f64.mul();
	cg.f64.sub();
	cg.local.get(qf);
	cg.f64.const(2.02226624871116645580e-21);
	cg.f64.mul();
	cg.f64.sub();
	cg.local.tee(z);
	cg.local.get(z);
	cg.f64.mul();
	cg.local.set(z2);
	nflowPoly64(cg, z2, [1, -NFLOW_INV_FACT[3], NFLOW_INV_FACT[5], -NFLOW_INV_FACT[7], NFLOW_INV_FACT[9], -NFLOW_INV_FACT[11], NFLOW_INV_FACT[13], -NFLOW_INV_FACT[15], NFLOW_INV_FACT[17]]);
	cg.local.get(z);
	cg.f64.mul();
	cg.local.set(sz);
	nflowPoly64(cg, z2, [1, -NFLOW_INV_FACT[2], NFLOW_INV_FACT[4], -NFLOW_INV_FACT[6], NFLOW_INV_FACT[8], -NFLOW_INV_FACT[10], NFLOW_INV_FACT[12], -NFLOW_INV_FACT[14], NFLOW_INV_FACT[16], -NFLOW_INV_FACT[18]]);
	cg.local.set(cz);
	return { q, sz, cz };
}
/** sin(x) in float64; quadrant q mod 4: +sz, +cz, -sz, -cz. Inf and NaN give NaN. */
function nflow_wasm_sin64(cg) {
	return cg.function([cg.f64], [cg.f64], () => {
		const { q, sz, cz } = nflowSinCos64(cg);
		const mag = cg.local.declare(cg.f64);
		cg.local.get(cz);
		cg.local.get(sz);
		cg.local.get(q);
		cg.i32.const(1);
		cg.i32.and();
		cg.select();
		cg.local.tee(mag);
		cg.f64.neg();
		cg.local.get(mag);
		cg.local.get(q);
		cg.i32.const(2);
		cg.i32.and();
		cg.select();
	});
}
/** cos(x) in float64; quadrant q mod 4: +cz, -sz, -cz, +sz. */
function nflow_wasm_cos64(cg) {
	return cg.function([cg.f64], [cg.f64], () => {
		const { q, sz, cz } = nflowSinCos64(cg);
		const mag = cg.local.declare(cg.f64);
		cg.local.get(sz);
		cg.local.get(cz);
		cg.local.get(q);
		cg.i32.const(1);
		cg.i32.and();
		cg.select();
		cg.local.tee(mag);
		cg.f64.neg();
		cg.local.get(mag);
		cg.local.get(q);
		cg.i32.const(1);
		cg.i32.add();
		cg.i32.const(2);
		cg.i32.and();
		cg.select();
	});
}
/** Emits the float64 functions a kernel needs; funcs.f64 maps a float32 function to its float64 twin. */
function nflowFloat64Funcs(cg, funcs, distinctOps) {
	const has64 = (op) => distinctOps.get(op)?.has("float64") ?? false;
	funcs.f64 = new Map();
	if (has64("Exp") && funcs.exp !== void 0) funcs.f64.set(funcs.exp, nflow_wasm_exp64(cg));
	if (has64("Log") && funcs.log !== void 0) funcs.f64.set(funcs.log, nflow_wasm_log64(cg));
	if (has64("Sin") && funcs.sin !== void 0) funcs.f64.set(funcs.sin, nflow_wasm_sin64(cg));
	if (has64("Cos") && funcs.cos !== void 0) funcs.f64.set(funcs.cos, nflow_wasm_cos64(cg));
}
//#endregion
`;

/** [description, target text, replacement] for the wasm backend chunk. */
const BACKEND_EDITS = [
  ["float64 functions", "//#region src/backend/wasm/builtins.ts\n", F64_FUNCTIONS + "//#region src/backend/wasm/builtins.ts\n"],
  [
    "float64 call in translateExp",
    "const callFuncF32 = (func) => {\n",
    "const callFuncF32 = (func) => {\n\t\t\t\tif (dtype === \"float64\" && funcs.f64?.has(func)) {\n\t\t\t\t\tcg.call(funcs.f64.get(func));\n\t\t\t\t\treturn;\n\t\t\t\t}\n",
  ],
  [
    "float64 functions in codegenWasm",
    "\tif (distinctOps.has(\"Threefry2x32\")) funcs.threefry2x32 = wasm_threefry2x32(cg);\n",
    "\tif (distinctOps.has(\"Threefry2x32\")) funcs.threefry2x32 = wasm_threefry2x32(cg);\n\tnflowFloat64Funcs(cg, funcs, distinctOps);\n",
  ],
];

/** The same for the main chunk (exact jit literals). */
const INDEX_EDITS = [
  [
    "exact weak scalar value",
    "function fullInternal(aval, fillValue, device) {\n\treturn new Array$1({",
    "function fullInternal(aval, fillValue, device) {\n\t" + MARK + "\n\tconst nflowArray = new Array$1({",
  ],
  [
    "exact weak scalar value (end)",
    "\t\tcommitted: device != void 0\n\t});\n}\nfunction zerosLike$1(",
    "\t\tcommitted: device != void 0\n\t});\n\tif (aval.weakType && aval.shape.length === 0 && typeof fillValue === \"number\") nflowArray.nflowExactScalar = fillValue;\n\treturn nflowArray;\n}\nfunction zerosLike$1(",
  ],
  [
    "exact jit literal",
    "literals.set(jaxpr.inBinders[i], new Lit(ar.aval, ar.dataSync()[0]));",
    "const nflowExact = ar.nflowExactScalar;\n\t\tconst nflowValue = ar.dataSync()[0];\n\t\tliterals.set(jaxpr.inBinders[i], new Lit(ar.aval, ar.aval.weakType && typeof nflowExact === \"number\" && Math.fround(nflowExact) === nflowValue ? nflowExact : nflowValue));",
  ],
];

export const SPEED_MARK = "/* nflow-patch: speed v1 */";

/** Runtime switch and counters of the speed patch, shared by every patched chunk (globalThis). */
const SPEED_STATE = String.raw`
//#region nflow-patch: cheaper kernel dispatch on the wasm backend
${SPEED_MARK}
const nflowSpeed = globalThis.__nflowJaxSpeed ??= { on: true, stats: { instances: 0, instanceHits: 0, prepares: 0, prepareHits: 0 } };
/**
 * The kernel function of a compiled program, instantiated once per memory (jax-js made one per
 * dispatch). With nflowSpeed.onKernel set (a profiler, bench/levers.ts), each call is timed.
 */
function nflowKernelFn(program, memory, kernel) {
	let fn;
	if (nflowSpeed.on && program.nflowMemory === memory) {
		nflowSpeed.stats.instanceHits++;
		fn = program.nflowFn;
	} else {
		fn = new WebAssembly.Instance(program.module, { env: { memory } }).exports.kernel;
		nflowSpeed.stats.instances++;
		if (nflowSpeed.on) {
			program.nflowFn = fn;
			program.nflowMemory = memory;
		}
	}
	const onKernel = nflowSpeed.onKernel;
	if (!onKernel) return fn;
	return (...a) => {
		const t0 = performance.now();
		fn(...a);
		onKernel(kernel, performance.now() - t0);
	};
}
/** The Executable this backend made for this Kernel object before (index 0 async, 1 sync), if any. */
function nflowCachedExe(kernel, i) {
	if (!nflowSpeed.on) return void 0;
	const exe = kernel.nflowWasmExe?.[i];
	if (exe) nflowSpeed.stats.prepareHits++;
	else nflowSpeed.stats.prepares++;
	return exe;
}
/**
 * Rows of the register micro-tile of the tiled SIMD matmul (jax-js: 4 rows × 4 vectors = 16
 * accumulators, more than V8 keeps in the 16 xmm registers with the 4 B vectors and the splat beside
 * them, so it spilled; 2 × 4 does not). Each output still sums over k in the same order: same bits.
 */
const NFLOW_MICRO_ROWS = 2;
/** Distinguishes programs generated with the patch's tiling in the compiled-program cache (and the workers' caches). */
function nflowCodegenKey() {
	return nflowSpeed.on ? "/nflow-tile" : "";
}
function nflowKeepExe(kernel, i, exe) {
	if (nflowSpeed.on) (kernel.nflowWasmExe ??= [void 0, void 0])[i] = exe;
	return exe;
}
//#endregion
`;

/** [description, target text, replacement] of the speed patch for the wasm backend chunk. */
const SPEED_BACKEND_EDITS = [
  ["speed state", "//#region src/backend/wasm.ts\n", SPEED_STATE + "//#region src/backend/wasm.ts\n"],
  [
    "cached async prepareKernel",
    "\tasync prepareKernel(kernel) {\n\t\tconst kernelHash = FpHash.hash(kernel).toString();\n\t\treturn new Executable(kernel, {\n\t\t\tprogram: await runWithCacheAsync(compiledProgramCache",
    "\tasync prepareKernel(kernel) {\n\t\tconst nflowHit = nflowCachedExe(kernel, 0);\n\t\tif (nflowHit) return nflowHit;\n\t\tconst kernelHash = FpHash.hash(kernel).toString() + nflowCodegenKey();\n\t\treturn nflowKeepExe(kernel, 0, new Executable(kernel, {\n\t\t\tprogram: await runWithCacheAsync(compiledProgramCache",
  ],
  [
    "cached sync prepareKernel",
    "\t\t\tsync: false\n\t\t});\n\t}\n\tprepareKernelSync(kernel) {\n\t\tconst kernelHash = FpHash.hash(kernel).toString();\n\t\treturn new Executable(kernel, {",
    "\t\t\tsync: false\n\t\t}));\n\t}\n\tprepareKernelSync(kernel) {\n\t\tconst nflowHit = nflowCachedExe(kernel, 1);\n\t\tif (nflowHit) return nflowHit;\n\t\tconst kernelHash = FpHash.hash(kernel).toString() + nflowCodegenKey();\n\t\treturn nflowKeepExe(kernel, 1, new Executable(kernel, {",
  ],
  ["cached sync prepareKernel (end)", "\t\t\tsync: true\n\t\t});\n\t}\n\tasync prepareRoutine(routine) {", "\t\t\tsync: true\n\t\t}));\n\t}\n\tasync prepareRoutine(routine) {"],
  [
    "matmul micro-tile rows",
    "\t\tmicroRows: microTile(tileRows, Math.floor(kernel.size / tileSize), TILED_SIMD_MICRO_ROWS),\n",
    "\t\tmicroRows: microTile(tileRows, Math.floor(kernel.size / tileSize), nflowSpeed.on ? NFLOW_MICRO_ROWS : TILED_SIMD_MICRO_ROWS),\n",
  ],
  [
    "one instance per kernel",
    "const func = new WebAssembly.Instance(program.module, { env: { memory: this.#memory } }).exports.kernel;",
    "const func = nflowKernelFn(program, this.#memory, exe.source);",
  ],
];

export const POOL_MARK = "/* nflow-patch: pool-inline v1 */";

/**
 * 4. pool-inline (docs/performance.md "Threads"; switchable: `__nflowJaxSpeed.poolInline = false`, or
 *    the speed patch off): with the worker pool (threads on), every kernel of the asynchronous path
 *    went through WasmWorkerPool's promise queue, cheap or not: per kernel an `#enqueue` (3 chained
 *    promises), an async `#dispatchNow` (one promise per chunk, up to 4 chunks, each with its own
 *    onmessage closure and posted message), `Promise.all`, the epoch hooks, and the backend's
 *    incRef/decRef of every slot around `waitForEpoch(...).then(...)`: ~11 promises (4 chunks) and a chain of microtask
 *    turns per kernel before the next one could start, for kernels of a few µs (C1 step: 313
 *    kernels, 3.7 → 5.0 ms). The patch runs a kernel at once, on the main thread, inside the backend's
 *    dispatch, when the pool has nothing in flight (every queued kernel and routine has finished, so
 *    nothing else reads or writes the memory) and the kernel has been measured cheap: its first 3
 *    runs are timed here, and it stays here when the fastest took < 1 ms (src/engine/threads.ts's
 *    rule; the verdicts are shared with it, `__nflowJaxSpeed.verdicts`). It runs the very chunks the
 *    pool would post to the workers, in order (same kernel, same chunks: same bits as on the workers).
 *    A kernel queued behind work in flight still goes through the pool (threads.ts then runs it inline
 *    or on a thread). The workers are started only when a kernel first goes to them.
 */
const POOL_STATE = String.raw`
//#region nflow-patch: cheap kernels skip the worker pool's queue
${POOL_MARK}
nflowSpeed.stats.poolInline ??= 0;
/** Per kernel hash: main-thread run times so far (ms), or the verdict (true: stays on the main thread). */
nflowSpeed.verdicts ??= new Map();
const NFLOW_INLINE_BELOW_MS = 1;
const NFLOW_TRIAL_RUNS = 3;
/**
 * Runs a kernel of the asynchronous path here and now, in the pool's chunks, if the pool is idle and
 * the kernel is cheap (or still on trial); returns false to leave it to the pool.
 */
function nflowPoolInline(pool, program, ptrs, memory, kernel) {
	if (!nflowSpeed.on || nflowSpeed.poolInline === false || !pool.nflowIdle) return false;
	const verdicts = nflowSpeed.verdicts;
	const verdict = verdicts.get(program.kernelHash);
	if (verdict === false) return false;
	const fn = nflowKernelFn(program, memory, kernel);
	nflowSpeed.stats.poolInline++;
	if (verdict === true) {
		pool.nflowRunChunks(fn, ptrs, program.workSize, program.chunkAlignment, program.minWorkPerWorker);
		return true;
	}
	const t0 = performance.now();
	pool.nflowRunChunks(fn, ptrs, program.workSize, program.chunkAlignment, program.minWorkPerWorker);
	const times = [...(verdict ?? []), performance.now() - t0];
	verdicts.set(program.kernelHash, times.length >= NFLOW_TRIAL_RUNS ? Math.min(...times) < NFLOW_INLINE_BELOW_MS : times);
	return true;
}
//#endregion
`;

/** [description, target text, replacement] of the pool-inline patch for the wasm backend chunk (after the speed patch). */
const POOL_BACKEND_EDITS = [
  ["pool-inline state", "//#region src/backend/wasm.ts\n", POOL_STATE + "//#region src/backend/wasm.ts\n"],
  [
    "pool idle flag and chunked main-thread run",
    "\tget epoch() {\n\t\treturn this.#epoch;\n\t}\n",
    "\tget epoch() {\n\t\treturn this.#epoch;\n\t}\n\t/** nflow-patch: nothing in flight (every queued kernel and routine has finished). */\n\tget nflowIdle() {\n\t\treturn this.#epoch === this.#epochEnd;\n\t}\n\t/** nflow-patch: the chunks #dispatchNow would post to the workers, run by fn here, in order. */\n\tnflowRunChunks(fn, ptrs, size, chunkAlignment = 16, minWorkPerWorker = MIN_ELEMS_PER_THREAD) {\n\t\tif (size === 0) return;\n\t\tconst n = Math.min(this.#numWorkers, Math.ceil(size / minWorkPerWorker));\n\t\tconst chunkSize = Math.ceil(size / n / chunkAlignment) * chunkAlignment;\n\t\tfor (let i = 0; i < n; i++) {\n\t\t\tconst begin = i * chunkSize;\n\t\t\tif (begin >= size) break;\n\t\t\tfn(...ptrs, begin, Math.min(begin + chunkSize, size));\n\t\t}\n\t}\n",
  ],
  [
    "cheap kernel run at once when the pool is idle",
    "\t\t\tif (this.#workerPool && !sync) {\n\t\t\t\tconst retainedSlots = [...inputs, ...outputs];\n\t\t\t\tfor (const slot of retainedSlots) this.incRef(slot);\n\t\t\t\tconst epoch = this.#workerPool.dispatch(",
    "\t\t\tif (this.#workerPool && !sync && nflowPoolInline(this.#workerPool, program, ptrs, this.#memory, exe.source)) {} else if (this.#workerPool && !sync) {\n\t\t\t\tconst retainedSlots = [...inputs, ...outputs];\n\t\t\t\tfor (const slot of retainedSlots) this.incRef(slot);\n\t\t\t\tconst epoch = this.#workerPool.dispatch(",
  ],
];

/**
 * The same for the main chunk: a PendingExecute whose kernel was prepared before skips the async
 * round; a jitted call finds its compiled program on its Jaxpr object instead of hashing the whole
 * Jaxpr (every equation, in BigInt arithmetic) on every call; `np.concatenate` of n > 8 arrays joins
 * groups of ⌈√n⌉ first, then the groups, instead of a chain that re-reads the growing result every
 * 7 inputs (each kernel of a concatenation evaluates one padded, bounds-checked load per input per
 * element: the chain costs ~(n/7)·P such loads for P elements, two levels ~2√n·P). A concatenation
 * copies values: same bits.
 */
const SPEED_INDEX_EDITS = [
  [
    "two-level concatenate",
    "\tlet result = xs[0];\n\tfor (let i = 1; i < xs.length; i += 7) {\n\t\tconst group = xs.slice(i, i + 7);\n\t\tresult = concatenate$1([result, ...group], axis);\n\t}\n\treturn result;\n",
    "\tif (xs.length > 8 && globalThis.__nflowJaxSpeed?.on) {\n\t\tconst nflowG = Math.min(8, Math.ceil(Math.sqrt(xs.length)));\n\t\tconst nflowParts = [];\n\t\tfor (let i = 0; i < xs.length; i += nflowG) nflowParts.push(i + 1 === xs.length ? xs[i] : concatenate$1(xs.slice(i, i + nflowG), axis));\n\t\treturn concatenate(nflowParts, axis);\n\t}\n\tlet result = xs[0];\n\tfor (let i = 1; i < xs.length; i += 7) {\n\t\tconst group = xs.slice(i, i + 7);\n\t\tresult = concatenate$1([result, ...group], axis);\n\t}\n\treturn result;\n",
  ],
  [
    "compiled program kept on its Jaxpr",
    "function jitCompile(backend, jaxpr) {\n",
    "function jitCompile(backend, jaxpr) {\n\tconst nflowPrograms = globalThis.__nflowJaxSpeed?.on ? jaxpr.nflowPrograms ??= /* @__PURE__ */ new Map() : void 0;\n\tconst nflowHit = nflowPrograms?.get(backend);\n\tif (nflowHit) return nflowHit;\n",
  ],
  [
    "compiled program kept on its Jaxpr (cached program)",
    "\tconst cached = jitCompileCache.get(cacheKey);\n\tif (cached) return cached;\n",
    "\tconst cached = jitCompileCache.get(cacheKey);\n\tif (cached) {\n\t\tnflowPrograms?.set(backend, cached);\n\t\treturn cached;\n\t}\n",
  ],
  [
    "compiled program kept on its Jaxpr (new program)",
    "\tjitCompileCache.set(cacheKey, jp);\n\treturn jp;\n}\n",
    "\tjitCompileCache.set(cacheKey, jp);\n\tnflowPrograms?.set(backend, jp);\n\treturn jp;\n}\n",
  ],
  [
    "synchronous cached prepare",
    "\tasync prepare() {\n\t\tif (this.prepared) return;\n",
    "\tasync prepare() {\n\t\t" + SPEED_MARK + "\n\t\tif (this.prepared) return;\n\t\tconst nflowHit = this.backend.type === \"wasm\" && globalThis.__nflowJaxSpeed?.on ? this.source.nflowWasmExe?.[0] : void 0;\n\t\tif (nflowHit) {\n\t\t\tthis.prepared = nflowHit;\n\t\t\treturn;\n\t\t}\n",
  ],
];

/** Applies edits to one file; returns "patched", "already" or a reason it was not patched. */
export function patchFile(path, edits, mark = MARK) {
  const text = readFileSync(path, "utf8");
  if (text.includes(mark)) return "already";
  let out = text;
  for (const [what, from, to] of edits) {
    const at = out.indexOf(from);
    if (at < 0 || out.indexOf(from, at + 1) >= 0) return `not patched: ${what} (target text ${at < 0 ? "missing" : "not unique"})`;
    out = out.slice(0, at) + to + out.slice(at + from.length);
  }
  writeFileSync(path, out);
  return "patched";
}

/** The dist folder of the @jax-js/jax that this package resolves. */
export function jaxDistDir(from = fileURLToPath(import.meta.url)) {
  const require = createRequire(from);
  return dirname(require.resolve("@jax-js/jax"));
}

export function patchJax(dist = jaxDistDir()) {
  const results = [];
  for (const name of readdirSync(dist).sort()) {
    const isBackend = /^backend-.*\.(js|cjs)$/.test(name);
    const isIndex = name === "index.js" || name === "index.cjs";
    if (!isBackend && !isIndex) continue;
    results.push([name, patchFile(join(dist, name), isBackend ? BACKEND_EDITS : INDEX_EDITS), "float64"]);
    results.push([name, patchFile(join(dist, name), isBackend ? SPEED_BACKEND_EDITS : SPEED_INDEX_EDITS, SPEED_MARK), "speed"]);
    // the pool-inline edits call the speed patch's functions: only on top of it
    if (isBackend)
      results.push([name, readFileSync(join(dist, name), "utf8").includes(SPEED_MARK) ? patchFile(join(dist, name), POOL_BACKEND_EDITS, POOL_MARK) : "not patched: needs the speed patch", "pool"]);
  }
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  let dist;
  try {
    dist = jaxDistDir();
  } catch {
    console.warn("nflow: @jax-js/jax not found; float64 and speed patches not applied");
    process.exit(0);
  }
  if (!existsSync(dist)) process.exit(0);
  const effect = {
    float64: "float64 stays float32-accurate on wasm",
    speed: "kernel dispatch stays at jax-js's own speed",
    pool: "with threads, every kernel goes through jax-js's worker queue",
  };
  for (const [name, result, which] of patchJax(dist)) {
    if (result.startsWith("not patched")) console.warn(`nflow: @jax-js/jax ${name}: ${which} patch ${result}; ${effect[which]}`);
  }
}
