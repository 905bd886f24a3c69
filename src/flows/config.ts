/**
 * The one JSON config format for every ready-made architecture. The same object is stored in the
 * model file and built from CLI flags; `build(config)` (flows/build.ts) is the one door from a
 * config to a Flow.
 */
import type { FloatDType } from "../engine/dtype.js";
import type { ActivationName } from "../nn/activation.js";

export type FlowKind = "nice" | "realnvp" | "maf" | "iaf";

export const FLOW_KINDS: readonly FlowKind[] = ["nice", "realnvp", "maf", "iaf"];

/** The base density of a flow. */
export type BaseConfig =
  | { kind: "standard-normal" }
  | { kind: "diag-normal" }
  /**
   * N(μ(y), diag σ(y)²) with [μ, log σ] = MLP(y) (conditional flows only, contextDim > 0).
   * `hidden`: the MLP's hidden widths (default [32]); it uses the flow's `activation`.
   */
  | { kind: "conditional-diag-normal"; hidden?: number[] }
  | { kind: "mixture-of-gaussians"; components: number }
  | { kind: "uniform"; low: number[]; high: number[] };

/** Coupling masks: which dimensions pass unchanged and condition the others. */
export type MaskKind = "half" | "alternating";

/** Permutation inserted between layers. */
export type PermutationKind = "none" | "reverse" | "random";

export interface FlowConfig {
  /** Architecture family. */
  flow: FlowKind;
  /** Data dimension D. */
  dim: number;
  /** Number of coupling (nice/realnvp) or MADE (maf/iaf) layers. */
  layers: number;
  /** Hidden layer widths of every conditioner network. */
  hidden: number[];
  /** Hidden activation of the conditioners. Default "relu". */
  activation?: ActivationName;
  /**
   * Coupling masks (nice/realnvp): "half" splits at ⌈D/2⌉ (first half conditions the second),
   * "alternating" takes even vs odd dimensions. Consecutive layers flip the mask. Default "half".
   */
  mask?: MaskKind;
  /** Permutation between layers. Default: "reverse" for maf/iaf, "none" for couplings. */
  permutation?: PermutationKind;
  /** Batch normalisation between layers (realnvp, maf). Default false. */
  batchNorm?: boolean;
  /** Base density. Default standard normal. */
  base?: BaseConfig;
  /** Context width for conditional flows p(x | y). Default 0. */
  contextDim?: number;
  /**
   * Bound B of the soft clamp on log-scales (realnvp/maf/iaf): s = B·tanh(raw/B), so that
   * |s| < B and exp(s) can never overflow while training. Default 3.
   */
  scaleBound?: number;
  /** NICE's final diagonal rescaling layer. Default true for nice. */
  rescale?: boolean;
  /** Seed of the parameter initialisation and of random permutations/degrees. Default 0. */
  seed?: number;
  /** Float dtype of the parameters. Default "float32". */
  dtype?: FloatDType;
}
