/**
 * From a JSON config to a Flow: the one door used by the model file, the CLI and the playground.
 *
 * `normalizeConfig` validates every field (ConfigError naming the field, what was expected and
 * what was given; unknown keys are refused so that a typo never silently falls back to a
 * default) and fills every default, so the normalised config is complete and is what a model
 * file stores. Normalising a normalised config returns an equal one. Fields that a family does
 * not use (`mask` for maf, `scaleBound` for nice ...) are still validated and kept, and ignored.
 *
 * Layer lists are in FORWARD (generative, z → x) order, the order of `Chain`: layers[0] touches
 * the base sample first; the density direction (x → z) visits them from the last to the first.
 *
 *  - nice    [Rescale] · C_0 · C_1 · … · C_{L−1}, C = additive coupling. NICE's diagonal scaling is
 *            the TOP layer of its encoder h = S·f(x), i.e. the last map of the density direction,
 *            hence the first in forward order. Couplings are volume preserving (log-det 0), so
 *            the Rescale is the only layer that changes volume.
 *  - realnvp C_0 · [P] · [BN] · C_1 · … · C_{L−1}, C = affine coupling.
 *  - maf     M_0 · [P] · [BN] · M_1 · … · M_{L−1}, M = masked autoregressive (density parallel).
 *  - iaf     the same with inverse autoregressive layers (sampling parallel).
 *  P = permutation between consecutive layers ("reverse", or "random" seeded from seed + l), or
 *      with "lu" a trainable LU-parametrised linear map P·L·U·z + b (bijectors/linear.ts; Glow's
 *      mixing on vectors) whose fixed P is the reverse permutation and L = U = I, b = 0 at init,
 *  BN = batch normalisation between consecutive layers when `batchNorm`. With `rescale: true`
 *  any family (not only nice) gets the Rescale at the base end.
 *  With `actnorm` (realnvp, maf, iaf) an ActNorm (bijectors/actnorm.ts) comes right before every
 *  layer in the normalising direction: ... · [P] · [BN] · A · C_l · … · C_{L−1} · A, so each step
 *  is actnorm → mixing → coupling as in Glow (docs/glow.md). `mixing` is an alias of `permutation`.
 *
 * Coupling masks: with permutation "none" the mask flips at every layer (C_l uses the mask of
 * kind `mask`, negated for odd l), so every dimension is transformed by every second coupling.
 * With a permutation the mask stays fixed and the permutation does the mixing: flipping as well
 * would undo it (a reversed half mask, flipped, transforms the same coordinates again).
 */
import { ConfigError } from "../engine/errors.js";
import { parseFloatDType, type FloatDType } from "../engine/dtype.js";
import { rejectUnknownKeys } from "../engine/validate.js";
import { ACTIVATIONS } from "../nn/activation.js";
import type { Bijector } from "../bijectors/bijector.js";
import { Chain } from "../bijectors/chain.js";
import { Coupling } from "../bijectors/coupling.js";
import { CouplingStack } from "../bijectors/coupling-stack.js";
import { couplingMask } from "../bijectors/masks.js";
import { AdditiveCoupling } from "../bijectors/additive-coupling.js";
import { AffineCoupling } from "../bijectors/affine-coupling.js";
import { SplineCoupling } from "../bijectors/spline-coupling.js";
import { AdditiveTransformer } from "../bijectors/transformers/additive.js";
import { AffineTransformer } from "../bijectors/transformers/affine.js";
import { DEFAULT_SPLINE_BINS, DEFAULT_SPLINE_BOUND, MAX_SPLINE_BINS, SplineTransformer } from "../bijectors/transformers/spline.js";
import type { ElementwiseTransformer } from "../bijectors/transformers/transformer.js";
import { MaskedAutoregressive } from "../bijectors/masked-autoregressive.js";
import { InverseAutoregressive } from "../bijectors/inverse-autoregressive.js";
import { Permutation } from "../bijectors/permutation.js";
import { Linear } from "../bijectors/linear.js";
import { ActNorm } from "../bijectors/actnorm.js";
import { Conv1x1 } from "../bijectors/conv1x1.js";
import { BatchNorm } from "../bijectors/batch-norm.js";
import { Rescale } from "../bijectors/rescale.js";
import { Logit } from "../bijectors/logit.js";
import { Invert } from "../bijectors/invert.js";
import { Squeeze } from "../bijectors/squeeze.js";
import { FactorOut } from "../bijectors/factor-out.js";
import { ImageAffineCoupling } from "../bijectors/image-coupling.js";
import { checkImageShape, imageSize, type ImageShape } from "../bijectors/image.js";
import { StandardLogistic } from "../distributions/standard-logistic.js";
import type { Distribution } from "../distributions/distribution.js";
import { StandardNormal } from "../distributions/standard-normal.js";
import { DiagNormal } from "../distributions/diag-normal.js";
import { ConditionalDiagNormal } from "../distributions/conditional-diag-normal.js";
import { MixtureOfGaussians } from "../distributions/mixture-of-gaussians.js";
import { UniformBox } from "../distributions/uniform-box.js";
import { Flow } from "../distributions/flow.js";
import {
  FLOW_KINDS,
  TRANSFORMER_KINDS,
  type BaseConfig,
  type ConditionerKind,
  type FlowConfig,
  type FlowKind,
  type MaskKind,
  MIXING_KINDS,
  type PermutationKind,
  type TransformerKind,
} from "./config.js";

