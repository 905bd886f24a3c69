/**
 * Variational inference with a flow (Rezende & Mohamed 2015): fit q_θ to an unnormalised target
 * p̃ = Z·p by minimising the reverse KL divergence, i.e. maximising the evidence lower bound
 *     ELBO(θ) = E_q[log p̃(x) − log q_θ(x)] = log Z − KL(q_θ ‖ p) ≤ log Z,
 * with reparametrised samples x = f_θ(z), z ~ p_base, and log q_θ(x) = log p_base(z) − log|det J_f(z)|
 * from ONE generative pass (Flow.sampleAndLogProb): no inverse is ever needed, which is why the
 * inverse autoregressive flow (Kingma et al. 2016), parallel in that direction, is the natural q.
 * The loss of a step is −ELBO estimated on B fresh samples; the loop is train/loop.ts, the same as
 * maximum likelihood's (steps, schedules, progress, abort, divergence, best params kept).
 *
 * After training, with N samples x_i ~ q and log-weights ℓ_i = log p̃(x_i) − log q(x_i):
 *   ELBO ≈ mean ℓ_i                              (± sd(ℓ)/√N)
 *   log Ẑ = log (1/N) Σ exp ℓ_i                  (importance sampling; Ẑ is unbiased for Z)
 *   SE(log Ẑ) ≈ sd(w)/(√N · mean w)             (delta method, w = exp ℓ)
 *   ESS = (Σ w_i)² / Σ w_i²  ∈ [1, N]             (Kish), and ESS/N.
 * When q = p the weights are all Z: ESS = N and the estimate is exact. A q that misses part of the
 * target's mass gives an estimate that is too low with an SE that does not show it: ESS/N is the
 * warning sign.
 */
import { jit, np, type Array, type JsTree } from "../engine/jax.js";
import { ConfigError, NonFiniteError, ShapeError } from "../engine/errors.js";
import { keyFromSeed, splitKey, type Key } from "../engine/random.js";
import { rejectUnknownKeys } from "../engine/validate.js";
import { disposeTree, refTree } from "../engine/tree.js";
import { fromValues, type FloatDType } from "../engine/dtype.js";
import type { Flow, FlowParams } from "../distributions/flow.js";
import { checkTargetOutput, hostValuesAndGradients, type Target } from "../targets/target.js";
import { DATA_INIT_FLAG } from "../bijectors/data-init.js";
import { paramsDType, validateAdamHyper, type AdamHyper } from "./adam.js";
import { parseSchedule, type Schedule } from "./schedules.js";
import { divergenceMonitor, type Divergence, type DivergenceMonitor } from "./divergence.js";
import { checkLoopOptions, runTrainingLoop, OPTIMIZER_OPTION_KEYS, type OptimizerOptions, type HistoryEntry, type Objective, type ProgressEvent, type StopReason } from "./loop.js";
import { fusedStep, type LossFn } from "./step.js";

/** A target: a `Target` (targets/), or a bare log p̃ function of x [N, D] → [N] (consumes x). */
export type LogTarget = Target | ((x: Array) => Array);

/** Options of `fitVariational` (progress events report −ELBO in nats as `trainLoss`). */
export interface VariationalOptions extends OptimizerOptions {
  /** Optimisation steps. Default 1000. */
  steps?: number;
  /** Samples from q per step (the Monte Carlo batch of the ELBO). Default 256. */
  batchSize?: number;
  /** Steps between evaluations (best params, progress). Default min(100, steps). */
  evalEvery?: number;
  /** Stop after this many evaluations without improvement of the training loss. Default: never. */
  patience?: number;
  /** Seed of the initialisation (when `params` is not given), of the samples of every step, and of the estimates. Default 0. */
  seed?: number;
  /** Initial params (CONSUMED). Default: `flow.init(keyFromSeed(seed), dtype)`. */
  params?: FlowParams;
  /** Float dtype of fresh params. Default float32. */
  dtype?: FloatDType;
  /** Samples of the final estimates (ELBO, log Z, ESS). Default 4096. */
  estimateSamples?: number;
}

