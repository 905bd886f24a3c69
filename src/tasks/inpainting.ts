/**
 * Inpainting with a trained image flow: given an image whose pixels x_h are hidden and x_o
 * observed, fill in x_h. Two estimators over the same model density p(x) = p(x_h, x_o):
 *
 *  - "map" (the lecture's method, NICE §5.2): x̂_h = argmax_{x_h ∈ [0,1]} log p(x_h, x_o) by
 *    projected gradient ascent, Adam on x_h (lr 0.01, 500 steps), clipped to the pixel domain
 *    after every step; x_h starts at 0.5. The most probable completion: sharp, but under a model of
 *    MNIST quality often a confident wrong stroke or a grey blob.
 *  - "mean": the posterior mean E[x_h | x_o], the completion with the least expected squared
 *    error under the model, from one Metropolis-adjusted Langevin (MALA) chain per image, started
 *    at the MAP estimate. The chain runs in u = logit(x_h) so that it never leaves (0, 1):
 *        log π(u) = log p(σ(u), x_o) + Σ_h log σ′(u_h),   σ′(u) = σ(u)·σ(−u);
 *        u′ = u + ½ε²∇log π(u) + ε·ξ,  ξ ~ N(0, I) on the hidden pixels,
 *    accepted with probability min(1, π(u′)q(u|u′) / π(u)q(u′|u)); the step ε of each chain adapts
 *    towards an acceptance rate of 0.574 during burn-in (then stays fixed, so the chain is exact),
 *    and the estimate is the average of σ(u) over the sampling steps.
 *
 * Observed pixels are returned bit for bit as given. Works on any unconditional image model whose
 * density is on [0, 1]^D (trained on dequantised pixels), and on any model given an explicit domain.
 *
 * Every read is asynchronous (`await data()`, `logProbAsync`), so inpainting runs on every device,
 * WebGPU included, and the loops yield to the event loop every ~50 ms: a page that awaits
 * `inpaint` stays responsive (the playground's Images panel) and can stop it with `signal`.
 */
import { blockUntilReady, jit, nn, np, valueAndGrad, type Array } from "../engine/jax.js";
import { fromValues, jaxDType, scalar } from "../engine/dtype.js";
import { ConfigError, ContextError, ShapeError } from "../engine/errors.js";
import { keyFromSeed, normal, splitKey, uniform, type Key } from "../engine/random.js";
import { disposeTree, refTree } from "../engine/tree.js";
import { padRows } from "../data/split.js";
import { adamInit, adamUpdate, disposeAdamState, type AdamState } from "../train/adam.js";
import type { FlowParams } from "../distributions/flow.js";
import type { FlowModel } from "../model/model.js";

export type InpaintMethod = "map" | "mean";

export interface InpaintOptions {
  /** "map" (default) or "mean" (posterior mean by MALA, started at the MAP estimate). */
  method?: InpaintMethod;
  /** Adam steps of the MAP ascent. Default 500. */
  steps?: number;
  /** Adam learning rate of the MAP ascent. Default 0.01. */
  lr?: number;
  /** Value the hidden pixels start from. Default: the middle of the domain (0.5). */
  start?: number;
  /** MALA steps discarded while the step size adapts ("mean"). Default 200. */
  burnIn?: number;
  /** MALA steps averaged into the estimate ("mean"). Default 300. */
  samples?: number;
  /** Seed of the MALA chains. Default 0. */
  seed?: number;
  /** The pixel domain [lo, hi]. Default [0, 1] (models of dequantised pixels). */
  domain?: readonly [number, number];
  /** Rows per compiled call. Default 1000 (16 for resnet-conditioned models, as FlowModel). */
  batchSize?: number;
  /** Progress in steps of all chunks together. */
  onProgress?: (done: number, total: number) => void;
  /** Stops the ascent (or the chains) at the next step: `inpaint` rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface InpaintResult {
  /** n×D restored images: observed pixels exactly as given, hidden ones filled. */
  x: Float64Array;
  /** The images with their hidden pixels at the start value (where the ascent begins). */
  start: Float64Array;
  /** log p(x) (nats) of every image with its hidden pixels at the start value, and after. */
  logProbStart: Float64Array;
  logProbEnd: Float64Array;
  /** The MAP estimate too, when the method is "mean" (its warm start). */
  map?: Float64Array;
  /** MALA acceptance rate of each image's chain over the sampling steps ("mean"). */
  acceptance?: Float64Array;
}