/**
 * Keys a normalised config holds only where they matter (FlowConfig.transformer: the family's
 * default transformer leaves all three out), so that configs from before they existed normalise,
 * and are stored, byte for byte as before.
 */
type SometimesKeys = "transformer" | "bins" | "bound" | "actnorm" | "mixing";

/** A config with every default filled in: what a model file stores and what `build` uses. */
export type NormalizedFlowConfig = Required<Omit<FlowConfig, SometimesKeys>> & Pick<FlowConfig, SometimesKeys>;

/** What `build` returns: the flow and the normalised config it was built from. */
export interface BuiltFlow {
  flow: Flow;
  config: NormalizedFlowConfig;
}

const CONFIG_KEYS: readonly (keyof FlowConfig)[] = [
  "flow",
  "dim",
  "layers",
  "hidden",
  "activation",
  "mask",
  "permutation",
  "mixing",
  "batchNorm",
  "actnorm",
  "base",
  "contextDim",
  "scaleBound",
  "transformer",
  "bins",
  "bound",
  "rescale",
  "seed",
  "dtype",
  "image",
  "logit",
  "conditioner",
  "scales",
];
const MASKS: readonly MaskKind[] = ["half", "alternating"];
const CONDITIONERS: readonly ConditionerKind[] = ["mlp", "resnet"];
const PERMUTATIONS: readonly PermutationKind[] = ["none", "reverse", "random", "lu"];
const BASE_KINDS: readonly BaseConfig["kind"][] = [
  "standard-normal",
  "diag-normal",
  "conditional-diag-normal",
  "mixture-of-gaussians",
  "uniform",
  "standard-logistic",
];
/** Default hidden widths of a conditional-diag-normal base. */
const DEFAULT_BASE_HIDDEN = [32];

/** Default log-scale bound of affine conditioners (config.ts). */
export const DEFAULT_SCALE_BOUND = 3;

/**
 * Validates a config (from JSON, a file, CLI flags) and fills its defaults.
 * Throws ConfigError naming the field, the expected value and the given one.
 */
