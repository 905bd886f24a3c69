/**
 * Typed errors thrown at the public boundary. Each message names what was expected and what
 * was given, so that a user can fix the call without reading the library.
 */

/** Base class of every error this library throws on purpose. */
export class FlowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** An array has the wrong rank or size (wrong data dimension, wrong batch, wrong context width). */
export class ShapeError extends FlowError {}

/** An array has the wrong dtype (float32 data given to a float64 model, an integer array ...). */
export class DTypeError extends FlowError {}

/** Input holds NaN or ±Infinity where finite numbers are required. */
export class NonFiniteError extends FlowError {}

/** A conditional flow was called without its context, or an unconditional one with a context. */
export class ContextError extends FlowError {}

/** A configuration (JSON or options object) is invalid: unknown kind, bad value, missing field. */
export class ConfigError extends FlowError {}

/** A file could not be used: missing, truncated, corrupt, wrong kind or wrong version. */
export class FileFormatError extends FlowError {}

/** Training diverged (non-finite loss) and stopped; the best parameters seen were kept. */
export class DivergenceError extends FlowError {}
