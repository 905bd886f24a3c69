/**
 * Float dtype policy. Models are float32 by default; float64 is available everywhere (tests of
 * exactness run in float64 on the `cpu` device, whose transcendental functions are exact; the
 * `wasm` device computes exp/log/tanh in float32 even for float64 arrays, docs/reference/ENGINE-NOTES.md).
 */
import { np, type Array, type DType } from "./jax.js";
import { ConfigError } from "./errors.js";

/** The float dtypes a model can use. */
export type FloatDType = "float32" | "float64";

export const FLOAT_DTYPES: readonly FloatDType[] = ["float32", "float64"];

/** The jax-js dtype object for a float dtype name. */
export function jaxDType(dtype: FloatDType): DType {
  return dtype === "float64" ? np.float64 : np.float32;
}

/** Validates a dtype name from a config, a file or the command line. */
export function parseFloatDType(value: unknown, where = "dtype"): FloatDType {
  if (value === "float32" || value === "float64") return value;
  throw new ConfigError(`${where}: expected "float32" or "float64", got ${JSON.stringify(value)}`);
}

/** The typed-array constructor that holds a dtype's values. */
export function typedArrayFor(dtype: FloatDType): Float32ArrayConstructor | Float64ArrayConstructor {
  return dtype === "float64" ? Float64Array : Float32Array;
}

/** Builds an array of the given float dtype from plain numbers or a typed array. */
export function fromValues(
  values: ArrayLike<number>,
  shape: number[],
  dtype: FloatDType,
): Array {
  const Typed = typedArrayFor(dtype);
  const data = values instanceof Typed ? values : Typed.from(values as ArrayLike<number>);
  return np.array(data as Float32Array | Float64Array, { shape, dtype: jaxDType(dtype) });
}

/** Float dtype of an array, or undefined when it is not float32/float64. */
export function floatDTypeOf(x: Array): FloatDType | undefined {
  const d = String(x.dtype);
  return d === "float32" || d === "float64" ? d : undefined;
}

/**
 * A scalar constant with the dtype of `like`. Why: under `jit`, jax-js 0.1.25 turns a bare JS
 * number into a float32 constant even in float64 code (`x.mul(1.1)` errs by 5e-6, and
 * `x.sub(Math.log(2π))` by 6e-6; eager code is exact). Float64-exact code therefore passes
 * constants that float32 cannot hold exactly as arrays of the input's dtype. Does not consume.
 */
export function scalar(value: number, like: Array | DType): Array {
  const dtype = typeof like === "string" ? like : (like as Array).dtype;
  return np.full([], value, { dtype });
}