/** Every option of fitVariational (a misspelt one is an error). */
export const VARIATIONAL_OPTION_KEYS = [
  ...OPTIMIZER_OPTION_KEYS,
  "steps", "batchSize", "evalEvery", "patience", "seed", "params", "dtype", "estimateSamples",
] as const satisfies readonly (keyof VariationalOptions)[];

/** Importance-sampling figures of q against p̃ from N samples of q. */
export interface VariationalEstimates {
  /** Samples used. */
  n: number;
  /** mean(log p̃ − log q) ≤ log Z, and its standard error. */
  elbo: number;
  elboStdErr: number;
  /** log of the importance-sampling estimate of Z, and its delta-method standard error. */
  logZ: number;
  logZStdErr: number;
  /** Kish effective sample size (Σw)²/Σw², and ESS/N. */
  ess: number;
  essFraction: number;
}

/** What `fitVariational` returns. */
export interface VariationalResult {
  /** The best params (or the last ones with restoreBest false). Owned by the caller. */
  params: FlowParams;
  /** Estimates under the returned params, from `estimateSamples` fresh samples. */
  estimates: VariationalEstimates;
  history: HistoryEntry[];
  bestStep: number;
  /** Best monitored loss: −ELBO averaged over the steps before an evaluation. */
  bestLoss: number;
  stopReason: StopReason;
  message: string;
  divergence?: Divergence;
  untrained: boolean;
  steps: number;
  /** −ELBO of every step's batch. */
  losses: number[];
  stepTimesMs?: number[];
  batchSize: number;
  seed: number;
  wallTimeSec: number;
}

/** A `Target` for a bare function (its dimension is the flow's). */
export function asTarget(logTarget: LogTarget, dim: number): Target {
  if (typeof logTarget === "function") return { name: logTarget.name || "logTarget", dim, description: "a log-density function", logDensity: logTarget };
  if (typeof logTarget !== "object" || logTarget === null || typeof logTarget.logDensity !== "function")
    throw new ConfigError("variational: the target must be a function of x [N, D] or an object with logDensity(x)");
  return logTarget;
}

/** Boundary checks of a flow as q: unconditional, no batch norm, the target's dimension. */
function checkVariationalFlow(flow: Flow, target: Target): void {
  if (flow.contextDim > 0) throw new ConfigError(`variational: the flow is conditional (context ${flow.contextDim}); q must be unconditional`);
  // batch norm's running statistics are state; ActNorm's data-init flag is too, but an ActNorm layer
  // never initialised from data is a plain trainable affine map (identity at the start), fine for q
  if (flow.stateLeaves.some((path) => !path.endsWith(`.${DATA_INIT_FLAG}`)))
    throw new ConfigError("variational: the flow has batch-norm layers, whose statistics come from data; variational inference has none (build it without batchNorm)");
  if (target.dim !== flow.dim) throw new ShapeError(`variational: the target ${target.name} is ${target.dim}-dimensional, the flow is ${flow.dim}-dimensional`);
}

/**
 * Fits the flow q to the unnormalised target p̃ by minimising E_q[log q(x) − log p̃(x)] (reverse
 * KL; −ELBO) with reparametrised samples, Adam and the library's training loop, then estimates the
 * ELBO, log Z and the ESS under the returned params. The target must be written with the array API
 * (it is traced under jit and differentiated); it is checked on samples of the initial q first
 * (shape [N], no NaN) with a one-line error naming it.
 */
