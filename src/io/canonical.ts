/**
 * Canonical tensor names and layer descriptions of the model file (format version 2,
 * docs/model-format.md §1–2): the ONE place that maps the in-memory params tree of a flow to the
 * tensors a file stores, and back, exactly (values are copied, never recomputed).
 *
 * In memory the library may hold several couplings as one CouplingStack whose conditioner params
 * carry a leading layer axis [L, …] (bijectors/coupling-stack.ts), and Chain indices count those
 * stacks as one layer. The file instead names every tensor after its place in the MATHEMATICAL
 * layer list (forward order, every layer counted, parameter-free ones included):
 *     base.<name>                      the base density's params
 *     layers.<i>.<name>                layer i; a factor-out's inner flow nests as layers.<i>.layers.<j>.…
 * with per-kind names (conditioner.linear<m>.weight [in, out], made.shift.weight [H, D], …), so
 * the file describes the model, not the implementation. `describeFlow` gives the same list as
 * plain JSON (masks, permutation orders, MADE degrees, …), stored as the `layers` metadata.
 *
 * Anything this module does not know (a custom bijector such as FixedLinear, an Invert of
 * anything but the logit layer, a transformer other than affine/additive/spline) cannot be described,
 * and saving it is refused (UndescribableFlowError) instead of writing a file that never loads.
 */
import { ConfigError } from "../engine/errors.js";
import type { Bijector } from "../bijectors/bijector.js";
import { Chain } from "../bijectors/chain.js";
import { Coupling } from "../bijectors/coupling.js";
import { CouplingStack } from "../bijectors/coupling-stack.js";
import { Autoregressive } from "../bijectors/autoregressive.js";
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
import { AffineTransformer } from "../bijectors/transformers/affine.js";
import { AdditiveTransformer } from "../bijectors/transformers/additive.js";
import { SplineTransformer } from "../bijectors/transformers/spline.js";
import { resnetLayerChannels } from "../nn/resnet.js";
import type { Distribution } from "../distributions/distribution.js";
import type { Flow } from "../distributions/flow.js";
import { StandardNormal } from "../distributions/standard-normal.js";
import { StandardLogistic } from "../distributions/standard-logistic.js";
import { DiagNormal } from "../distributions/diag-normal.js";
import { ConditionalDiagNormal } from "../distributions/conditional-diag-normal.js";
import { MixtureOfGaussians } from "../distributions/mixture-of-gaussians.js";
import { UniformBox } from "../distributions/uniform-box.js";

/** A flow (or a part of one) that the model file cannot describe. */
export class UndescribableFlowError extends ConfigError {}

/** One layer of the `layers` metadata: its kind and what is needed to apply it besides its tensors. */
export type LayerDescription = { kind: string } & Record<string, unknown>;

/** The whole flow as plain JSON: the base density and the layers in forward (z → x) order. */
export interface FlowDescription {
  base: Record<string, unknown>;
  layers: LayerDescription[];
}

/**
 * One in-memory params leaf and the canonical tensor(s) it holds: one name, or, for a leaf of a
 * CouplingStack ([L, …]), one name per stacked layer (slice l of the leading axis).
 */
export interface CanonicalEntry {
  /** Dotted path in the params tree (engine/tree.ts treePaths). */
  memPath: string;
  /** Canonical tensor names; more than one iff the leaf is stacked on a leading layer axis. */
  names: string[];
  stacked: boolean;
}

/** A layer as it sits in memory: the (unstacked) bijector, its params path, its slice of a stack. */
interface Slot {
  bijector: Bijector;
  mem: string;
  stackIndex?: number;
}

/** The mathematical layers of a bijector in forward order (stacks and nested chains unfolded). */
function slots(b: Bijector, mem: string): Slot[] {
  if (b instanceof CouplingStack) return b.layers.map((layer, l) => ({ bijector: layer, mem, stackIndex: l }));
  if (b instanceof Chain) return b.layers.flatMap((layer, i) => slots(layer, `${mem}.layers.${i}`));
  return [{ bijector: b, mem }];
}

