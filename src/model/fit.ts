/**
 * `fit`: from a config and plain data to a trained FlowModel, by maximum likelihood.
 *
 *  1. The rows are split (seeded) into training and validation rows.
 *  2. With `standardize` (default true) each dimension is standardised with the mean and standard
 *     deviation of the TRAINING rows only, x̃ = (x − μ)/σ; the flow models x̃ and the model reports
 *     log p(x) = log p̃(x̃) − Σ_d log σ_d, so every number it gives is in the data's own units.
 *  3. trainFlow (train/fit.ts) runs the jitted Adam loop with early stopping and keeps the best
 *     params; a divergence stops training with the best params kept (the record says so).
 *  4. The training record (losses converted to data units) travels with the model into its file.
 */
import { ConfigError, ContextError, NonFiniteError, ShapeError } from "../engine/errors.js";
import { keyFromSeed } from "../engine/random.js";
import { refTree } from "../engine/tree.js";
import type { FlowParams } from "../distributions/flow.js";
import { rejectUnknownKeys } from "../engine/validate.js";
import { build } from "../flows/build.js";
import type { FlowConfig } from "../flows/config.js";
import { splitRows, type Rows } from "../data/split.js";
import { applyStandardization, fitStandardization, logDetStandardization } from "../data/standardize.js";
import { TRAIN_OPTION_KEYS, trainFlow, type ProgressEvent, type TrainOptions, type TrainResult } from "../train/fit.js";
import type { ContextInfo, DataInfo, StandardizationRecord, TrainingRecord } from "../io/model-format.js";
import { FlowModel, flatRows, type ContextInput, type RowsInput } from "./model.js";

/** Data for `fit`: rows as `number[][]`, or a row-major table `{ x, n, dim, context? }`. */
export type FitData = RowsInput | Rows;

/** A config for `fit`: `dim` and `contextDim` may be left out (taken from the data). */
export type FitConfig = Omit<FlowConfig, "dim"> & { dim?: number };

/** Options of `fit`: those of trainFlow, plus preprocessing and provenance. */
export interface FitOptions extends Omit<TrainOptions, "validation" | "dtype" | "lossOffset" | "onCheckpoint"> {
  /**
   * Standardise each dimension with the training rows' mean and std. Default true, except for
   * images and dequantised data (a logit layer in the config is their preprocessing).
   */
  standardize?: boolean;
  /**
   * Explicit validation rows (then nothing is held out of `data`): e.g. MNIST's standard
   * 50,000 / 10,000 split.
   */
  validation?: Rows;
  /** Standardise the context columns too (does not change log p). Default true. */
  standardizeContext?: boolean;
  /** Context rows of a conditional flow (n rows of K values), when `data` does not carry them. */
  context?: ContextInput;
  /** Names of the data columns (stored in the model file, used as CSV headers). */
  columns?: string[];
  /** Names of the context columns. */
  contextColumns?: string[];
  /** Where the data came from (toy name or path), stored in the model file. */
  source?: string;
  /** Progress in the DATA's units (losses include the standardisation). */
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Awaited after every evaluation with the model as it is at that step (data units, like the
   * model fit returns; its `training` is null): training waits until the returned promise
   * settles, so a page draws the model while it learns (`logProbAsync`, `sampleAsync` …) or pauses
   * training by settling later. The model is valid until the next call or the end of fit (then it
   * is disposed): read what you need from it, `toBytesAsync()` included, but do not keep it.
   */
  onCheckpoint?: (model: FlowModel, event: ProgressEvent) => void | Promise<void>;
}

/** Every option of `fit` (a misspelt one is an error). */
export const FIT_OPTION_KEYS = [
  ...TRAIN_OPTION_KEYS.filter((k) => k !== "dtype" && k !== "lossOffset"),
  "standardize", "standardizeContext", "context", "columns", "contextColumns", "source",
] as const;

function isRows(data: FitData): data is Rows {
  return typeof data === "object" && data !== null && !Array.isArray(data) && "x" in data && "n" in data && "dim" in data;
}

function isDiscrete(x: Float64Array): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isInteger(x[i]!)) return false;
  return x.length > 0;
}

function nullIfNotFinite(v: number | undefined): number | null {
  return v !== undefined && Number.isFinite(v) ? v : null;
}

