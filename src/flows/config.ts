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
  /** Independent standard logistic coordinates (NICE's base for images). */
  | { kind: "standard-logistic" }
  | { kind: "uniform"; low: number[]; high: number[] };

/** Coupling masks: which dimensions pass unchanged and condition the others. */
export type MaskKind = "half" | "alternating";

/** Conditioner networks: MLPs on the flat vector, or convolutional residual networks on images. */
export type ConditionerKind = "mlp" | "resnet";

/** Permutation inserted between layers. */
export type PermutationKind = "none" | "reverse" | "random" | "lu";

/**
 * Mixing between layers as issue 12 and Glow name it: "lu" (a trainable LU-parametrised linear map,
 * the 1×1 convolution on images), "permutation" (a fixed one: "reverse" or "random") or "none". An
 * alias of FlowConfig.permutation (docs/glow.md).
 */
export type MixingKind = "lu" | "permutation" | "none";

export const MIXING_KINDS: readonly MixingKind[] = ["lu", "permutation", "none"];

/**
 * Elementwise map of the coupling and autoregressive layers: "affine" (RealNVP, MAF, IAF),
 * "additive" (NICE, volume preserving), "spline" (monotonic rational-quadratic spline, Neural
 * Spline Flows: RQ-NSF (C) with realnvp, RQ-NSF (AR) with maf/iaf; bijectors/transformers/spline.ts).
 */
export type TransformerKind = "affine" | "additive" | "spline";

export const TRANSFORMER_KINDS: readonly TransformerKind[] = ["affine", "additive", "spline"];

export interface FlowConfig {
  /** Architecture family. */
  flow: FlowKind;
  /** Data dimension D (required, except for images where it is C·H·W). */
  dim?: number;
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
  /**
   * Mixing between layers: a fixed permutation ("reverse", "random"), a trainable LU-parametrised
   * linear map that starts as the reverse permutation ("lu", Glow's mixing), or "none".
   * Default: "reverse" for maf/iaf, "none" for couplings.
   */
  permutation?: PermutationKind;
  /** Batch normalisation between layers (realnvp, maf). Default false. */
  batchNorm?: boolean;
  /**
   * Another name for `permutation` (Glow's word): "lu" is permutation "lu", "none" is "none",
   * "permutation" is a fixed permutation ("reverse" unless `permutation` says "random"). Given
   * with `permutation`, the two must agree. A normalised config holds `permutation` only. On an
   * image realnvp, "lu" puts an invertible 1×1 convolution before every coupling on two or more
   * channels (docs/glow.md); "permutation" is not available there.
   */
  mixing?: MixingKind;
  /**
   * ActNorm (Glow's activation normalisation, data-initialised from the first training batch)
   * before every coupling / autoregressive layer in the normalising direction, so that each step
   * is actnorm → mixing → layer as in Glow: per dimension on vectors (nice excepted: it is
   * volume preserving), per channel on an image realnvp. Default false; a normalised config
   * holds the key only when true, so earlier configs and model files are unchanged.
   */
  actnorm?: boolean;
  /** Base density. Default standard normal. */
  base?: BaseConfig;
  /** Context width for conditional flows p(x | y). Default 0. */
  contextDim?: number;
  /**
   * Bound B of the soft clamp on log-scales (realnvp/maf/iaf): s = B·tanh(raw/B), so that
   * |s| < B and exp(s) can never overflow while training. Default 3.
   */
  scaleBound?: number;
  /**
   * Elementwise transformer of every coupling (nice/realnvp) or autoregressive (maf/iaf) layer.
   * Default "additive" for nice, "affine" otherwise; an image realnvp (multi-scale) is affine only.
   * A normalised config leaves the key out when it is the family's default, so configs (and model
   * files) written before it existed are unchanged byte for byte.
   */
  transformer?: TransformerKind;
  /** Number of spline bins K (transformer "spline"), 2..256. Default 8. */
  bins?: number;
  /**
   * Half-width B of the spline's interval [−B, B] (transformer "spline"); the map is the identity
   * outside it. Default 3.
   */
  bound?: number;
  /** NICE's final diagonal rescaling layer. Default true for nice. */
  rescale?: boolean;
  /** Seed of the parameter initialisation and of random permutations/degrees. Default 0. */
  seed?: number;
  /** Float dtype of the parameters. Default "float32". */
  dtype?: FloatDType;
  /**
   * Image layout [C, H, W] of the data (each row is an image flattened row-major, so dim = C·H·W;
   * `dim` may then be left out). Default null (vectors). With an image:
   *  - realnvp is RealNVP's multi-scale architecture (Dinh et al. 2017; docs/reference/CONFIGS-IMAGES.md C5):
   *    at every scale but the last, `layers` checkerboard couplings, a squeeze, `layers` channel
   *    couplings and a factor-out of half the channels; at the last scale `layers + 1`
   *    checkerboard couplings. Its conditioners are residual conv nets (`conditioner`).
   *  - nice, maf and iaf work on the flattened image (C6 is nice with 4 layers); coupling
   *    parities are counted from the data side, as in the papers (layer 0, the first one the data
   *    meets, has the unflipped mask).
   */
  image?: [number, number, number] | null;
  /**
   * α of a logit preprocessing layer at the data end: the flow models y = logit(α + (1 − 2α)x) of
   * data x in [0, 1], and the layer's log-det is part of log p(x). Default: 0.05 for an image
   * realnvp (RealNVP's choice), 1e-6 for an image maf/iaf (the MAF paper's λ), otherwise null (none).
   */
  logit?: number | null;
  /**
   * Conditioner networks. "resnet" (realnvp on images only): `hidden` lists one entry per residual
   * block, all equal, the number of feature maps (C5: [32, 32], 2 blocks of 32 maps). Default
   * "resnet" for an image realnvp, else "mlp".
   */
  conditioner?: ConditionerKind;
  /** Scales of an image realnvp (squeeze + factor-out between scales). Default 2. */
  scales?: number;
}
