/**
 * The exactness check of a whole flow or a trained model: everything `checkBijector` checks on
 * its bijection (at points z drawn from the flow's own base, x = f(z)), and besides
 *  - triangular Jacobians of every autoregressive layer inside a chain, at that layer's input;
 *  - the two roads to log p agree: log p_base(z) − log|det J_f(z)| (sampling) equals
 *    log p_base(g(x)) + log|det J_g(x)| (density) at x = f(z);
 *  - 2-D flows: ∫ p = 1 by the midpoint rule on a grid over the samples' extent;
 *  - a FlowModel: its plain-numbers `logProb` in data units equals the flow's float64 density
 *    minus Σ log σ_d of the standardisation.
 * Float32 models are checked on a float64 copy of their params (the Flow object does not depend on
 * the dtype), so the figures measure the mathematics, not float32 rounding.
 *
 * Large D (images): the round trips, log-det sum and density roads run at D = 784 as they are;
 * the full autodiff Jacobian is one JVP per column (784) through the parallel direction, a few
 * seconds for MLP/MADE conditioners. Through residual conv conditioners it takes minutes, so for
 * such flows the Jacobian checks run on the SAME architecture rebuilt at a small image size
 * (8 × 8 pixels for two scales) with the model's own conv weights (conv weights do not depend on
 * H and W), or on random params when a layer's params do depend on the image size.
 */