/** Peak signal-to-noise ratio 10·log10(peak² / MSE) over the pixels where `hidden` is 1, pooled over all images. */
export function psnrHidden(estimate: ArrayLike<number>, truth: ArrayLike<number>, hidden: ArrayLike<number>, peak = 1): number {
  if (estimate.length !== truth.length || hidden.length !== truth.length)
    throw new ShapeError(`psnr: expected arrays of one length, got ${estimate.length}, ${truth.length} and a mask of ${hidden.length}`);
  let se = 0;
  let count = 0;
  for (let i = 0; i < truth.length; i++) {
    if (!hidden[i]) continue;
    const d = estimate[i]! - truth[i]!;
    se += d * d;
    count++;
  }
  if (count === 0) throw new ShapeError("psnr: the mask hides no pixel");
  return 10 * Math.log10((peak * peak) / (se / count));
}

/**
 * Fills the hidden pixels (mask 1) of n images (n×D values, row-major) under `model`.
 * The images and mask are not modified.
 */
export function inpaint(model: FlowModel, images: ArrayLike<number>, hidden: ArrayLike<number>, options: InpaintOptions = {}): Promise<InpaintResult> {
  return inpaintWith(model, images, hidden, options, undefined);
}

/**
 * `inpaint` under one model with its compiled steps kept from call to call: a page that inpaints
 * again and again traces the ascent once (seconds for the multi-scale RealNVP, whose step is
 * otherwise compiled afresh by every `inpaint`). The pixel domain is fixed when it is made
 * (default as `inpaint`'s). It owns the compiled functions, not the model: `dispose()` frees them;
 * do not dispose it while a `run` is in flight.
 */
export class Inpainter {
  readonly domain: readonly [number, number];
  private fns: Compiled | undefined;

  constructor(
    readonly model: FlowModel,
    domain?: readonly [number, number],
  ) {
    this.domain = checkOptions(model, domain ? { domain } : {}).domain;
  }

  /** `inpaint(this.model, images, hidden, options)` with this inpainter's domain and compiled steps. */
  run(images: ArrayLike<number>, hidden: ArrayLike<number>, options: Omit<InpaintOptions, "domain"> = {}): Promise<InpaintResult> {
    return inpaintWith(this.model, images, hidden, { ...options, domain: this.domain }, () => (this.fns ??= compile(this.model, this.domain)));
  }

  dispose(): void {
    this.fns?.dispose();
    this.fns = undefined;
  }
}