export function normalizeConfig(config: unknown): NormalizedFlowConfig {
  const c = asObject(config, "config");
  rejectUnknownKeys(c, CONFIG_KEYS, "config");
  const flow = oneOf(c.flow, FLOW_KINDS, "flow");
  const coupling = flow === "nice" || flow === "realnvp";
  const image = c.image === undefined || c.image === null ? null : imageShapeField(c.image);
  if (coupling && c.dim === 1)
    throw new ConfigError(`dim: a ${flow} coupling flow splits the dimensions into two groups and needs dim ≥ 2, got 1; use flow "maf" or "iaf" for 1-D data`);
  const dim = image && c.dim === undefined ? imageSize(image) : atMost(integer(c.dim, "dim", coupling ? 2 : 1), "dim", MAX_DIM);
  if (image && dim !== imageSize(image))
    throw new ConfigError(`dim: expected ${imageSize(image)} = C·H·W for image [${image.join(", ")}], got ${dim}`);
  const multiScale = image !== null && flow === "realnvp";
  const layers = atMost(integer(c.layers, "layers", 1), "layers", MAX_LAYERS);
  const hidden = hiddenSizes(c.hidden);
  const activation = c.activation === undefined ? "relu" : oneOf(c.activation, ACTIVATIONS, "activation");
  const mask = c.mask === undefined ? (c.image !== undefined && c.image !== null ? "alternating" : "half") : oneOf(c.mask, MASKS, "mask");
  const permutation = mixingPermutation(c, coupling, image !== null && flow === "realnvp");
  const batchNorm = c.batchNorm === undefined ? false : boolean(c.batchNorm, "batchNorm");
  if (batchNorm && flow === "nice")
    throw new ConfigError(`batchNorm: expected false for nice (a volume-preserving architecture), got true`);
  const actnorm = c.actnorm === undefined ? false : boolean(c.actnorm, "actnorm");
  if (actnorm && flow === "nice")
    throw new ConfigError(`actnorm: expected false for nice (a volume-preserving architecture), got true`);
  const contextDim = c.contextDim === undefined ? 0 : atMost(integer(c.contextDim, "contextDim", 0), "contextDim", MAX_DIM);
  const base = c.base === undefined && image && flow === "nice" ? { kind: "standard-logistic" as const } : baseConfig(c.base, dim, contextDim);
  const conditioner = c.conditioner === undefined ? (multiScale ? "resnet" : "mlp") : oneOf(c.conditioner, CONDITIONERS, "conditioner");
  if (conditioner === "resnet" && !multiScale)
    throw new ConfigError(`conditioner: "resnet" needs a realnvp on images (config.image), got flow ${JSON.stringify(flow)}${image ? "" : " without an image"}`);
  if (multiScale && conditioner !== "resnet")
    throw new ConfigError(`conditioner: an image realnvp is multi-scale with residual conv conditioners; expected "resnet", got ${JSON.stringify(conditioner)}`);
  if (conditioner === "resnet" && hidden.some((h) => h !== hidden[0]))
    throw new ConfigError(`hidden: a resnet conditioner has one entry per residual block, all the same number of feature maps, got [${hidden.join(", ")}]`);
  const scales = c.scales === undefined ? 2 : integer(c.scales, "scales", 1, 8);
  if (multiScale) checkScales(image!, scales);
  const logitDefault = image === null ? null : flow === "realnvp" ? 0.05 : flow === "nice" ? null : 1e-6;
  const logit = c.logit === undefined ? logitDefault : c.logit === null ? null : logitAlpha(c.logit);
  const scaleBound = c.scaleBound === undefined ? DEFAULT_SCALE_BOUND : positiveNumber(c.scaleBound, "scaleBound");
  const transformerFields = transformerConfig(c, flow, multiScale);
  const rescale = c.rescale === undefined ? flow === "nice" : boolean(c.rescale, "rescale");
  const seed = c.seed === undefined ? 0 : integer(c.seed, "seed", 0, 0xffffffff);
  const dtype = c.dtype === undefined ? "float32" : parseFloatDType(c.dtype, "dtype");
  checkParameterEstimate({ dim, layers, hidden, contextDim, base, conditioner, scales, image, dtype, permutation, actnorm, ...transformerFields });
  return {
    flow,
    dim,
    layers,
    hidden,
    activation,
    mask,
    permutation,
    batchNorm,
    ...(actnorm ? { actnorm } : {}),
    base,
    contextDim,
    scaleBound,
    ...transformerFields,
    rescale,
    seed,
    dtype,
    image,
    logit,
    conditioner,
    scales,
  };
}

/**
 * The permutation field of a normalised config from `permutation` and its alias `mixing` (config.ts):
 * "lu" ↔ "lu", "none" ↔ "none", "permutation" ↔ "reverse" (default) or "random". Both given: they
 * must agree. On an image realnvp only "lu" (1×1 convolutions) and "none" mix, so an explicit
 * `mixing: "permutation"` there is refused (a `permutation` of "reverse"/"random", as earlier
 * configs may hold, stays accepted and unused).
 */
function mixingPermutation(c: Record<string, unknown>, coupling: boolean, multiScale: boolean): PermutationKind {
  const given = c.permutation === undefined ? undefined : oneOf(c.permutation, PERMUTATIONS, "permutation");
  if (c.mixing === undefined) return given ?? (coupling ? "none" : "reverse");
  const mixing = oneOf(c.mixing, MIXING_KINDS, "mixing");
  const fixed = (p: PermutationKind): boolean => p === "reverse" || p === "random";
  if (given !== undefined && !(mixing === "permutation" ? fixed(given) : given === mixing))
    throw new ConfigError(
      `mixing: ${JSON.stringify(mixing)} disagrees with permutation ${JSON.stringify(given)} (mixing is another name for it: "lu" = "lu", "none" = "none", "permutation" = "reverse" or "random"); give one of them`,
    );
  if (mixing === "permutation" && multiScale && given === undefined)
    throw new ConfigError(`mixing: an image realnvp mixes channels with "lu" (invertible 1×1 convolutions) or not at all ("none"), got "permutation"`);
  return mixing === "permutation" ? given ?? "reverse" : mixing;
}

/** The transformer a family uses when the config names none: additive for nice, affine otherwise. */
export function defaultTransformer(flow: FlowKind): TransformerKind {
  return flow === "nice" ? "additive" : "affine";
}

/**
 * The transformer fields of a normalised config: none for the family's default transformer (bins
 * and bound kept if given, validated), all three for a spline (defaults filled in).
 */