import { defaultDevice, jit, type Array } from "../engine/jax.js";
import { fromValues, type FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import { hostRng, keyFromSeed } from "../engine/random.js";
import { disposeTree, refTree, treeLeaves, treePaths, type Params } from "../engine/tree.js";
import type { Bijector } from "../bijectors/bijector.js";
import { Chain, type ChainParams } from "../bijectors/chain.js";
import { Autoregressive } from "../bijectors/autoregressive.js";
import type { Flow, FlowParams } from "../distributions/flow.js";
import { build } from "../flows/build.js";
import { FlowModel } from "../model/model.js";
import { checkBijectorAt, resolveOptions, SMALL_DIM, triangularChecks, type BijectorCheckOptions, type ResolvedBijectorCheck } from "./check-bijector.js";
import { maxAbs } from "./linear-algebra.js";
import { castParams, paramsDType, perturbParams } from "./params.js";
import { entry, skipped, type CheckEntry, type CheckReport } from "./report.js";

/** Options of `checkFlow` (every one has a default). */
export interface FlowCheckOptions
  extends Pick<BijectorCheckOptions, "dtype" | "device" | "seed" | "points" | "jacobianPoints" | "jacobianDirections" | "triangularColumns" | "tolerances" | "perturbScale"> {
  /** Params of a Flow (not consumed); without them, random ones. Ignored for a FlowModel (it has its own). */
  params?: FlowParams;
  /** Context of a conditional flow, in the flow's (standardised) units: one row or one per point. Default N(0, 1) rows. */
  context?: readonly number[] | readonly (readonly number[])[];
  /**
   * The autodiff Jacobian checks: "auto" (default) computes them on the flow itself unless it has
   * conv conditioners and D > 64 (then on the small-image proxy, see the module doc); "full"
   * always on the flow itself; "none" skips them.
   */
  jacobian?: "auto" | "full" | "none";
  /** Grid points per axis of the 2-D integral. Default 400. */
  gridPoints?: number;
  /** Whether a 2-D flow's density is integrated over a grid. Default true. */
  integral?: boolean;
}

/**
 * Checks a flow (random params unless `options.params`) or a trained `FlowModel` (its own params,
 * cast to float64) against the mathematics and returns every figure with its tolerance. Never
 * throws on a failed check: read `report.pass`.
 *
 * @example
 * ```ts
 * const model = await loadModel("moons.nflow");
 * const report = checkFlow(model);
 * console.log(formatReport(report).join("\n"), report.pass);
 * ```
 */
export function checkFlow(subject: Flow | FlowModel, options: FlowCheckOptions = {}): CheckReport {
  const start = Date.now();
  const model = subject instanceof FlowModel ? subject : undefined;
  const flow = model ? model.flow : (subject as Flow);
  const dtype = options.dtype ?? "float64";
  const seed = options.seed ?? 1;
  const previous = defaultDevice();
  if (options.device) defaultDevice(options.device);
  const device = String(defaultDevice());
  try {
    const D = flow.dim;
    const K = flow.contextDim;
    const given = model ? model.params : options.params;
    const p: FlowParams = given ? castParams(given, dtype) : randomFlowParams(flow, dtype, seed, options.perturbScale ?? 0.3);
    const rng = hostRng(seed + 7);
    const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
    const n = options.points ?? (D <= SMALL_DIM ? 16 : 4);
    const context = K > 0 ? contextRows(options.context, n, K, gauss) : undefined;
    const ctx = (rows = n) => (context ? fromValues(context.slice(0, rows).flat(), [rows, K], dtype) : undefined);

    const conv = hasConv(flow.bijector);
    const mode = options.jacobian ?? "auto";
    const proxy = mode === "auto" && conv && D > SMALL_DIM;
    const resolved = resolveOptions(flow.bijector, { ...options, ...(mode === "none" || proxy ? { jacobianPoints: 0 } : {}) }, dtype, seed);

    // z from the flow's own base (at the context), x = f(z)
    const z = toRows(flow.base.sample(refTree(p.base), keyFromSeed(seed + 3), n, flow.base.contextDim ? ctx() : undefined, { dtype }).dataSync() as ArrayLike<number>, n, D);
    const r = checkBijectorAt(flow.bijector, p.bijector, z, context, resolved);
    const checks: CheckEntry[] = r.checks.map((c) =>
      c.id.startsWith("log-det-jacobian") && proxy ? { ...c, note: `on the small-image proxy below (${D} JVPs through conv conditioners take minutes)` } : c,
    );
    if (flow.bijector instanceof Chain && mode !== "none") checks.push(...layerChecks(flow.bijector, p.bijector as ChainParams, z[0]!, r.x[0]!, context?.[0], resolved, "layers"));
    checks.push(logProbPaths(flow, p, seed, n, ctx, resolved));
    if (D === 2 && options.integral === false) checks.push(skipped("integral", "|∫ p(x) dx − 1| on a grid", "not asked for (integral: false)"));
    else if (D === 2) checks.push(integral(flow, p, seed, context?.[0], resolved, options.gridPoints ?? 400));
    else checks.push(skipped("integral", "|∫ p(x) dx − 1| on a grid", `D = ${D}: a grid integral is only done for 2-D flows`));
    if (model) checks.push(modelLogProb(model, p, r.x, context, dtype));
    if (proxy) checks.push(...proxyChecks(flow, model, p, seed, resolved, options));
    disposeTree(p);
    return {
      subject: model ? `model (${model.config.flow}${model.config.image ? `, image [${model.config.image.join(", ")}]` : ""})` : `flow (${flow.bijector.kind})`,
      dim: D,
      contextDim: K,
      dtype,
      paramsDType: given ? paramsDType(given, dtype) : dtype,
      device,
      seed,
      randomParams: !given,
      pass: checks.every((c) => c.status !== "fail"),
      checks,
      points: { z, x: r.x, context: context ?? null },
      seconds: (Date.now() - start) / 1000,
    };
  } finally {
    if (options.device) defaultDevice(previous);
  }
}

/** Random params of a flow: init, every leaf perturbed except the state (batch-norm running statistics). */
export function randomFlowParams(flow: Flow, dtype: FloatDType, seed: number, scale = 0.3): FlowParams {
  return perturbParams(flow.init(keyFromSeed(seed), dtype), seed + 1000, scale, (path) => flow.stateLeaves.includes(path));
}

function contextRows(given: FlowCheckOptions["context"], n: number, K: number, gauss: () => number): number[][] {
  if (given === undefined) return globalThis.Array.from({ length: n }, () => globalThis.Array.from({ length: K }, gauss));
  const rows = typeof given[0] === "number" ? globalThis.Array.from({ length: n }, () => [...(given as readonly number[])]) : (given as readonly (readonly number[])[]).map((r) => [...r]);
  if (rows.length !== n) throw new ConfigError(`context: expected one row or ${n} rows, got ${rows.length}`);
  rows.forEach((r, i) => {
    if (r.length !== K) throw new ConfigError(`context: row ${i} has ${r.length} values, expected ${K}`);
  });
  return rows;
}

function toRows(v: ArrayLike<number>, n: number, d: number): number[][] {
  return globalThis.Array.from({ length: n }, (_, i) => globalThis.Array.from({ length: d }, (_, j) => v[i * d + j]!));
}

/** Whether a composition holds a conv-conditioned layer (its Jacobian is expensive at image sizes). */
function hasConv(b: Bijector): boolean {
  const node = b as unknown as { kind: string; layers?: readonly Bijector[]; inner?: Bijector; bijector?: Bijector };
  if (node.kind === "image-affine-coupling") return true;
  return (node.layers ?? []).some(hasConv) || (node.inner ? hasConv(node.inner) : false) || (node.bijector ? hasConv(node.bijector) : false);
}

/**
 * Triangularity of every autoregressive layer of a chain, each at its own input and output. The
 * chain is walked in its parallel direction: backward from x through the inverses when density is
 * parallel (MAF: D = 784 sampling passes per layer avoided), else forward from z.
 */
function layerChecks(chain: Chain, p: ChainParams, z: readonly number[], x: readonly number[], context: readonly number[] | undefined, o: ResolvedBijectorCheck, path: string): CheckEntry[] {
  const groups: CheckEntry[][] = [];
  const backward = chain.inversePass === "parallel";
  const order = chain.layers.map((_, i) => (backward ? chain.layers.length - 1 - i : i));
  let v = backward ? [...x] : [...z];
  for (const i of order) {
    const layer = chain.layers[i]!;
    const pl = p.layers[i]!;
    const ctx = () => (context && layer.contextDim ? fromValues(context, [1, layer.contextDim], o.dtype) : undefined);
    const r = layer[backward ? "inverse" : "forward"](refTree(pl), fromValues(v, [1, layer.dim], o.dtype), ctx());
    r.logDet.dispose();
    const next = globalThis.Array.from(r.y.dataSync() as ArrayLike<number>);
    // the layer maps zIn → xOut forward
    const [zIn, xOut] = backward ? [next, v] : [v, next];
    const where = `${path}.${i} ${layer.kind}`;
    if (layer instanceof Chain) groups.push(layerChecks(layer, pl as ChainParams, zIn, xOut, context, o, `${path}.${i}.layers`));
    else if (layer instanceof Autoregressive) groups.push(triangularChecks(layer, pl, zIn, xOut, layer.contextDim ? context : undefined, { ...o, triangular: layer.made.order }, where));
    v = next;
  }
  // reported in layer order either way
  return (backward ? groups.reverse() : groups).flat();
}

/** log p by the sampling road and by the density road, at the sampled x. */
function logProbPaths(flow: Flow, p: FlowParams, seed: number, n: number, ctx: (rows?: number) => Array | undefined, o: ResolvedBijectorCheck): CheckEntry {
  const s = flow.sampleAndLogProb(refTree(p), keyFromSeed(seed + 4), n, ctx(), { dtype: o.dtype });
  const viaSampling = s.logProb.dataSync() as ArrayLike<number>;
  const viaDensity = flow.logProb(refTree(p), s.x, ctx()).dataSync() as ArrayLike<number>;
  let err = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.abs(viaSampling[i]! - viaDensity[i]!) / Math.max(1, Math.abs(viaDensity[i]!));
    err = Number.isFinite(e) ? Math.max(err, e) : Infinity;
  }
  return entry({
    id: "log-prob-paths",
    description: "max |(log p_base(z) − log|det J_f(z)|) − (log p_base(g(x)) + log|det J_g(x)|)| / max(1, |log p|) at x = f(z), z ~ base",
    maxError: err,
    tolerance: o.tol.logProb,
    points: n,
  });
}