/** inpaint's body; `shared` gives compiled steps kept by an Inpainter (else they live for this call). */
async function inpaintWith(
  model: FlowModel,
  images: ArrayLike<number>,
  hidden: ArrayLike<number>,
  options: InpaintOptions,
  shared: (() => Compiled) | undefined,
): Promise<InpaintResult> {
  const D = model.dim;
  if (model.contextDim > 0) throw new ContextError("inpaint: this model is conditional; inpainting needs an unconditional model");
  if (images.length % D !== 0 || images.length === 0)
    throw new ShapeError(`inpaint: expected n·${D} pixel values (n images of the model's ${D} dimensions), got ${images.length}`);
  if (hidden.length !== images.length) throw new ShapeError(`inpaint: expected a mask of ${images.length} values (one per pixel), got ${hidden.length}`);
  const n = images.length / D;
  const o = checkOptions(model, options);
  const [lo, hi] = o.domain;
  const x0 = Float64Array.from(images);
  const mask = Float64Array.from(hidden, (h) => (h ? 1 : 0));
  for (let i = 0; i < x0.length; i++) {
    if (!Number.isFinite(x0[i]!)) throw new ShapeError(`inpaint: pixel ${i % D} of image ${Math.floor(i / D)} is not finite (${x0[i]})`);
    if (!mask[i] && (x0[i]! < lo || x0[i]! > hi))
      throw new ShapeError(`inpaint: observed pixel ${i % D} of image ${Math.floor(i / D)} is ${x0[i]}, outside the model's domain [${lo}, ${hi}]`);
  }
  const started = x0.map((v, i) => (mask[i] ? o.start : v));
  const logProbStart = await model.logProbAsync(started);

  const B = Math.min(o.batchSize, n);
  const chunks = Math.ceil(n / B);
  const perChunk = o.steps + (o.method === "mean" ? o.burnIn + o.samples : 0);
  let done = 0;
  let lastYield = performance.now();
  // after every step: progress, a stop requested, and a turn of the event loop every ~50 ms
  // (a compiled call on wasm runs when issued, so awaiting its result alone never lets a page draw)
  const tick = async (): Promise<void> => {
    o.onProgress?.(++done, chunks * perChunk);
    o.signal?.throwIfAborted();
    if (performance.now() - lastYield > 50) {
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
      lastYield = performance.now();
    }
  };
  const map = new Float64Array(n * D);
  const mean = o.method === "mean" ? new Float64Array(n * D) : undefined;
  const acceptance = o.method === "mean" ? new Float64Array(n) : undefined;
  const fns = shared ? shared() : compile(model, o.domain);
  try {
    for (let c = 0; c < chunks; c++) {
      const start = c * B;
      const m = Math.min(B, n - start);
      const xObs = padRows(x0, start, m, B, D, model.dtype);
      const mChunk = padRows(mask, start, m, B, D, model.dtype);
      const v = await mapAscent(model, fns, xObs, mChunk, B, o, tick);
      map.set(v.subarray(0, m * D), start * D);
      if (mean) {
        const r = await posteriorMean(model, fns, v, xObs, mChunk, B, o, c, tick);
        mean.set(r.mean.subarray(0, m * D), start * D);
        acceptance!.set(r.acceptance.subarray(0, m), start);
      }
    }
  } finally {
    if (!shared) fns.dispose();
  }
  // Observed pixels exactly as given (the estimates only ever change hidden ones, but float32
  // round trips through the engine would not keep their bits).
  const finish = (est: Float64Array): Float64Array => est.map((v, i) => (mask[i] ? v : x0[i]!));
  const x = finish(mean ?? map);
  const result: InpaintResult = { x, start: started, logProbStart, logProbEnd: await model.logProbAsync(x) };
  if (mean) {
    result.map = finish(map);
    result.acceptance = acceptance!;
  }
  return result;
}

type Resolved = Required<Omit<InpaintOptions, "onProgress" | "signal">> & Pick<InpaintOptions, "onProgress" | "signal">;

function checkOptions(model: FlowModel, options: InpaintOptions): Resolved {
  const method = options.method ?? "map";
  if (method !== "map" && method !== "mean") throw new ConfigError(`inpaint: method must be "map" or "mean", got ${JSON.stringify(method)}`);
  const whole = (v: number | undefined, dflt: number, what: string, min = 0): number => {
    const x = v ?? dflt;
    if (!(Number.isInteger(x) && x >= min)) throw new ConfigError(`inpaint: ${what} must be an integer ≥ ${min}, got ${x}`);
    return x;
  };
  const domain = options.domain ?? defaultDomain(model);
  if (!(domain.length === 2 && Number.isFinite(domain[0]) && Number.isFinite(domain[1]) && domain[0] < domain[1]))
    throw new ConfigError(`inpaint: domain must be [lo, hi] with finite lo < hi, got ${JSON.stringify(domain)}`);
  const start = options.start ?? (domain[0] + domain[1]) / 2;
  if (!(start >= domain[0] && start <= domain[1])) throw new ConfigError(`inpaint: start ${start} is outside the domain [${domain[0]}, ${domain[1]}]`);
  const lr = options.lr ?? 0.01;
  if (!(lr > 0 && Number.isFinite(lr))) throw new ConfigError(`inpaint: lr must be a finite number > 0, got ${lr}`);
  return {
    method,
    steps: whole(options.steps, 500, "steps"),
    lr,
    start,
    burnIn: whole(options.burnIn, 200, "burnIn"),
    samples: whole(options.samples, 300, "samples", method === "mean" ? 1 : 0),
    seed: whole(options.seed, 0, "seed"),
    domain: [domain[0], domain[1]],
    batchSize: whole(options.batchSize, model.config.conditioner === "resnet" ? 16 : 1000, "batchSize", 1),
    onProgress: options.onProgress,
    signal: options.signal,
  };
}