function transformerConfig(c: Record<string, unknown>, flow: FlowKind, multiScale: boolean): Pick<FlowConfig, "transformer" | "bins" | "bound"> {
  const transformer = c.transformer === undefined ? defaultTransformer(flow) : oneOf(c.transformer, TRANSFORMER_KINDS, "transformer");
  if (multiScale && transformer !== "affine")
    throw new ConfigError(`transformer: an image realnvp (multi-scale, conv conditioners) has affine couplings only, got ${JSON.stringify(transformer)}; use flow "maf" or "nice" for a ${transformer} transformer on images`);
  const bins = c.bins === undefined ? undefined : integer(c.bins, "bins", 2, MAX_SPLINE_BINS);
  const bound = c.bound === undefined ? undefined : positiveNumber(c.bound, "bound");
  if (transformer === "spline") return { transformer, bins: bins ?? DEFAULT_SPLINE_BINS, bound: bound ?? DEFAULT_SPLINE_BOUND };
  return {
    ...(transformer !== defaultTransformer(flow) ? { transformer } : {}),
    ...(bins !== undefined ? { bins } : {}),
    ...(bound !== undefined ? { bound } : {}),
  };
}

/** The elementwise transformer of a normalised config's coupling or autoregressive layers. */
export function buildTransformer(c: NormalizedFlowConfig): ElementwiseTransformer {
  switch (c.transformer ?? defaultTransformer(c.flow)) {
    case "affine":
      return new AffineTransformer({ scaleBound: c.scaleBound });
    case "additive":
      return new AdditiveTransformer();
    case "spline":
      return new SplineTransformer({ bins: c.bins, bound: c.bound });
  }
}

/** Parameters θ per transformed dimension of a normalised config's transformer (spline: 3K − 1). */
function transformerParamCount(c: { transformer?: TransformerKind; bins?: number }): number {
  return c.transformer === "spline" ? 3 * (c.bins ?? DEFAULT_SPLINE_BINS) - 1 : 2;
}

/** Largest data or context dimension of a config (2^26, as for images). */
export const MAX_DIM = 2 ** 26;
/** Most layers of a config. */
export const MAX_LAYERS = 1024;
/**
 * Most memory the parameters of a config may need in training, by `estimateTrainingBytes`: 2 GiB
 * for the parameters, their gradient and Adam's two moments, half of wasm's 4 GiB address space
 * (the other half is for activations).
 */
export const MAX_TRAINING_BYTES = 2 ** 31;
/** Most float32 parameters a config may describe (MAX_TRAINING_BYTES / (4 copies × 4 bytes); half for float64). C6, the largest reference model, has 15.2M. */
export const MAX_PARAMETERS = 2 ** 27;

/**
 * Memory of training a config's parameters, from the config alone: 4 copies (parameters, gradient,
 * Adam's first and second moments) of the `estimateParameterCount` upper estimate, at 4 bytes
 * (float32) or 8 (float64). Activations come on top (they grow with the batch).
 */
export function estimateTrainingBytes(c: Parameters<typeof estimateParameterCount>[0] & { dtype: FloatDType }): number {
  return 4 * estimateParameterCount(c) * (c.dtype === "float64" ? 8 : 4);
}

/**
 * An upper estimate of a config's parameter count from the config alone (no flow is built, nothing
 * is allocated): every conditioner counted as an MLP from dim + K inputs to P·dim outputs, P = 2
 * for affine and additive, 3·bins − 1 for a spline (a coupling reads and writes half of that), resnet conditioners as their 3×3 convolutions at the
 * widest channel count, plus the base's networks.
 */
export function estimateParameterCount(c: {
  dim: number;
  permutation?: PermutationKind;
  actnorm?: boolean;
  transformer?: TransformerKind;
  bins?: number;
  layers: number;
  hidden: readonly number[];
  contextDim: number;
  base: BaseConfig;
  conditioner: ConditionerKind;
  scales: number;
  image: readonly [number, number, number] | null;
}): number {
  const mlp = (widths: readonly number[]): number => widths.slice(1).reduce((n, w, i) => n + (widths[i]! + 1) * w, 0);
  let perLayer: number;
  let count = c.layers;
  if (c.conditioner === "resnet" && c.image) {
    const h = c.hidden[0]!;
    const channels = c.image[0] * 4 ** (c.scales - 1) + c.contextDim;
    perLayer = c.hidden.length * 2 * (9 * h * h + h) + 9 * h * (channels + 1) + 9 * h * 2 * channels + 4 * channels;
    if (c.actnorm) perLayer += 2 * channels + 1; // loc, logScale [C], initialized
    if (c.permutation === "lu") perLayer += 2 * channels * channels + channels; // 1×1 conv: lower, upper [C, C], logDiag
    count = (2 * c.layers + 1) * c.scales;
  } else {
    const P = transformerParamCount(c);
    perLayer = mlp([c.dim + c.contextDim, ...c.hidden, P * c.dim]) + P * c.dim;
    if (c.permutation === "lu") perLayer += 2 * c.dim * c.dim + 2 * c.dim; // lower, upper [D, D], logDiag, bias
    if (c.actnorm) perLayer += 2 * c.dim + 1; // loc, logScale [D], initialized
  }
  let base = 2 * c.dim;
  if (c.base.kind === "mixture-of-gaussians") base = c.base.components * (2 * c.dim + 1);
  if (c.base.kind === "conditional-diag-normal") base = mlp([c.contextDim, ...(c.base.hidden ?? DEFAULT_BASE_HIDDEN), 2 * c.dim]);
  return count * perLayer + base;
}