/**
 * ∫ p over a box by the midpoint rule: the box is the extent of 4,000 samples widened by 40 % on
 * each side (the mass outside is then negligible for the flows' tails), G × G cells, a jitted
 * logProb in batches of 10,000 points. For a conditional flow, at the first check context.
 */
function integral(flow: Flow, p: FlowParams, seed: number, context: readonly number[] | undefined, o: ResolvedBijectorCheck, G: number): CheckEntry {
  const K = flow.contextDim;
  const ctx = (rows: number) => (context ? fromValues(globalThis.Array.from({ length: rows }, () => context).flat(), [rows, K], o.dtype) : undefined);
  const ns = 4000;
  const xs = flow.sample(refTree(p), keyFromSeed(seed + 5), ns, ctx(ns), { dtype: o.dtype }).dataSync() as ArrayLike<number>;
  const box: number[] = [];
  for (let d = 0; d < 2; d++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < ns; i++) {
      const v = xs[2 * i + d]!;
      if (Number.isFinite(v)) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    box.push(lo - 0.4 * (hi - lo), hi + 0.4 * (hi - lo));
  }
  const withContext = jit((q: FlowParams, x: Array, c: Array) => flow.logProb(q, x, c));
  const withoutContext = jit((q: FlowParams, x: Array) => flow.logProb(q, x));
  const [x0, x1, y0, y1] = box as [number, number, number, number];
  const hx = (x1 - x0) / G;
  const hy = (y1 - y0) / G;
  const B = 10000;
  const total = G * G;
  let mass = 0;
  let nonFinite = 0;
  for (let start = 0; start < total; start += B) {
    const rows = B; // fixed shape: the last batch is padded with the box centre and its padding ignored
    const pts = new Float64Array(2 * rows);
    for (let r = 0; r < rows; r++) {
      const k = Math.min(start + r, total - 1);
      pts[2 * r] = x0 + (Math.floor(k / G) + 0.5) * hx;
      pts[2 * r + 1] = y0 + ((k % G) + 0.5) * hy;
    }
    const x = fromValues(pts, [rows, 2], o.dtype);
    const lp = (K ? withContext(refTree(p), x, ctx(rows)!) : withoutContext(refTree(p), x)).dataSync() as ArrayLike<number>;
    for (let r = 0; r < rows && start + r < total; r++) {
      const v = lp[r]!;
      if (Number.isNaN(v) || v === Infinity) nonFinite++;
      else mass += Math.exp(v);
    }
  }
  withContext.dispose();
  withoutContext.dispose();
  mass *= hx * hy;
  return entry({
    id: "integral",
    description: "|∫ p(x) dx − 1| by the midpoint rule over the samples' extent widened by 40 % per side",
    maxError: nonFinite ? Infinity : Math.abs(mass - 1),
    tolerance: o.tol.integral,
    points: total,
    figures: { mass, box, gridPoints: G, nonFinite },
    ...(nonFinite ? { note: `${nonFinite} grid points with a NaN or +∞ log p` } : {}),
  });
}