/** [0, 1] for models of dequantised pixels; other models need an explicit domain. */
function defaultDomain(model: FlowModel): readonly [number, number] {
  if (model.dataInfo?.dequantization) return [0, 1];
  throw new ConfigError(
    "inpaint: the model was not trained on dequantised pixels, so its pixel domain is unknown; give options.domain = [lo, hi]",
  );
}

/** The jitted steps of one model and domain: built once per inpaint call, or kept by an Inpainter (jit traces once per chunk size). */
interface Compiled {
  mapStep: (...a: Array[]) => Array[];
  malaStep: (...a: Array[]) => Array[];
  logTarget: (...a: Array[]) => Array[];
  dispose(): void;
}

/**
 * log p of the flow at x = where(hidden, v, x_obs), per row, in the model's own space: the
 * standardisation x̃ = (x − μ)/σ, when the model has one, is applied here; its constant log-det
 * does not change gradients or acceptance ratios.
 */
function compile(model: FlowModel, domain: readonly [number, number]): Compiled {
  const flow = model.flow;
  const dtype = model.dtype;
  const pre = model.preprocessing;
  const shift = pre ? fromValues(pre.mean, [1, model.dim], dtype) : undefined;
  const scaleInv = pre ? fromValues(pre.std.map((s) => 1 / s), [1, model.dim], dtype) : undefined;
  const logp = (p: FlowParams, x: Array): Array =>
    flow.logProb(p, shift && scaleInv ? x.sub(shift.ref).mul(scaleInv.ref) : x, undefined, { training: false });
  const compose = (v: Array, xObs: Array, mask: Array): Array => np.where(np.greater(mask, scalar(0.5, mask)), v, xObs);
  const [lo, hi] = domain;

  // MAP: one Adam step on v (minimising −Σ log p), then the projection onto [lo, hi].
  const mapStep = jit((p: FlowParams, v: Array, m: Array, s: Array, t: Array, lr: Array, xObs: Array, mask: Array): Array[] => {
    const [lp, g] = valueAndGrad((vv: Array) => logp(p, compose(vv, xObs, mask)).sum())(v.ref);
    const state: AdamState = { m, v: s, t };
    const r = adamUpdate({ v }, { v: g.neg() }, state, { lr });
    const projected = np.clip(r.params.v, scalar(lo, lp), scalar(hi, lp));
    return [projected, r.state.m, r.state.v, r.state.t, lp];
  });

  // log π(u) per row and its gradient, x_h = lo + (hi − lo)·σ(u).
  const target = (p: FlowParams, u: Array, xObs: Array, mask: Array): [Array, Array] => {
    const [[, rows], g] = valueAndGrad(
      (uu: Array): [Array, Array] => {
        const x = nn.sigmoid(uu.ref).mul(scalar(hi - lo, uu)).add(scalar(lo, uu));
        // log σ′(u) = −softplus(u) − softplus(−u), on the hidden pixels only
        const logJac = np.logaddexp(uu.ref, scalar(0, uu)).add(np.logaddexp(uu.neg(), scalar(0, mask))).mul(mask.ref).sum(1).neg();
        const rows = logp(p, compose(x, xObs, mask)).add(logJac);
        return [rows.ref.sum(), rows];
      },
      { hasAux: true },
    )(u);
    return [rows, g];
  };
  const logTarget = jit((p: FlowParams, u: Array, xObs: Array, mask: Array): Array[] => target(p, u, xObs, mask));

  // One MALA step of every chain; eps [B, 1] adapts when adapt = 1; acc accumulates σ(u)·weight.
  const malaStep = jit(
    (p: FlowParams, u: Array, lpi: Array, g: Array, eps: Array, key: Key, xObs: Array, mask: Array, adapt: Array, weight: Array, acc: Array, accepts: Array): Array[] => {
      const [kz, ku] = splitKey(key, 2);
      const [B, D] = [u.shape[0]!, u.shape[1]!];
      const dj = u.dtype;
      const c = (value: number): Array => scalar(value, dj);
      const xi = normal(kz!, [B, D], model.dtype).mul(mask.ref);
      const e2 = np.square(eps.ref).mul(c(0.5));
      const proposal = u.ref.add(g.ref.mul(e2.ref).mul(mask.ref)).add(xi.ref.mul(eps.ref));
      const [lpiNew, gNew] = target(p, proposal.ref, xObs, mask.ref);
      // log q(u′|u) = −½‖ξ‖²;  log q(u|u′) = −‖u − u′ − ½ε²∇log π(u′)‖² / (2ε²)
      const back = u.ref.sub(proposal.ref).sub(gNew.ref.mul(e2).mul(mask));
      const logQBack = np.square(back).sum(1).div(np.square(eps.ref.reshape([B])).mul(c(2))).neg();
      const logQFwd = np.square(xi).sum(1).mul(c(0.5)).neg();
      const logAlpha = lpiNew.ref.sub(lpi.ref).add(logQBack).sub(logQFwd);
      const logU = np.log(uniform(ku!, [B], model.dtype, 2 ** -24, 1));
      const accept = np.less(logU, logAlpha.ref); // false for NaN proposals
      const acc1 = accept.ref.reshape([B, 1]);
      const uNext = np.where(acc1.ref, proposal, u);
      const lpiNext = np.where(accept.ref, lpiNew, lpi);
      const gNext = np.where(acc1, gNew, g);
      // the acceptance probability min(1, α) drives the step while adapting: ε ← ε·exp(0.2·(α − 0.574))
      const alpha = np.where(np.isnan(logAlpha.ref), c(0), np.exp(np.minimum(logAlpha, c(0))));
      const epsNext = eps.mul(np.exp(alpha.sub(c(0.574)).mul(c(0.2)).mul(adapt).reshape([B, 1])));
      const accNext = acc.add(nn.sigmoid(uNext.ref).mul(c(hi - lo)).add(c(lo)).mul(weight.ref));
      const acceptsNext = accepts.add(accept.astype(dj).mul(weight));
      return [uNext, lpiNext, gNext, epsNext, accNext, acceptsNext];
    },
  );
  return {
    mapStep: mapStep as unknown as Compiled["mapStep"],
    malaStep: malaStep as unknown as Compiled["malaStep"],
    logTarget: logTarget as unknown as Compiled["logTarget"],
    dispose() {
      shift?.dispose();
      scaleInv?.dispose();
      for (const f of [mapStep, malaStep, logTarget] as unknown as { dispose?: () => void }[]) f.dispose?.();
    },
  };
}

