/**
 * The one door to jax-js. Importing the engine through this module guarantees the Node.js shims
 * are installed first. Library code imports `np`, `jit`, `grad` ... from here, never from
 * `@jax-js/jax` directly.
 *
 * Ownership (jax-js convention, followed throughout the functional layer of this library):
 * every operation and every function CONSUMES its array arguments; write `x.ref` to keep using
 * `x` afterwards, and take the `.ref` BEFORE the consuming call in the same expression
 * (`x.ref.mul(f(x))`, never `f(x).mul(x.ref)`: arguments are evaluated left to right).
 */
import "./shims.js";
import "./wasm-simd.js"; // relaxed SIMD on before jax-js compiles its first kernel
import * as jax from "@jax-js/jax";

export { jax };
export const np = jax.numpy;
export const nn = jax.nn;
export const random = jax.random;
export const tree = jax.tree;
export const lax = jax.lax;
export const jit: typeof jax.jit = jax.jit;
export const grad: typeof jax.grad = jax.grad;
export const valueAndGrad: typeof jax.valueAndGrad = jax.valueAndGrad;
export const vjp: typeof jax.vjp = jax.vjp;
export const jvp: typeof jax.jvp = jax.jvp;
export const vmap: typeof jax.vmap = jax.vmap;
export const jacfwd: typeof jax.jacfwd = jax.jacfwd;
export const defaultDevice: typeof jax.defaultDevice = jax.defaultDevice;
export const devicePut: typeof jax.devicePut = jax.devicePut;
export const blockUntilReady: typeof jax.blockUntilReady = jax.blockUntilReady;
export const setDebug: typeof jax.setDebug = jax.setDebug;
export type Array = jax.Array;
export type DType = jax.DType;
export type Device = jax.Device;
export type JsTree<T> = jax.JsTree<T>;