/** At most `max` evenly spread entries of a history (always the last one). */
function summarizeHistory(result: TrainResult, shift: number, max = 200): TrainingRecord["history"] {
  const h = result.history;
  const pick = h.length <= max ? h : Array.from({ length: max }, (_, i) => h[Math.round((i * (h.length - 1)) / (max - 1))]!);
  return {
    step: pick.map((e) => e.step),
    trainLoss: pick.map((e) => nullIfNotFinite(e.trainLoss + shift)),
    valLoss: pick.map((e) => nullIfNotFinite(e.valLoss === undefined ? undefined : e.valLoss + shift)),
  };
}

/**
 * Fits a flow to data by maximum likelihood and returns the trained model (best params kept).
 * `config.dim` (and `contextDim`) default to the data's; given values must agree with it.
 * A divergence does not throw: the model holds the best params seen and `model.training`
 * has `stopReason: "diverged"` and a message saying what to try.
 */
export async function fit(config: FitConfig, data: FitData, options: FitOptions = {}): Promise<FlowModel> {
  rejectUnknownKeys(options, FIT_OPTION_KEYS, "fit", "option");
  // ---- the rows, validated at the boundary
  let x: Float64Array;
  let n: number;
  let dim: number;
  let contextFlat: Float64Array | undefined;
  if (isRows(data)) {
    if (!Number.isInteger(data.dim) || data.dim < 1) throw new ShapeError(`data: expected dim ≥ 1, got ${data.dim}`);
    const r = flatRows(data.x, data.dim, "data");
    if (r.n !== data.n) throw new ShapeError(`data: x has ${data.x.length} values, expected n·dim = ${data.n}·${data.dim}`);
    ({ values: x, n } = r);
    dim = data.dim;
    contextFlat = data.context;
  } else {
    if (data instanceof Float64Array || data instanceof Float32Array) {
      dim = config.dim ?? 0;
    } else {
      const first = (data as readonly (readonly number[])[])[0];
      dim = Array.isArray(first) ? first.length : (config.dim ?? 0);
    }
    if (!(dim >= 1)) throw new ShapeError(`data: cannot tell the dimension (give config.dim, or rows of ≥ 1 values)`);
    ({ values: x, n } = flatRows(data, dim, "data"));
  }
  if (config.dim !== undefined && config.dim !== dim)
    throw new ShapeError(`data: the config says dim ${config.dim}, the data has ${dim} columns`);
  if (n < 2) throw new ShapeError(`data: expected at least 2 rows to fit a flow, got ${n}`);

  if (options.context !== undefined) {
    if (contextFlat !== undefined) throw new ContextError("context: given both in data.context and options.context; give one");
    const K = config.contextDim ?? inferWidth(options.context);
    const r = flatRows(options.context as never, K, "context", ContextError);
    if (r.n !== n) throw new ContextError(`context: expected ${n} rows (one per data row), got ${r.n}`);
    contextFlat = r.values;
  }
  const K = contextFlat === undefined ? 0 : contextFlat.length / n;
  if (!Number.isInteger(K)) throw new ContextError(`context: ${contextFlat!.length} values are not a whole number per row for ${n} rows`);
  if (contextFlat) {
    for (let i = 0; i < contextFlat.length; i++)
      if (!Number.isFinite(contextFlat[i]!))
        throw new NonFiniteError(`context: expected finite numbers, got ${contextFlat[i]} at row ${Math.floor(i / K)}`);
  }
  const contextDim = config.contextDim ?? K;
  if (contextDim !== K)
    throw new ContextError(
      K === 0
        ? `context: the config says contextDim ${contextDim}, but no context was given (options.context or data.context)`
        : `context: the config says contextDim ${contextDim}, the context has ${K} columns per row`,
    );

  // ---- split, then standardise with the training rows only
  const seed = options.seed ?? 0;
  const vf = options.validationFraction ?? 0.1;
  if (!(vf >= 0 && vf < 1)) throw new ConfigError(`validationFraction: expected a number in [0, 1), got ${vf}`);
  const all: Rows = contextFlat ? { x, n, dim, context: contextFlat } : { x, n, dim };
  if (options.validation) {
    const v = options.validation;
    if (v.dim !== dim) throw new ShapeError(`validation: expected ${dim} columns (the data's), got ${v.dim}`);
    if ((v.context === undefined) !== (contextFlat === undefined) || (v.context && v.context.length !== v.n * K))
      throw new ContextError(`validation: expected a context of ${K} columns per row like the data's, got ${v.context ? v.context.length / Math.max(1, v.n) : "none"}`);
  }
  const split = options.validation
    ? { train: all, validation: options.validation }
    : vf > 0
      ? splitRows(all, { validationFraction: vf, seed })
      : { train: all, validation: undefined };
  const train = split.train;
  const validation = split.validation && split.validation.n > 0 ? split.validation : undefined;

  const standardize = options.standardize ?? (options.dequantize === undefined && (config.image ?? null) === null);
  const pre: StandardizationRecord | null = standardize ? { kind: "standardize", ...fitStandardization(train.x, train.n, dim) } : null;
  const ctxStd = K > 0 && (options.standardizeContext ?? true) ? fitStandardization(train.context!, train.n, K) : null;
  const prepare = (rows: Rows): Rows => {
    const out: Rows = { x: pre ? applyStandardization(pre, rows.x) : rows.x, n: rows.n, dim };
    if (rows.context) out.context = ctxStd ? applyStandardization(ctxStd, rows.context) : rows.context;
    return out;
  };
  // log p(x) = log p̃(x̃) − Σ log σ, so a loss −mean log p shifts by +Σ log σ.
  const shift = pre ? -logDetStandardization(pre.std) : 0;

  const { columns, contextColumns } = options;
  if (columns !== undefined && (columns.length !== dim || columns.some((c) => typeof c !== "string")))
    throw new ShapeError(`columns: expected ${dim} names, got ${columns.length}`);
  if (contextColumns !== undefined && contextColumns.length !== K)
    throw new ContextError(`contextColumns: expected ${K} names, got ${contextColumns.length}`);

  // ---- build, init, train
  const { flow, config: normalized } = build({ ...config, dim, contextDim, seed: config.seed ?? seed } as FlowConfig);
  const params = flow.init(keyFromSeed(normalized.seed), normalized.dtype);
  const { onProgress, onCheckpoint, standardize: _s, standardizeContext: _sc, context: _c, validation: _v, columns: _cn, contextColumns: _ccn, source, ...trainOptions } = options;
  const contextInfo: ContextInfo | null =
    K > 0 ? { dim: K, columns: contextColumns ?? null, mean: ctxStd?.mean ?? null, std: ctxStd?.std ?? null } : null;
  const dataInfo: DataInfo = {
    columns: columns ?? null,
    source: source ?? null,
    discrete: isDiscrete(x),
    dequantization: options.dequantize ?? null,
  };
  const inDataUnits = (e: ProgressEvent): ProgressEvent => {
    const shifted: ProgressEvent = { ...e, trainLoss: e.trainLoss + shift };
    if (e.valLoss !== undefined) shifted.valLoss = e.valLoss + shift;
    return shifted;
  };
  // One view for the whole run, its params swapped at every evaluation: its compiled functions
  // are traced once, not at every checkpoint.
  let view: FlowModel | undefined;
  const record = { config: normalized, preprocessing: pre, context: contextInfo, data: dataInfo, training: null };
  const result = await trainFlow(flow, params, prepare(train), {
    ...trainOptions,
    seed,
    validationFraction: 0,
    lossOffset: shift,
    ...(validation ? { validation: prepare(validation) } : {}),
    ...(onProgress ? { onProgress: (e: ProgressEvent) => onProgress(inDataUnits(e)) } : {}),
    ...(onCheckpoint
      ? {
          onCheckpoint: async (p: FlowParams, e: ProgressEvent) => {
            if (view) FlowModel.replaceParams(view, refTree(p));
            else view = new FlowModel(flow, refTree(p), record);
            await onCheckpoint(view, inDataUnits(e));
          },
        }
      : {}),
  }).finally(() => view?.dispose());

  // ---- the record
  const training: TrainingRecord = {
    steps: result.steps,
    bestStep: result.bestStep,
    bestValidationLoss: nullIfNotFinite(result.bestValLoss + shift),
    monitor: result.monitor,
    stopReason: result.stopReason,
    message: result.message,
    seed,
    wallTimeSec: result.wallTimeSec,
    nTrain: result.nTrain,
    nValidation: result.nValidation,
    batchSize: result.batchSize,
    lr: options.lr ?? 1e-3,
    history: summarizeHistory(result, shift),
  };
  if (result.divergence) training.divergence = result.divergence;
  return new FlowModel(flow, result.params, { config: normalized, preprocessing: pre, context: contextInfo, data: dataInfo, training });
}

function inferWidth(context: ContextInput): number {
  if (Array.isArray(context) && Array.isArray(context[0])) return (context[0] as readonly number[]).length;
  throw new ContextError("context: cannot tell its width from a flat array; set config.contextDim");
}