/** A chunk of rows as padRows gives it. */
type Pixels = Float32Array | Float64Array;

/** The MAP ascent of one chunk of B rows; returns v (B×D, meaningful on the hidden pixels). */
async function mapAscent(
  model: FlowModel,
  fns: Compiled,
  xObs: Pixels,
  mask: Pixels,
  B: number,
  o: Resolved,
  tick: () => Promise<void>,
): Promise<Float64Array> {
  const D = model.dim;
  const dtype = model.dtype;
  // v matters only on hidden pixels (the composed image takes x_obs elsewhere)
  let v = np.full([B, D], o.start, { dtype: jaxDType(dtype) });
  const adam = adamInit({ v });
  let [mom, sec, t] = [adam.m, adam.v, adam.t];
  const lr = fromValues([o.lr], [], dtype);
  const xo = fromValues(xObs, [B, D], dtype);
  const mk = fromValues(mask, [B, D], dtype);
  try {
    for (let step = 0; step < o.steps; step++) {
      const [v1, m1, s1, t1, lp] = fns.mapStep(refTree(model.params) as unknown as Array, v, mom, sec, t, lr.ref, xo.ref, mk.ref);
      [v, mom, sec, t] = [v1!, m1!, s1!, t1!];
      // await each step: a compiled call allocates all its buffers when issued
      await blockUntilReady(lp!);
      lp!.dispose();
      await tick();
    }
    return Float64Array.from((await v.ref.data()) as Float32Array | Float64Array);
  } finally {
    disposeAdamState({ m: mom, v: sec, t });
    v.dispose();
    lr.dispose();
    xo.dispose();
    mk.dispose();
  }
}