export async function fitVariational(flow: Flow, logTarget: LogTarget, options: VariationalOptions = {}): Promise<VariationalResult> {
  const t0 = performance.now();
  const o = options;
  const seed = o.seed ?? 0;
  let params: FlowParams | undefined = o.params;
  const fail = (e: unknown): never => {
    if (params) disposeTree(params);
    throw e;
  };
  let target: Target;
  let watch: DivergenceMonitor;
  let loop: ReturnType<typeof checkLoopOptions>;
  const batch = o.batchSize ?? 256;
  const totalSteps = o.steps ?? 1000;
  const estimateSamples = o.estimateSamples ?? 4096;
  let schedule: Schedule;
  try {
    rejectUnknownKeys(o, VARIATIONAL_OPTION_KEYS, "variational", "option");
    target = asTarget(logTarget, flow.dim);
    checkVariationalFlow(flow, target);
    validateAdamHyper(o);
    schedule = parseSchedule(o.schedule);
    watch = divergenceMonitor(o.divergence, flow.dim);
    if (!Number.isInteger(batch) || batch < 1) throw new ConfigError(`variational: batchSize must be an integer ≥ 1, got ${o.batchSize}`);
    if (!Number.isInteger(estimateSamples) || estimateSamples < 2)
      throw new ConfigError(`variational: estimateSamples must be an integer ≥ 2, got ${o.estimateSamples}`);
    loop = checkLoopOptions(o, totalSteps, "variational");
    if (params && o.dtype !== undefined && paramsDType(params) !== o.dtype)
      throw new ConfigError(`variational: dtype ${o.dtype} was requested but the params are ${paramsDType(params)}`);
  } catch (e) {
    return fail(e);
  }
  params ??= flow.init(keyFromSeed(seed), o.dtype ?? "float32");
  const dtype = paramsDType(params);
  // the target on samples of the initial q, eagerly: a wrong shape or NaN is one line, not a trace error
  try {
    const probe = flow.sample(refTree(params), keyFromSeed((seed ^ 0x7a26) >>> 0), Math.min(batch, 64), undefined, { dtype });
    if (target.hostLogDensity) hostValuesAndGradients(target, probe.dataSync() as Float32Array | Float64Array, probe.shape[0]!);
    else checkTargetOutput(target, probe);
  } catch (e) {
    return fail(e);
  }
  const hyper = { beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay, clipNorm: o.clipNorm };
  const objective = target.hostLogDensity ? hostObjective(flow, target, batch, dtype, hyper, seed) : tracedObjective(flow, target, batch, dtype, hyper, seed);
  const r = await runTrainingLoop(params, objective, {
    totalSteps,
    baseLr: loop.baseLr,
    schedule,
    evalEvery: loop.evalEvery,
    patience: loop.patience,
    dtype,
    restoreBest: o.restoreBest !== false,
    recordStepTimes: o.recordStepTimes === true,
    lossOffset: 0,
    watch,
    divergenceAdvice: "; more samples per step (batchSize) lower the gradient's variance",
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...(o.onCheckpoint ? { onCheckpoint: o.onCheckpoint } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  let estimates: VariationalEstimates;
  try {
    estimates = estimateVariational(flow, r.params, target, { samples: estimateSamples, seed: (seed + 1000003) >>> 0 });
  } catch (e) {
    disposeTree(r.params);
    throw e;
  }
  const result: VariationalResult = {
    params: r.params,
    estimates,
    history: r.history,
    bestStep: r.bestStep,
    bestLoss: r.bestValLoss,
    stopReason: r.stopReason,
    message: r.message,
    untrained: r.untrained,
    steps: r.steps,
    losses: r.losses,
    batchSize: batch,
    seed,
    wallTimeSec: (performance.now() - t0) / 1000,
  };
  if (r.stepTimesMs) result.stepTimesMs = r.stepTimesMs;
  if (r.divergence) result.divergence = r.divergence;
  return result;
}

type Hyper = Omit<AdamHyper, "lr">;

/** The running key of a run's samples: keys are made outside jitted code (engine/random.ts), one split per step. */
function keyStream(seed: number): { next(): Key; dispose(): void } {
  let key: Key = keyFromSeed((seed ^ 0x51a7) >>> 0);
  return {
    next: () => {
      const [k, rest] = splitKey(key, 2);
      key = rest!;
      return k!;
    },
    dispose: () => key.dispose(),
  };
}

/** −ELBO of B fresh samples with the target inside the compiled step (a traceable target). */
function tracedObjective(flow: Flow, target: Target, batch: number, dtype: FloatDType, hyper: Hyper, seed: number): Objective {
  const lossOf: LossFn = (p, [key]) => {
    const r = flow.sampleAndLogProb(p, key!, batch, undefined, { dtype });
    // −ELBO as (log p̃ − log q).mean().neg(): a float64 loss ending in a bare reduction is wrong under jit(grad) (fit.ts)
    return [target.logDensity(r.x).sub(r.logProb).mean().neg(), {}];
  };
  const step = fusedStep(lossOf, hyper, 1);
  const keys = keyStream(seed);
  return {
    step: (state, lr) => step(state, lr, keys.next()),
    dispose: () => {
      step.dispose();
      keys.dispose();
    },
  };
}

/**
 * −ELBO for a target of plain numbers, which cannot be traced: a compiled pass draws the samples
 * x̄ = f_θ(z), the host computes log p̃(x̄) and g = ∇ log p̃(x̄) (central differences), and the
 * compiled step (same key, so the same samples) minimises the surrogate
 *     L(θ) = mean_i [ log q_θ(x_i(θ)) − g_i·x_i(θ) + g_i·x̄_i − log p̃(x̄_i) ],
 * whose value at θ is −ELBO and whose gradient is that of −ELBO: ∇ mean[log q] − mean[J_xᵀ g].
 */
function hostObjective(flow: Flow, target: Target, batch: number, dtype: FloatDType, hyper: Hyper, seed: number): Objective {
  const D = flow.dim;
  type Traced = (...args: any[]) => JsTree<Array>;
  const draw = jit(((p: FlowParams, key: Key) => flow.sample(p, key, batch, undefined, { dtype })) as unknown as Traced) as unknown as ((p: FlowParams, key: Key) => Array) & { dispose(): void };
  // gc [B, D + 1]: the gradient g, then the constant c = g·x̄ − log p̃(x̄)
  const pick = fromValues(globalThis.Array.from({ length: (D + 1) * D }, (_, k) => (Math.floor(k / D) === k % D ? 1 : 0)), [D + 1, D], dtype);
  const last = fromValues(globalThis.Array.from({ length: D + 1 }, (_, k) => (k === D ? 1 : 0)), [D + 1, 1], dtype);
  const lossOf: LossFn = (p, [key, gc]) => {
    const r = flow.sampleAndLogProb(p, key!, batch, undefined, { dtype });
    const g = np.matmul(gc!.ref, pick.ref);
    const c = np.matmul(gc!, last.ref).reshape([batch]);
    return [r.x.mul(g).sum(1).sub(c).sub(r.logProb).mean().neg(), {}];
  };
  const step = fusedStep(lossOf, hyper, 2);
  const keys = keyStream(seed);
  return {
    step: async (state, lr) => {
      const key = keys.next();
      const x = (await draw(refTree(state.params), key.ref).data()) as Float32Array | Float64Array;
      const { logP, grad } = hostValuesAndGradients(target, x, batch);
      const gc = new Float64Array(batch * (D + 1));
      for (let i = 0; i < batch; i++) {
        let dot = 0;
        for (let d = 0; d < D; d++) {
          gc[i * (D + 1) + d] = grad[i * D + d]!;
          dot += grad[i * D + d]! * x[i * D + d]!;
        }
        gc[i * (D + 1) + D] = dot - logP[i]!; // +∞ where log p̃ = −∞: the loss is +∞ (a divergence), as it should be
      }
      return step(state, lr, key, fromValues(gc, [batch, D + 1], dtype));
    },
    dispose: () => {
      step.dispose();
      draw.dispose();
      keys.dispose();
      pick.dispose();
      last.dispose();
    },
  };
}

/**
 * The ELBO, log Z and ESS of q (params NOT consumed) against the target from `samples` draws of q
 * (default 4096, seeded), in compiled chunks of at most 4096 samples.
 */
export function estimateVariational(
  flow: Flow,
  params: FlowParams,
  logTarget: LogTarget,
  o: { samples?: number; seed?: number } = {},
): VariationalEstimates {
  const target = asTarget(logTarget, flow.dim);
  checkVariationalFlow(flow, target);
  const n = o.samples ?? 4096;
  if (!Number.isInteger(n) || n < 2) throw new ConfigError(`variational: samples must be an integer ≥ 2, got ${o.samples}`);
  const dtype = paramsDType(params);
  const B = Math.min(n, 4096);
  const chunks = Math.ceil(n / B);
  type Traced = (...args: any[]) => JsTree<Array>;
  const host = target.hostLogDensity !== undefined;
  const D = flow.dim;
  // one output: [log p̃, log q] ([2, B]), or for a host target the samples and log q ([B, D + 1])
  const fn = jit(((p: FlowParams, key: Key) => {
    const r = flow.sampleAndLogProb(p, key, B, undefined, { dtype });
    return host ? np.concatenate([r.x, r.logProb.reshape([B, 1])], 1) : np.stack([target.logDensity(r.x), r.logProb]);
  }) as unknown as Traced) as unknown as ((p: FlowParams, key: Key) => Array) & { dispose(): void };
  const logP = new Float64Array(n);
  const logQ = new Float64Array(n);
  const keys = chunks === 1 ? [keyFromSeed(o.seed ?? 0)] : splitKey(keyFromSeed(o.seed ?? 0), chunks);
  try {
    for (let c = 0; c < chunks; c++) {
      const out = fn(refTree(params), keys[c]!);
      keys[c] = undefined as unknown as Key;
      const values = out.dataSync() as Float32Array | Float64Array;
      const m = Math.min(B, n - c * B);
      if (host) {
        const x = new Float64Array(m * D);
        for (let i = 0; i < m; i++) {
          for (let d = 0; d < D; d++) x[i * D + d] = values[i * (D + 1) + d]!;
          logQ[c * B + i] = values[i * (D + 1) + D]!;
          logP[c * B + i] = target.hostLogDensity!(globalThis.Array.from(x.subarray(i * D, (i + 1) * D)));
        }
      } else {
        for (let i = 0; i < m; i++) {
          logP[c * B + i] = values[i]!;
          logQ[c * B + i] = values[B + i]!;
        }
      }
    }
  } finally {
    keys.forEach((k) => k?.dispose());
    fn.dispose();
  }
  const bad = logP.findIndex((v) => Number.isNaN(v) || v === Infinity);
  if (bad >= 0) throw new NonFiniteError(`target ${target.name}: log p̃ was ${logP[bad]} at a sample of q: log p̃ must be a number or −Infinity`);
  return importanceEstimates(logP, logQ);
}

/**
 * The estimates from log p̃(x_i) and log q(x_i) of samples x_i ~ q (host arithmetic, float64): the
 * weights are shifted by their maximum before exponentiating, so nothing overflows.
 */
export function importanceEstimates(logP: ArrayLike<number>, logQ: ArrayLike<number>): VariationalEstimates {
  const n = logP.length;
  if (n !== logQ.length || n < 2) throw new ShapeError(`importance estimates: expected two equal lists of ≥ 2 values, got ${n} and ${logQ.length}`);
  const lw = new Float64Array(n);
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(logQ[i]!)) throw new NonFiniteError(`importance estimates: log q of sample ${i} is ${logQ[i]}`);
    lw[i] = logP[i]! - logQ[i]!;
    if (lw[i]! > max) max = lw[i]!;
    sum += lw[i]!;
  }
  const elbo = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (lw[i]! - elbo) ** 2;
  const elboStdErr = Number.isFinite(elbo) ? Math.sqrt(ss / (n - 1) / n) : NaN;
  if (max === -Infinity) return { n, elbo, elboStdErr, logZ: -Infinity, logZStdErr: NaN, ess: 0, essFraction: 0 };
  // w̃ = exp(ℓ − max): the same ratios as the weights
  const w = lw.map((l) => Math.exp(l - max));
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    s1 += w[i]!;
    s2 += w[i]! * w[i]!;
  }
  const mean = s1 / n;
  let dev = 0; // two passes: equal weights give exactly 0
  for (let i = 0; i < n; i++) dev += (w[i]! - mean) ** 2;
  const variance = dev / (n - 1);
  const ess = (s1 * s1) / s2;
  return { n, elbo, elboStdErr, logZ: max + Math.log(mean), logZStdErr: Math.sqrt(variance / n) / mean, ess, essFraction: ess / n };
}