/** The model's public logProb (data units, its own dtype) against the float64 flow density minus Σ log σ. */
function modelLogProb(model: FlowModel, p: FlowParams, x: number[][], context: number[][] | undefined, dtype: FloatDType): CheckEntry {
  const n = x.length;
  const D = model.dim;
  const pre = model.preprocessing;
  const data = x.map((row) => row.map((v, d) => (pre ? pre.mean[d]! + pre.std[d]! * v : v)));
  const ci = model.contextInfo;
  // the model takes contexts in data units and standardises them itself
  const ctxData = context?.map((row) => row.map((v, k) => (ci?.mean && ci.std ? ci.mean[k]! + ci.std[k]! * v : v)));
  const viaModel = model.logProb(data, ctxData);
  const flowLp = model.flow.logProb(refTree(p), fromValues(x.flat(), [n, D], dtype), context ? fromValues(context.flat(), [n, model.contextDim], dtype) : undefined).dataSync() as ArrayLike<number>;
  const shift = pre ? pre.std.reduce((s, v) => s + Math.log(v), 0) : 0;
  let err = 0;
  for (let i = 0; i < n; i++) {
    const ref = flowLp[i]! - shift;
    const e = Math.abs(viaModel[i]! - ref) / Math.max(1, Math.abs(ref));
    err = Number.isFinite(e) ? Math.max(err, e) : Infinity;
  }
  // the model computes in its own dtype: float32 rounding through D-dimensional sums
  const tolerance = model.dtype === "float64" ? 1e-9 : 1e-4;
  return entry({
    id: "model-log-prob",
    description: `max |model.logProb(x) − (log p_flow(x̃) − Σ log σ)| / max(1, |log p|), the model in ${model.dtype}, the reference in ${dtype}`,
    maxError: err,
    tolerance,
    points: n,
    ...(maxAbs(viaModel) === 0 ? { note: "all log p are 0" } : {}),
  });
}