/** Refuses a config whose training memory estimate exceeds MAX_TRAINING_BYTES, before anything is built. */
function checkParameterEstimate(c: Parameters<typeof estimateTrainingBytes>[0]): void {
  const n = estimateParameterCount(c);
  const bytes = estimateTrainingBytes(c);
  if (bytes > MAX_TRAINING_BYTES) {
    const limit = MAX_PARAMETERS / (c.dtype === "float64" ? 2 : 1);
    throw new ConfigError(
      `config: about ${n.toExponential(2)} parameters (${c.layers} layers, hidden [${c.hidden.join(", ")}], D = ${c.dim}${c.base.kind === "mixture-of-gaussians" ? `, ${c.base.components} components` : ""}) exceed the limit of ${limit.toLocaleString("en-US")} ` +
        `${c.dtype} parameters (≈ ${formatBytes(bytes)} with the gradient and Adam's two moments; the limit is ${formatBytes(MAX_TRAINING_BYTES)}, half of wasm's 4 GiB); use fewer or narrower layers`,
    );
  }
}

/** Bytes for people: "3.2 GiB", "512 MiB", "12 KiB". */
export function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} bytes` : `${v >= 100 ? v.toFixed(0) : v.toPrecision(3)} ${units[u]}`;
}

/** An image realnvp needs H and W divisible by 2^(scales − 1) (one squeeze between scales). */
function checkScales(image: readonly [number, number, number], scales: number): void {
  const f = 2 ** (scales - 1);
  const [, H, W] = image;
  if (H % f !== 0 || W % f !== 0)
    throw new ConfigError(`scales: ${scales} scales squeeze ${scales - 1} times, so height and width must be divisible by ${f}; image [${image.join(", ")}]`);
  if ((H / f) * (W / f) < 2)
    throw new ConfigError(`scales: with ${scales} scales the last one is ${H / f}×${W / f} pixels, too small for a checkerboard coupling; use fewer scales`);
}

/**
 * Builds the flow a config describes (validating it first). Parameters are not created here:
 * `flow.init(keyFromSeed(config.seed), config.dtype)` gives the initial ones.
 */
export function build(config: FlowConfig | NormalizedFlowConfig): BuiltFlow {
  const c = normalizeConfig(config);
  return { flow: new Flow(buildBase(c), buildBijector(c)), config: c };
}

/**
 * The bijector of a normalised config: the layers of `buildLayers`, with every run of two or more
 * consecutive couplings of the same shape merged into one CouplingStack (the same function, with
 * params stacked on a layer axis: about 1.7× faster to train the C1 flow, docs/reference/ENGINE-NOTES.md "Speed"). That is
 * the whole flow for nice/realnvp without permutations and batch norm, returned as the stack
 * itself (its `layers` are the couplings); otherwise a Chain. Params paths follow the structure:
 * `bijector.net.W.0` ([L, in, out]) for a whole-flow stack, `bijector.layers.i.…` in a Chain.
 */
export function buildBijector(c: NormalizedFlowConfig): Bijector {
  const out: Bijector[] = [];
  let run: Coupling[] = [];
  const flush = (): void => {
    if (run.length >= 2) out.push(new CouplingStack(run));
    else out.push(...run);
    run = [];
  };
  for (const layer of buildLayers(c)) {
    if (layer instanceof Coupling) {
      if (run.length > 0 && CouplingStack.mismatch(run[0]!, layer) !== undefined) flush();
      run.push(layer);
    } else {
      flush();
      out.push(layer);
    }
  }
  flush();
  return out.length === 1 && out[0] instanceof CouplingStack ? out[0] : new Chain(out);
}

/** The base density of a normalised config. */
export function buildBase(c: NormalizedFlowConfig): Distribution {
  const b = c.base;
  switch (b.kind) {
    case "standard-normal":
      return new StandardNormal(c.dim);
    case "diag-normal":
      return new DiagNormal(c.dim);
    case "conditional-diag-normal":
      return new ConditionalDiagNormal({
        dim: c.dim,
        contextDim: c.contextDim,
        hidden: b.hidden ?? DEFAULT_BASE_HIDDEN,
        activation: c.activation,
      });
    case "mixture-of-gaussians":
      return new MixtureOfGaussians(c.dim, b.components);
    case "uniform":
      return new UniformBox(b.low, b.high);
    case "standard-logistic":
      return new StandardLogistic(c.dim);
  }
}

/** The bijector layers of a normalised config, in forward (z → x) order. */
export function buildLayers(c: NormalizedFlowConfig): Bijector[] {
  const layers = c.image !== null && c.flow === "realnvp" ? multiScaleLayers(c, c.image, 0) : vectorLayers(c);
  // the logit preprocessing touches the data: last in forward order; its inverse is x → logit(α + (1 − 2α)x)
  if (c.logit !== null) layers.push(new Invert(new Logit({ dim: c.dim, alpha: c.logit })));
  return layers;
}

/**
 * RealNVP's multi-scale architecture on images [C, H, W], in forward (z → x) order, from scale
 * `s` down. The normalising direction (data → noise) meets, at a scale before the last:
 * `layers` checkerboard couplings (parities 0, 1, 0, …), a squeeze, `layers` channel couplings
 * (parities 0, 1, 0, …) and a factor-out whose inner flow is the next scale on the kept half;
 * at the last scale `layers + 1` checkerboard couplings. The list is built in that order and
 * reversed.
 */
function multiScaleLayers(c: NormalizedFlowConfig, shape: ImageShape, s: number): Bijector[] {
  const normalising: Bijector[] = [];
  // batchNorm: a batch normalisation (per dimension, i.e. per channel and pixel) after every
  // coupling but the last of a group, as the vector families put it between layers
  // Glow's step (normalising order): [actnorm] → [1×1 conv] → coupling. A 1×1 conv (mixing "lu")
  // goes where there are ≥ 2 channels; it does the channel mixing that the alternating parity of
  // channel couplings did, so those keep parity 0 (as vector couplings keep their mask with a
  // permutation). Checkerboard couplings still alternate: a 1×1 conv moves no pixel.
  const couplings = (sh: ImageShape, mask: "checkerboard" | "channel", count: number): void => {
    const conv = c.permutation === "lu" && sh[0] >= 2;
    for (let i = 0; i < count; i++) {
      if (i > 0 && c.batchNorm) normalising.push(new BatchNorm({ dim: imageSize(sh) }));
      if (c.actnorm) normalising.push(new ActNorm({ shape: sh }));
      if (conv) normalising.push(new Conv1x1({ shape: sh }));
      const parity = (mask === "channel" && conv ? 0 : i % 2) as 0 | 1;
      normalising.push(
        new ImageAffineCoupling({ shape: sh, mask, parity, width: c.hidden[0]!, blocks: c.hidden.length, contextDim: c.contextDim }),
      );
    }
  };
  if (s === c.scales - 1) {
    couplings(shape, "checkerboard", c.layers + 1);
  } else {
    couplings(shape, "checkerboard", c.layers);
    const squeeze = new Squeeze({ shape });
    normalising.push(squeeze);
    const sq = squeeze.outShape;
    couplings(sq, "channel", c.layers);
    const kept: ImageShape = [sq[0] / 2, sq[1], sq[2]];
    const inner = multiScaleLayers(c, kept, s + 1);
    normalising.push(new FactorOut({ shape: sq, inner: inner.length === 1 ? inner[0]! : new Chain(inner) }));
  }
  return normalising.reverse();
}

/** The layers of the vector families (and of nice/maf/iaf on flattened images), in forward order. */
function vectorLayers(c: NormalizedFlowConfig): Bijector[] {
  const D = c.dim;
  const common = { dim: D, hidden: c.hidden, activation: c.activation, contextDim: c.contextDim };
  // Images: parities counted from the data side (the first layer the data meets is unflipped), as
  // in the NICE and RealNVP papers; vectors keep the forward-order count of the earlier releases.
  const flip = (l: number): boolean => c.permutation === "none" && (c.image !== null ? c.layers - 1 - l : l) % 2 === 1;
  const transformer = c.transformer ?? defaultTransformer(c.flow);
  const main = (l: number): Bijector => {
    switch (c.flow) {
      case "nice":
      case "realnvp": {
        const mask = couplingMask(D, c.mask, flip(l));
        if (transformer === "additive") return new AdditiveCoupling({ ...common, mask });
        if (transformer === "spline") return new SplineCoupling({ ...common, mask, bins: c.bins, bound: c.bound });
        return new AffineCoupling({ ...common, mask, scaleBound: c.scaleBound });
      }
      case "maf":
        return new MaskedAutoregressive({ ...common, transformer: buildTransformer(c) });
      case "iaf":
        return new InverseAutoregressive({ ...common, transformer: buildTransformer(c) });
    }
  };
  const out: Bijector[] = [];
  if (c.rescale) out.push(new Rescale({ dim: D }));
  for (let l = 0; l < c.layers; l++) {
    if (l > 0) {
      // A permutation of one coordinate is the identity: left out.
      if (c.permutation === "reverse" && D > 1) out.push(Permutation.reverse(D));
      if (c.permutation === "random" && D > 1) out.push(Permutation.random(D, (c.seed + l) >>> 0));
      // a trainable LU linear map (Glow's mixing on vectors) that starts as the reverse permutation
      if (c.permutation === "lu" && D > 1) out.push(new Linear({ dim: D, permutation: Array.from({ length: D }, (_, i) => D - 1 - i) }));
      if (c.batchNorm) out.push(new BatchNorm({ dim: D }));
    }
    // Glow's step in the normalising direction: actnorm → mixing → layer (an ActNorm also where the
    // data enter, before the last layer of this forward-order list)
    if (c.actnorm && l > 0) out.push(new ActNorm({ dim: D }));
    out.push(main(l));
  }
  if (c.actnorm) out.push(new ActNorm({ dim: D }));
  return out;
}

/**
 * A short human-readable summary of a config (for `nflow info`), e.g.
 *   maf, D = 2: 5 × masked-autoregressive (hidden [64, 64], relu, log-scale bound 3)
 *     between layers: reverse permutation, batch norm
 *     base: standard-normal; unconditional; float32
 *     sampling: sequential (D passes per layer); density: parallel
 */
export function describe(config: FlowConfig | NormalizedFlowConfig): string {
  const c = normalizeConfig(config);
  const { flow } = build(c);
  const transformer = c.transformer ?? defaultTransformer(c.flow);
  const coupling = c.flow === "nice" || c.flow === "realnvp";
  const kind = coupling ? `${transformer}-coupling` : c.flow === "maf" ? "masked-autoregressive" : "inverse-autoregressive";
  const details = [`hidden [${c.hidden.join(", ")}]`, c.activation];
  if (coupling) details.push(`${c.mask} mask${c.permutation === "none" ? ", flipped every layer" : ""}`);
  if (transformer === "affine") details.push(`log-scale bound ${c.scaleBound}`);
  if (transformer === "spline") details.push(`rational-quadratic spline, ${c.bins} bins on [−${c.bound}, ${c.bound}], identity outside`);
  if (transformer === "additive" && !coupling) details.push("additive (volume preserving)");
  const between = [
    ...(c.permutation !== "none" && !multiScaleImage(c) ? [c.permutation === "lu" ? "LU linear mixing (trainable)" : `${c.permutation} permutation`] : []),
    ...(c.batchNorm ? ["batch norm"] : []),
  ];
  const glow = multiScaleImage(c)
    ? [...(c.actnorm ? ["actnorm (per channel, data-initialised)"] : []), ...(c.permutation === "lu" ? ["invertible 1×1 convolution (LU) on ≥ 2 channels"] : [])]
    : c.actnorm
      ? ["actnorm (per dimension, data-initialised)"]
      : [];
  const b = c.base;
  const base =
    b.kind === "mixture-of-gaussians"
      ? `mixture-of-gaussians (${b.components} components)`
      : b.kind === "uniform"
        ? `uniform on [${b.low.join(", ")}]–[${b.high.join(", ")}]`
        : b.kind === "conditional-diag-normal"
          ? `conditional-diag-normal (hidden [${(b.hidden ?? DEFAULT_BASE_HIDDEN).join(", ")}], ${c.activation})`
          : b.kind;
  const multiScale = c.image !== null && c.flow === "realnvp";
  const head = multiScale
    ? `realnvp, images [${c.image!.join(", ")}]: ${c.scales} scales of ${c.layers} checkerboard + squeeze + ${c.layers} channel affine couplings and a factor-out of half the channels, ${c.layers + 1} checkerboard couplings at the last scale (resnet conditioners: ${c.hidden.length} residual blocks of ${c.hidden[0]} feature maps, w·tanh log-scales)`
    : `${c.flow}, D = ${c.dim}${c.image ? ` (images [${c.image.join(", ")}] flattened)` : ""}: ${c.layers} × ${kind} (${details.join(", ")})`;
  const lines = [
    head,
    ...(between.length && c.layers > 1 ? [`  between layers: ${between.join(", ")}`] : []),
    ...(glow.length ? [`  before every ${multiScale ? "coupling" : "layer"} (normalising direction): ${glow.join(", ")}`] : []),
    ...(c.rescale ? ["  rescale (diagonal scaling) at the base end"] : []),
    ...(c.logit !== null ? [`  logit preprocessing at the data end: y = logit(${c.logit} + (1 − 2·${c.logit})·x), its log-det in log p(x)`] : []),
    `  base: ${base}; ${c.contextDim ? `conditional (context size ${c.contextDim})` : "unconditional"}; ${c.dtype}`,
    `  sampling: ${passText(flow.bijector.forwardPass)}; density: ${passText(flow.bijector.inversePass)}`,
  ];
  return lines.join("\n");
}

function multiScaleImage(c: NormalizedFlowConfig): boolean {
  return c.image !== null && c.flow === "realnvp";
}

function passText(kind: "parallel" | "sequential"): string {
  return kind === "parallel" ? "parallel" : "sequential (D passes per layer)";
}

// ---- field validators: each names the field, the expected value and the given one ----

function show(v: unknown): string {
  if (v === undefined) return "undefined";
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  return JSON.stringify(v) ?? String(v);
}

function asObject(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new ConfigError(`${field}: expected an object, got ${Array.isArray(v) ? "an array" : show(v)}`);
  return v as Record<string, unknown>;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], field: string): T {
  if (typeof v === "string" && (allowed as readonly string[]).includes(v)) return v as T;
  throw new ConfigError(`${field}: expected one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${show(v)}`);
}

function integer(v: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max) return v;
  const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in ${min}..${max}`;
  throw new ConfigError(`${field}: expected an integer ${range}, got ${show(v)}`);
}