/** MALA chains (one per row) from the MAP estimate v; returns the posterior-mean estimate and each row's acceptance rate. */
async function posteriorMean(
  model: FlowModel,
  fns: Compiled,
  v: Float64Array,
  xObs: Pixels,
  mask: Pixels,
  B: number,
  o: Resolved,
  chunk: number,
  tick: () => Promise<void>,
): Promise<{ mean: Float64Array; acceptance: Float64Array }> {
  const D = model.dim;
  const dtype = model.dtype;
  const [lo, hi] = o.domain;
  // start strictly inside the domain (the MAP estimate sits on its bounds where clipped)
  const inset = 1e-3 * (hi - lo);
  const u0 = v.map((x, i) => {
    if (!mask[i]) return 0;
    const y = (Math.min(hi - inset, Math.max(lo + inset, x)) - lo) / (hi - lo);
    return Math.log(y / (1 - y));
  });
  let u = fromValues(u0, [B, D], dtype);
  const xo = fromValues(xObs, [B, D], dtype);
  const mk = fromValues(mask, [B, D], dtype);
  let [lpi, g] = fns.logTarget(refTree(model.params) as unknown as Array, u.ref, xo.ref, mk.ref) as [Array, Array];
  let eps = np.full([B, 1], 0.05, { dtype: u.dtype });
  let acc = np.zeros([B, D], { dtype: u.dtype });
  let accepts = np.zeros([B], { dtype: u.dtype });
  const one = fromValues([1], [], dtype);
  const zero = fromValues([0], [], dtype);
  let key = keyFromSeed((o.seed * 7919 + chunk) >>> 0);
  try {
    for (let step = 0; step < o.burnIn + o.samples; step++) {
      const burning = step < o.burnIn;
      const [next, k] = splitKey(key, 2);
      key = next!;
      const out = fns.malaStep(refTree(model.params) as unknown as Array, u, lpi, g, eps, k!, xo.ref, mk.ref, (burning ? one : zero).ref, (burning ? zero : one).ref, acc, accepts);
      [u, lpi, g, eps, acc, accepts] = out as [Array, Array, Array, Array, Array, Array];
      await blockUntilReady(accepts);
      await tick();
    }
    const sum = Float64Array.from((await acc.ref.data()) as Float32Array | Float64Array);
    const rate = Float64Array.from((await accepts.ref.data()) as Float32Array | Float64Array, (a) => a / o.samples);
    // meaningful on the hidden pixels; the caller puts the observed ones back
    return { mean: sum.map((s) => s / o.samples), acceptance: rate };
  } finally {
    disposeTree([u, lpi, g, eps, acc, accepts, xo, mk, one, zero, key] as unknown as Array[]);
  }
}

