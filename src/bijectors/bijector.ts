/**
 * The bijection contract. Forward is GENERATIVE (z → x), inverse is NORMALISING (x → z), as in the
 * lecture, TFP and FlowJAX. Both directions return the transformed value and log|det J| of the
 * map they apply, per sample, so that for any bijector
 *     inverse(p, forward(p, z).y).y = z   and   forward.logDet(z) + inverse.logDet(f(z)) = 0.
 *
 * Ownership (jax-js convention): `forward` and `inverse` CONSUME `p`, the input and `context`.
 * Pass `refTree(p)` / `x.ref` to keep them. `init` consumes the key.
 */
import type { Array } from "../engine/jax.js";
import { ContextError } from "../engine/errors.js";
import type { FloatDType } from "../engine/dtype.js";
import type { Key } from "../engine/random.js";
import type { Params } from "../engine/tree.js";

/** Options of a single call. */
export interface CallOptions {
  /**
   * Training mode: layers with state (batch normalisation) use batch statistics and report the
   * new running statistics in `BijectionResult.state`. Default false (evaluation mode).
   */
  training?: boolean;
  /** Return every intermediate variable of a chain (z(0) … z(L)) in `intermediates`. */
  intermediates?: boolean;
}

/**
 * New values of non-trainable state leaves, keyed by their dotted path inside the params tree of
 * the object that returned them (e.g. `layers.3.runningMean`). Containers prefix their children's
 * paths, so a flow's train step can write them back with `setPath`.
 */
export type StateUpdates = Record<string, Array>;

/** What a bijection returns in either direction. */
export interface BijectionResult {
  /** The transformed batch, same shape as the input. */
  y: Array;
  /** log|det J| of the applied map for each sample: shape [N]. */
  logDet: Array;
  /** New running statistics, only in training mode and only from stateful layers. */
  state?: StateUpdates;
  /**
   * With `intermediates: true`: the variables between layers, from the input to the output, in
   * the order the direction visits them (forward: z(0)=z … z(L)=x; inverse: x … z).
   */
  intermediates?: Array[];
}

/** Whether a direction is one parallel pass or D sequential passes (MAF sampling, IAF density). */
export type PassKind = "parallel" | "sequential";

/** A bijection on R^dim, optionally conditioned on a context vector of size contextDim. */
export interface Bijector<P extends Params = Params> {
  /** Short name of the kind ("affine-coupling", "linear" ...). */
  readonly kind: string;
  /** Event dimension D: inputs are [N, D]. */
  readonly dim: number;
  /** Context width K (0 when unconditional): contexts are [N, K]. */
  readonly contextDim: number;
  /** Cost of forward (sampling direction). */
  readonly forwardPass: PassKind;
  /** Cost of inverse (density direction). */
  readonly inversePass: PassKind;
  /** Paths (relative to this bijector's params) of non-trainable state leaves. */
  readonly stateLeaves?: readonly string[];
  /** Fresh parameters. Identity-at-init layers start as the identity map. */
  init(key: Key, dtype?: FloatDType): P;
  /** z → x. */
  forward(p: P, z: Array, context?: Array, opts?: CallOptions): BijectionResult;
  /** x → z. */
  inverse(p: P, x: Array, context?: Array, opts?: CallOptions): BijectionResult;
}

/** Disposes an optional context that a layer does not use. */
export function dropContext(context: Array | undefined): void {
  context?.dispose();
}

/**
 * The context a layer uses: disposed and undefined for an unconditional layer (contextDim 0),
 * required (ContextError naming the expected shape) for a conditional one. Consumes `context`
 * unless it returns it.
 */
export function takeContext(layer: { kind: string; contextDim: number }, context: Array | undefined): Array | undefined {
  if (layer.contextDim === 0) {
    dropContext(context);
    return undefined;
  }
  if (context === undefined)
    throw new ContextError(`${layer.kind}: this layer is conditional and needs a context of shape [N, ${layer.contextDim}], none was given`);
  return context;
}

/** Prefixes the paths of state updates with a container's child path. */
export function prefixState(state: StateUpdates | undefined, prefix: string): StateUpdates | undefined {
  if (!state) return undefined;
  const out: StateUpdates = {};
  for (const [k, v] of Object.entries(state)) out[`${prefix}.${k}`] = v;
  return out;
}

/** Merges state updates (later ones win; there are no collisions in a tree). */
export function mergeState(...parts: (StateUpdates | undefined)[]): StateUpdates | undefined {
  let out: StateUpdates | undefined;
  for (const part of parts) if (part) out = { ...(out ?? {}), ...part };
  return out;
}