/** A size cap, checked before anything is built: "layers: at most 1024, got 1000000". */
function atMost(v: number, field: string, max: number): number {
  if (v <= max) return v;
  throw new ConfigError(`${field}: at most ${max.toLocaleString("en-US")}, got ${v.toLocaleString("en-US")}`);
}

function positiveNumber(v: unknown, field: string): number {
  if (typeof v === "number" && Number.isFinite(v) && v > 0) return v;
  throw new ConfigError(`${field}: expected a finite number > 0, got ${show(v)}`);
}

function boolean(v: unknown, field: string): boolean {
  if (typeof v === "boolean") return v;
  throw new ConfigError(`${field}: expected true or false, got ${show(v)}`);
}

function hiddenSizes(v: unknown): number[] {
  if (!Array.isArray(v) || v.length === 0)
    throw new ConfigError(`hidden: expected a non-empty array of positive integers (hidden layer widths), got ${show(v)}`);
  v.forEach((h, i) => integer(h, `hidden[${i}]`, 1));
  return v.slice() as number[];
}

function imageShapeField(v: unknown): [number, number, number] {
  return checkImageShape(v, "image").slice() as [number, number, number];
}

function logitAlpha(v: unknown): number {
  if (typeof v === "number" && v >= 0 && v < 0.5) return v;
  throw new ConfigError(`logit: expected null (no logit layer) or α, a number in [0, 0.5), got ${show(v)}`);
}