/** One mask's figures over a set of images (what `nflow inpaint --json` and the bench report). */
export interface MaskReport {
  mask: string;
  /** Share of the pixels hidden. */
  hiddenShare: number;
  /** PSNR (dB) of the hidden pixels against the originals, pooled over the images. */
  psnrMap: number;
  psnrMean?: number;
  psnrMeanFill: number;
  psnrStart: number;
  /** Mean log p (nats) of the images: start fill, MAP, posterior mean, mean fill, original. */
  logProbStart: number;
  logProbMap: number;
  logProbMean?: number;
  logProbMeanFill: number;
  logProbOriginal: number;
  /** Mean MALA acceptance rate ("mean"). */
  acceptance?: number;
}

/** Everything one mask's inpainting produced: the figures and the images (for pictures). */
export interface MaskOutcome {
  report: MaskReport;
  corrupted: Float64Array;
  map: Float64Array;
  mean?: Float64Array;
}

/**
 * Inpaints `images` (n×D, the originals) under each of `masks` (n×D each), by MAP and, when
 * `withMean`, by the posterior mean too, in one batch of all problems, and scores each mask
 * against the originals and the mean-image fill `meanImage` (D values).
 */
export async function inpaintingReport(
  model: FlowModel,
  images: Float64Array,
  masks: readonly { name: string; hidden: Uint8Array }[],
  meanImage: ArrayLike<number>,
  options: InpaintOptions & { withMean?: boolean } = {},
): Promise<MaskOutcome[]> {
  const D = model.dim;
  const n = images.length / D;
  if (meanImage.length !== D) throw new ShapeError(`inpaint: expected a mean image of ${D} values, got ${meanImage.length}`);
  const all = new Float64Array(masks.length * n * D);
  const hidden = new Uint8Array(masks.length * n * D);
  masks.forEach((m, k) => {
    if (m.hidden.length !== n * D) throw new ShapeError(`inpaint: mask ${m.name} has ${m.hidden.length} values, expected ${n * D}`);
    all.set(images, k * n * D);
    hidden.set(m.hidden, k * n * D);
  });
  const { withMean, ...rest } = options;
  const r = await inpaint(model, all, hidden, { ...rest, method: withMean ? "mean" : "map" });
  const map = r.map ?? r.x;
  const meanFill = all.map((v, i) => (hidden[i] ? meanImage[i % D]! : v));
  const start = r.start;
  const lpMeanFill = await model.logProbAsync(meanFill);
  const lpOriginal = await model.logProbAsync(all);
  const lpMap = r.map ? await model.logProbAsync(map) : r.logProbEnd;
  const avg = (a: ArrayLike<number>, k: number): number => {
    let s = 0;
    for (let i = k * n; i < (k + 1) * n; i++) s += a[i]!;
    return s / n;
  };
  return masks.map((m, k) => {
    const slice = (a: Float64Array): Float64Array => a.slice(k * n * D, (k + 1) * n * D);
    const truth = slice(all);
    const report: MaskReport = {
      mask: m.name,
      hiddenShare: m.hidden.reduce((s, h) => s + (h ? 1 : 0), 0) / (n * D),
      psnrMap: psnrHidden(slice(map), truth, m.hidden),
      psnrMeanFill: psnrHidden(slice(meanFill), truth, m.hidden),
      psnrStart: psnrHidden(slice(start), truth, m.hidden),
      logProbStart: avg(r.logProbStart, k),
      logProbMap: avg(lpMap, k),
      logProbMeanFill: avg(lpMeanFill, k),
      logProbOriginal: avg(lpOriginal, k),
    };
    const outcome: MaskOutcome = { report, corrupted: slice(start), map: slice(map) };
    if (withMean) {
      report.psnrMean = psnrHidden(slice(r.x), truth, m.hidden);
      report.logProbMean = avg(r.logProbEnd, k);
      outcome.mean = slice(r.x);
      report.acceptance = avg(r.acceptance!, k);
    }
    return outcome;
  });
}