/** An MLP's params renamed: W.m / b.m → <prefix>.linear<m>.weight / .bias (m = 0..count−1). */
function mlpNames(mem: string, canon: string, count: number, word = "linear"): [string, string][] {
  const out: [string, string][] = [];
  for (let m = 0; m < count; m++) {
    out.push([`${mem}.W.${m}`, `${canon}.${word}${m}.weight`]);
    out.push([`${mem}.b.${m}`, `${canon}.${word}${m}.bias`]);
  }
  return out;
}

function undescribable(what: string): UndescribableFlowError {
  return new UndescribableFlowError(
    `model file: cannot save this flow: ${what} cannot be described by a model file config; only flows built from a config (fit, build, nflow train) can be saved`,
  );
}

/** What a file needs to apply a spline transformer (docs/model-format.md, spline layers). */
function splineFields(t: SplineTransformer): Record<string, number> {
  return { bins: t.bins, bound: t.bound, minBinWidth: t.minBinWidth, minBinHeight: t.minBinHeight, minDerivative: t.minDerivative };
}

/**
 * A MADE's output heads by transformer, in θ order: affine [shift, logScale], additive [shift],
 * spline [width0 … width{K−1}, height0 … height{K−1}, derivative1 … derivative{K−1}] (bin logits,
 * then the raw derivatives at the interior knots 1..K−1). Undefined for a transformer a file cannot hold.
 */
function madeHeads(t: Autoregressive["transformer"]): { heads: string[]; fields: Record<string, unknown> } | undefined {
  if (t instanceof AffineTransformer && Number.isFinite(t.scaleBound)) return { heads: ["shift", "logScale"], fields: { scaleBound: t.scaleBound } };
  if (t instanceof AdditiveTransformer) return { heads: ["shift"], fields: { transformer: "additive" } };
  if (t instanceof SplineTransformer) {
    const K = t.bins;
    const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => i + from);
    const heads = [...range(K).map((k) => `width${k}`), ...range(K).map((k) => `height${k}`), ...range(K - 1, 1).map((k) => `derivative${k}`)];
    return { heads, fields: { transformer: "spline", ...splineFields(t) } };
  }
  return undefined;
}

/** [description, (memSubpath, canonicalSubpath) pairs] of one leaf layer. */
function describeLayer(b: Bijector): [LayerDescription, [string, string][]] {
  if (b instanceof Coupling) {
    const t = b.transformer;
    const common = { mask: b.mask.map((m) => (m ? 1 : 0)), hidden: b.hidden.slice(), activation: b.activation };
    const names = mlpNames("net", "conditioner", b.hidden.length + 1);
    if (t instanceof AffineTransformer && b.kind === "affine-coupling" && Number.isFinite(t.scaleBound))
      return [{ kind: "affine-coupling", ...common, scaleBound: t.scaleBound }, names];
    if (t instanceof AdditiveTransformer && b.kind === "additive-coupling") return [{ kind: "additive-coupling", ...common }, names];
    if (t instanceof SplineTransformer && b.kind === "spline-coupling") return [{ kind: "spline-coupling", ...common, ...splineFields(t) }, names];
    throw undescribable(`a ${b.kind} layer with a ${t.kind} transformer`);
  }
  if (b instanceof Autoregressive) {
    const t = b.transformer;
    const heads = madeHeads(t);
    if (heads === undefined || (b.kind !== "masked-autoregressive" && b.kind !== "inverse-autoregressive"))
      throw undescribable(`a ${b.kind} layer with a ${t.kind} transformer`);
    const s = b.made;
    const names = mlpNames("made", "made", s.hidden.length);
    if (s.contextDim > 0) names.push(["made.Wc", "made.context.weight"]);
    heads.heads.forEach((head, h) => {
      names.push([`made.heads.W.${h}`, `made.${head}.weight`], [`made.heads.b.${h}`, `made.${head}.bias`]);
    });
    return [
      {
        kind: b.kind,
        degrees: s.order.slice(),
        hiddenDegrees: s.hiddenDegrees.map((d) => d.slice()),
        activation: s.activation,
        ...heads.fields,
      },
      names,
    ];
  }
  if (b instanceof Permutation) return [{ kind: "permutation", order: b.order.slice() }, []];
  if (b instanceof Linear) return [{ kind: "linear", permutation: b.permutation.slice() }, ["lower", "upper", "logDiag", "bias"].map((n) => [n, n])];
  if (b instanceof ActNorm)
    return [{ kind: "actnorm", shape: b.shape ? b.shape.slice() : null }, ["loc", "logScale", "initialized"].map((n) => [n, n])];
  if (b instanceof Conv1x1)
    return [{ kind: "conv1x1", shape: b.shape.slice(), permutation: b.permutation.slice() }, ["lower", "upper", "logDiag"].map((n) => [n, n])];
  if (b instanceof BatchNorm)
    return [{ kind: "batch-norm", eps: b.eps }, ["logGamma", "beta", "runningMean", "runningVar"].map((n) => [n, n])];
  if (b instanceof Rescale) return [{ kind: "rescale" }, [["logScale", "logScale"]]];
  if (b instanceof ImageAffineCoupling) {
    const convs = resnetLayerChannels(b.net);
    const [width, blocks] = [convs[0]![1], (convs.length - 2) / 2];
    return [
      { kind: "image-affine-coupling", shape: b.shape.slice(), mask: b.mask, parity: b.parity, width, blocks },
      [...mlpNames("net", "conditioner", convs.length, "conv"), ["scale", "scale"]],
    ];
  }
  if (b instanceof Squeeze) return [{ kind: "squeeze", shape: b.shape.slice() }, []];
  if (b instanceof Invert && b.bijector instanceof Logit) return [{ kind: "logit", alpha: b.bijector.alpha }, []];
  throw undescribable(`a ${b.kind}${b instanceof Invert ? ` of ${(b.bijector as Bijector).kind}` : ""} layer`);
}