function finiteArray(v: unknown, field: string, length: number): number[] {
  if (!Array.isArray(v) || v.length !== length || v.some((x) => typeof x !== "number" || !Number.isFinite(x)))
    throw new ConfigError(`${field}: expected an array of ${length} finite numbers (one per dimension), got ${show(v)}`);
  return v.slice() as number[];
}

function baseConfig(v: unknown, dim: number, contextDim: number): BaseConfig {
  if (v === undefined) return { kind: "standard-normal" };
  const b = asObject(v, "base");
  const kind = oneOf(b.kind, BASE_KINDS, "base.kind");
  switch (kind) {
    case "standard-normal":
    case "diag-normal":
    case "standard-logistic":
      rejectUnknownKeys(b, ["kind"], "base");
      return { kind };
    case "conditional-diag-normal": {
      rejectUnknownKeys(b, ["kind", "hidden"], "base");
      if (contextDim < 1)
        throw new ConfigError(`base.kind: "conditional-diag-normal" needs a conditional flow (contextDim ≥ 1), got contextDim ${contextDim}`);
      if (b.hidden === undefined) return { kind, hidden: DEFAULT_BASE_HIDDEN.slice() };
      if (!Array.isArray(b.hidden))
        throw new ConfigError(`base.hidden: expected an array of positive integers (hidden layer widths), got ${show(b.hidden)}`);
      b.hidden.forEach((h, i) => integer(h, `base.hidden[${i}]`, 1));
      return { kind, hidden: b.hidden.slice() as number[] };
    }
    case "mixture-of-gaussians":
      rejectUnknownKeys(b, ["kind", "components"], "base");
      return { kind, components: integer(b.components, "base.components", 1) };
    case "uniform": {
      rejectUnknownKeys(b, ["kind", "low", "high"], "base");
      const low = finiteArray(b.low, "base.low", dim);
      const high = finiteArray(b.high, "base.high", dim);
      low.forEach((lo, d) => {
        if (!(high[d]! > lo))
          throw new ConfigError(`base.high: expected base.high[${d}] > base.low[${d}] = ${lo}, got ${high[d]}`);
      });
      return { kind, low, high };
    }
  }
}

/** Type guard for flow kinds (for CLI flag parsing). */
export function isFlowKind(v: unknown): v is FlowKind {
  return typeof v === "string" && (FLOW_KINDS as readonly string[]).includes(v);
}