/**
 * The Jacobian checks of a conv-conditioned image flow on its architecture rebuilt at a small
 * image (4·2^(scales−1) pixels a side: 8 × 8 for two scales), with the model's own params when
 * every leaf has the same shape there, else on random params.
 */
function proxyChecks(flow: Flow, model: FlowModel | undefined, p: FlowParams, seed: number, o: ResolvedBijectorCheck, options: FlowCheckOptions): CheckEntry[] {
  const description = "log-det vs autodiff Jacobian on the same architecture at a small image size";
  const config = model?.config;
  if (!config?.image) return [skipped("log-det-jacobian-proxy", description, "a conv-conditioned flow without a model config: pass { jacobian: \"full\" } to compute its full Jacobian (slow)")];
  const side = 4 * 2 ** (config.scales - 1);
  const [C] = config.image;
  const small = build({ ...config, image: [C, side, side], dim: C * side * side }).flow;
  const init = small.init(keyFromSeed(seed), o.dtype);
  const same = sameShapes(init.bijector, p.bijector);
  let q: FlowParams;
  if (same) {
    disposeTree(init.bijector);
    q = { base: init.base, bijector: refTree(p.bijector) };
  } else {
    disposeTree(init);
    q = randomFlowParams(small, o.dtype, seed, options.perturbScale ?? 0.3);
  }
  const d = small.dim;
  // one Jacobian point (both directions) unless asked: 4·D JVPs through the conv nets already
  const smallO = resolveOptions(small.bijector, { ...options, jacobianPoints: options.jacobianPoints ?? 1 }, o.dtype, seed);
  const n = Math.max(2, Math.min(options.points ?? 4, 4));
  const z = toRows(small.base.sample(refTree(q.base), keyFromSeed(seed + 13), n, undefined, { dtype: o.dtype }).dataSync() as ArrayLike<number>, n, d);
  const rng = hostRng(seed + 17);
  const context = small.contextDim ? globalThis.Array.from({ length: n }, () => globalThis.Array.from({ length: small.contextDim }, () => rng() * 2 - 1)) : undefined;
  const r = checkBijectorAt(small.bijector, q.bijector, z, context, smallO);
  disposeTree(q);
  const label = `proxy [${C}, ${side}, ${side}]${same ? ", the model's params" : ", random params"}`;
  return r.checks.map((c) => ({ ...c, layer: label }));
}

function sameShapes(a: Params, b: Params): boolean {
  const pa = treePaths(a);
  const pb = treePaths(b);
  if (pa.length !== pb.length || pa.some((s, i) => s !== pb[i])) return false;
  const la = treeLeaves(a);
  const lb = treeLeaves(b);
  return la.every((leaf, i) => leaf.shape.length === lb[i]!.shape.length && leaf.shape.every((s, k) => s === lb[i]!.shape[k]));
}