/** Walks a layer list: descriptions, and the canonical entries of every params leaf. */
function walk(list: Slot[], canonPrefix: string, entries: Map<string, CanonicalEntry>): LayerDescription[] {
  return list.map((slot, i) => {
    const canon = `${canonPrefix}layers.${i}`;
    const b = slot.bijector;
    if (b instanceof FactorOut) {
      const inner = walk(slots(b.inner, `${slot.mem}.inner`), `${canon}.`, entries);
      return { kind: "factor-out", shape: b.shape.slice(), layers: inner };
    }
    const [description, names] = describeLayer(b);
    for (const [memSub, canonSub] of names) {
      const memPath = `${slot.mem}.${memSub}`;
      const name = `${canon}.${canonSub}`;
      if (slot.stackIndex === undefined) entries.set(memPath, { memPath, names: [name], stacked: false });
      else {
        const entry = entries.get(memPath) ?? { memPath, names: [], stacked: true };
        entry.names[slot.stackIndex] = name;
        entries.set(memPath, entry);
      }
    }
    return description;
  });
}

/** The base density as JSON, and its params' canonical names. */
function describeBase(d: Distribution): [Record<string, unknown>, [string, string][]] {
  const common = { dim: d.dim, contextDim: d.contextDim };
  if (d instanceof StandardNormal) return [{ kind: "standard-normal", ...common }, []];
  if (d instanceof StandardLogistic) return [{ kind: "standard-logistic", ...common }, []];
  if (d instanceof UniformBox) return [{ kind: "uniform", ...common, low: d.low.slice(), high: d.high.slice() }, []];
  if (d instanceof DiagNormal) return [{ kind: "diag-normal", ...common }, [["mean", "mean"], ["logStd", "logStd"]]];
  if (d instanceof MixtureOfGaussians)
    return [{ kind: "mixture-of-gaussians", ...common, components: d.components }, ["logits", "means", "logStds"].map((n) => [n, n])];
  if (d instanceof ConditionalDiagNormal)
    return [
      { kind: "conditional-diag-normal", ...common, hidden: d.hidden.slice(), activation: d.activation },
      mlpNames("net", "conditioner", d.hidden.length + 1),
    ];
  throw undescribable(`a ${d.kind} base density`);
}

