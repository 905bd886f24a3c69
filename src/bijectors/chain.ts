/**
 * Chain: f = f_L ∘ … ∘ f_1. Forward applies layers[0] first (z(0) = z, z(l) = f_l(z(l-1)),
 * x = z(L)); inverse applies them in reverse. Log-determinants add:
 *     log|det J_f(z)| = Σ_l log|det J_{f_l}(z(l-1))|.
 * With `{ intermediates: true }` every z(l) is returned (the lecture's layer-by-layer pictures);
 * the steps inside a nested composition (a chain, a CouplingStack) are listed too.
 */
import type { Array } from "../engine/jax.js";
import type { FloatDType } from "../engine/dtype.js";
import { splitKey, type Key } from "../engine/random.js";
import { ConfigError } from "../engine/errors.js";
import type { Params } from "../engine/tree.js";
import {
  mergeState,
  prefixState,
  type BijectionResult,
  type Bijector,
  type CallOptions,
  type PassKind,
  type StateUpdates,
} from "./bijector.js";

/** Params of a chain: one entry per layer, in forward order. */
export type ChainParams = { layers: Params[] };

export class Chain implements Bijector<ChainParams> {
  readonly kind = "chain";
  readonly dim: number;
  readonly contextDim: number;
  readonly forwardPass: PassKind;
  readonly inversePass: PassKind;
  readonly stateLeaves: readonly string[];

  /** @param layers bijectors in forward (generative) order. */
  constructor(readonly layers: readonly Bijector[]) {
    if (layers.length === 0) throw new ConfigError("chain: needs at least one layer");
    this.dim = layers[0]!.dim;
    layers.forEach((l, i) => {
      if (l.dim !== this.dim)
        throw new ConfigError(`chain: layer ${i} (${l.kind}) has dim ${l.dim}, expected ${this.dim}`);
    });
    this.contextDim = Math.max(...layers.map((l) => l.contextDim));
    layers.forEach((l, i) => {
      if (l.contextDim !== 0 && l.contextDim !== this.contextDim)
        throw new ConfigError(
          `chain: layer ${i} (${l.kind}) takes context of size ${l.contextDim}, others ${this.contextDim}`,
        );
    });
    this.forwardPass = layers.some((l) => l.forwardPass === "sequential") ? "sequential" : "parallel";
    this.inversePass = layers.some((l) => l.inversePass === "sequential") ? "sequential" : "parallel";
    this.stateLeaves = layers.flatMap((l, i) => (l.stateLeaves ?? []).map((s) => `layers.${i}.${s}`));
  }

  init(key: Key, dtype: FloatDType = "float32"): ChainParams {
    const keys = splitKey(key, this.layers.length);
    return { layers: this.layers.map((l, i) => l.init(keys[i]!, dtype)) };
  }

  forward(p: ChainParams, z: Array, context?: Array, opts?: CallOptions): BijectionResult {
    const order = this.layers.map((_, i) => i);
    return this.run(p, z, context, opts, order, "forward");
  }

  inverse(p: ChainParams, x: Array, context?: Array, opts?: CallOptions): BijectionResult {
    const order = this.layers.map((_, i) => this.layers.length - 1 - i);
    return this.run(p, x, context, opts, order, "inverse");
  }

  private run(
    p: ChainParams,
    input: Array,
    context: Array | undefined,
    opts: CallOptions | undefined,
    order: number[],
    direction: "forward" | "inverse",
  ): BijectionResult {
    const keep = opts?.intermediates === true;
    const intermediates: Array[] = [];
    if (keep) intermediates.push(input.ref);
    let y = input;
    let logDet: Array | undefined;
    let state: StateUpdates | undefined;
    // A child that is itself a composition (a nested chain, a CouplingStack) returns its own
    // intermediates; they are spliced in, so the list always has one entry per elementary layer.
    const childOpts: CallOptions = { training: opts?.training ?? false, intermediates: keep };
    for (const i of order) {
      const layer = this.layers[i]!;
      const ctx = layer.contextDim > 0 ? context?.ref : undefined;
      const r = layer[direction](p.layers[i]!, y, ctx, childOpts);
      y = r.y;
      logDet = logDet === undefined ? r.logDet : logDet.add(r.logDet);
      state = mergeState(state, prefixState(r.state, `layers.${i}`));
      if (keep) {
        if (r.intermediates && r.intermediates.length > 0) {
          // [child input, …, child output]: the input is already the last entry here
          r.intermediates[0]!.dispose();
          intermediates.push(...r.intermediates.slice(1));
        } else intermediates.push(y.ref);
      }
    }
    context?.dispose();
    return keep ? { y, logDet: logDet!, state, intermediates } : { y, logDet: logDet!, state };
  }
}