/**
 * The flow's description (base and forward-order layers) and the canonical entry of every params
 * leaf, keyed by its in-memory path. Throws UndescribableFlowError for a flow the file cannot hold.
 */
export function canonicalLayout(flow: Flow): { description: FlowDescription; entries: Map<string, CanonicalEntry> } {
  const entries = new Map<string, CanonicalEntry>();
  const [base, baseNames] = describeBase(flow.base);
  for (const [memSub, canonSub] of baseNames) entries.set(`base.${memSub}`, { memPath: `base.${memSub}`, names: [`base.${canonSub}`], stacked: false });
  const layers = walk(slots(flow.bijector, "bijector"), "", entries);
  return { description: { base, layers }, entries };
}

/** A host tensor: shape and row-major values. */
export interface HostTensor {
  shape: number[];
  data: Float32Array | Float64Array;
}

/**
 * In-memory params (host copies by path, engine/tree.ts treeToHost) → canonical tensors, in the
 * layout's order. The leaves must be exactly those of the layout (else UndescribableFlowError).
 * Stacked leaves are cut along their leading axis (views, no copies).
 */
export function toCanonical(flow: Flow, host: Record<string, HostTensor>): [string, HostTensor][] {
  const { entries } = canonicalLayout(flow);
  for (const path of Object.keys(host))
    if (!entries.has(path)) throw undescribable(`the parameter ${path}`);
  const out: [string, HostTensor][] = [];
  for (const entry of entries.values()) {
    const leaf = host[entry.memPath];
    if (!leaf) throw undescribable(`a flow without its parameter ${entry.memPath}`);
    if (!entry.stacked) {
      out.push([entry.names[0]!, leaf]);
      continue;
    }
    const L = entry.names.length;
    if (leaf.shape[0] !== L) throw undescribable(`the stacked parameter ${entry.memPath} of shape [${leaf.shape.join(", ")}] (expected ${L} layers)`);
    const size = leaf.data.length / L;
    entry.names.forEach((name, l) => out.push([name, { shape: leaf.shape.slice(1), data: leaf.data.subarray(l * size, (l + 1) * size) }]));
  }
  return out;
}

/**
 * Canonical tensors → the data of every in-memory leaf, given the expected in-memory shapes
 * (from a fresh init of the same config). Returns the leaves by path, or the first problem as a
 * sentence (a missing, misshapen or unexpected tensor). Stacked leaves are concatenated.
 */
export function fromCanonical(
  flow: Flow,
  shapes: Map<string, readonly number[]>,
  tensors: Map<string, HostTensor>,
): { leaves: Map<string, Float32Array | Float64Array> } | { problem: string } {
  const { entries } = canonicalLayout(flow);
  const leaves = new Map<string, Float32Array | Float64Array>();
  const used = new Set<string>();
  for (const [memPath, shape] of shapes) {
    const entry = entries.get(memPath);
    if (!entry) return { problem: `the stored config builds a parameter ${memPath} that has no canonical name` };
    const partShape = entry.stacked ? shape.slice(1) : shape.slice();
    const parts: (Float32Array | Float64Array)[] = [];
    for (const name of entry.names) {
      const t = tensors.get(name);
      if (!t) return { problem: `tensor ${name} is missing (the file does not match its config)` };
      if (t.shape.length !== partShape.length || t.shape.some((d, j) => d !== partShape[j]))
        return { problem: `tensor ${name} has shape [${t.shape.join(", ")}], the config needs [${partShape.join(", ")}]` };
      parts.push(t.data);
      used.add(name);
    }
    if (parts.length === 1) leaves.set(memPath, parts[0]!);
    else {
      const out = new (parts[0] instanceof Float64Array ? Float64Array : Float32Array)(parts.reduce((n, p) => n + p.length, 0));
      let offset = 0;
      for (const p of parts) {
        out.set(p, offset);
        offset += p.length;
      }
      leaves.set(memPath, out);
    }
  }
  for (const name of tensors.keys()) if (!used.has(name)) return { problem: `unexpected tensor ${name} (not a parameter of the stored config)` };
  return { leaves };
}
