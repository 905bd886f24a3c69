/**
 * The high-level trained model. Its user passes and gets plain numbers (`number[][]`, typed
 * arrays) and never handles jax arrays or reference counts. Everything is in the DATA's units:
 * when the model was trained on standardised data x̃ = (x − μ)/σ, the density of x is
 *     log p(x) = log p̃(x̃) − Σ_d log σ_d        (change of variables of the fixed affine map),
 * `sample`/`decode` return x = μ + σ·x̃, and `encode` standardises before the flow's inverse.
 *
 * Inputs are checked at the boundary (ShapeError, NonFiniteError, ContextError) and evaluated in
 * fixed-size chunks (a power of two up to `chunkSize`, the last chunk padded with a copy of a real
 * row) through cached jitted functions, so a few compiled shapes serve every input size.
 */
import { defaultDevice, jit, np, type Array } from "../engine/jax.js";
import { fromValues, type FloatDType } from "../engine/dtype.js";
import { ContextError, FlowError, NonFiniteError, ShapeError } from "../engine/errors.js";
import { keyFromSeed, splitKey, type Key } from "../engine/random.js";
import { countParams, disposeTree, getPath, mapTree, refTree, treeLeaves } from "../engine/tree.js";
import type { Flow, FlowParams } from "../distributions/flow.js";
import { describe, type NormalizedFlowConfig } from "../flows/build.js";
import { applyStandardization, invertStandardization, logDetStandardization } from "../data/standardize.js";
import { padRows } from "../data/split.js";
import {
  decodeModelFile,
  encodeModelFile,
  type ContextInfo,
  type DataInfo,
  type ModelFileInput,
  type StandardizationRecord,
  type TrainingRecord,
} from "../io/model-format.js";
import { LIBRARY_VERSION } from "../io/version.js";
import { fileWriter, NO_FILE_ACCESS } from "../io/file-access.js";
import { sampleTemperature } from "../distributions/distribution.js";
import { withPassListener } from "../bijectors/autoregressive.js";

/** Rows given to a model: `number[][]` (N rows of D values) or a flat row-major typed array. */
export type RowsInput = readonly (readonly number[])[] | Float64Array | Float32Array;

/** A context: N rows of K values, a flat row-major typed array, or one row (shared by every sample). */
export type ContextInput = RowsInput | readonly number[];

/** What a model knows besides its flow and params. */
export interface ModelRecord {
  config: NormalizedFlowConfig;
  preprocessing: StandardizationRecord | null;
  context: ContextInfo | null;
  data: DataInfo | null;
  training: TrainingRecord | null;
  libraryVersion?: string;
  createdAt?: string;
  /** One-line warnings from loading (e.g. an old model format version), for the user. */
  warnings?: readonly string[];
}

/** Options of `FlowModel.sample`. */
export interface ModelSampleOptions {
  /** Seed of the draw. Default: 0 for the first call on a model, 1 for the second ... (reproducible per session). */
  seed?: number;
  /** Context of a conditional model: one row for all samples, or n rows. */
  context?: ContextInput;
  /** Temperature T of the base (z = μ + T·σ·ε; T < 1 gives cleaner, less varied samples). Default 1. */
  temperature?: number;
  /**
   * Progress of long draws, as (done, total) in units of work: chunks of rows, or, for a model
   * that samples with sequential passes (MAF at large D: D passes per layer), single passes.
   */
  onProgress?: (done: number, total: number) => void;
}

/** What `FlowModel.info()` returns. */
export interface ModelInfo {
  flow: NormalizedFlowConfig["flow"];
  dim: number;
  layers: number;
  hidden: number[];
  contextDim: number;
  dtype: FloatDType;
  /** Trainable scalars. */
  parameterCount: number;
  /** Non-trainable scalars (batch-norm running statistics). */
  stateCount: number;
  /** Cost of sampling and of density evaluation. */
  sampling: "parallel" | "sequential";
  density: "parallel" | "sequential";
  /** Human-readable architecture summary (several lines). */
  description: string;
  config: NormalizedFlowConfig;
  preprocessing: StandardizationRecord | null;
  context: ContextInfo | null;
  data: DataInfo | null;
  training: TrainingRecord | null;
  libraryVersion: string;
  createdAt: string | null;
}

/** Options of the FlowModel constructor. */
export interface FlowModelOptions {
  /** Largest number of rows per compiled call. Default 1024 (16 for image flows with resnet conditioners). */
  chunkSize?: number;
}

/**
 * Sequential directions (MAF sampling, IAF density) unroll D passes per layer when traced; beyond
 * this dimension they run eagerly instead, so that compilation never dominates.
 */
const MAX_TRACED_SEQUENTIAL_DIM = 32;

type Fn = ((...args: Array[]) => Array) & { dispose?: () => void };

/** A trained normalizing flow with a plain-numbers API. */
export class FlowModel {
  /** The normalised config the flow was built from. */
  readonly config: NormalizedFlowConfig;
  /** Data dimension D. */
  readonly dim: number;
  /** Context width K (0 for an unconditional model). */
  readonly contextDim: number;
  readonly dtype: FloatDType;
  /** Standardisation of the data (fitted on the training rows), or null. */
  readonly preprocessing: StandardizationRecord | null;
  /** How the context is built and standardised, or null. */
  readonly contextInfo: ContextInfo | null;
  /** Where the training data came from. */
  readonly dataInfo: DataInfo | null;
  /** The training record, or null for an untrained model. */
  readonly training: TrainingRecord | null;
  readonly libraryVersion: string;
  readonly createdAt: string | null;
  /** Warnings from loading the model file (an old format version …), one line each; [] otherwise. */
  readonly warnings: readonly string[];

  private readonly _flow: Flow;
  private _params: FlowParams | null;
  private readonly chunkSize: number;
  private readonly compiled = new Map<string, Fn>();
  private sampleCalls = 0;

  /**
   * Wraps a flow and its params. TAKES OWNERSHIP of `params` (they are disposed by `dispose()`).
   * Usually obtained from `fit` or `loadModel`.
   */
  constructor(flow: Flow, params: FlowParams, record: ModelRecord, options: FlowModelOptions = {}) {
    this._flow = flow;
    this._params = params;
    this.config = record.config;
    this.dim = flow.dim;
    this.contextDim = flow.contextDim;
    this.dtype = record.config.dtype;
    this.preprocessing = record.preprocessing;
    this.contextInfo = record.context;
    this.dataInfo = record.data;
    this.training = record.training;
    this.libraryVersion = record.libraryVersion ?? LIBRARY_VERSION;
    this.createdAt = record.createdAt || null;
    this.warnings = record.warnings?.slice() ?? [];
    // Conv-conditioned image flows hold large activations per row and train in passes of 16 images;
    // chunks of the same size keep jax-js's size-class allocator from fragmenting wasm's 4 GiB.
    this.chunkSize = options.chunkSize ?? (record.config.conditioner === "resnet" ? 16 : 1024);
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < 1)
      throw new ShapeError(`chunkSize: expected an integer ≥ 1, got ${options.chunkSize}`);
  }

  /**
   * The underlying flow (functional layer, jax-js ownership rules apply). It works on the
   * STANDARDISED data when `preprocessing` is set.
   */
  get flow(): Flow {
    return this._flow;
  }

  /**
   * The params tree (functional layer). Still owned by the model: pass `refTree(model.params)` to
   * functions that consume it, and never dispose it.
   */
  get params(): FlowParams {
    if (!this._params) throw new FlowError("this model was disposed; load or fit it again");
    return this._params;
  }

  /**
   * log p(x) of every row, in nats, in the data's units (standardisation included): shape [N].
   * Reads synchronously (wasm and cpu devices); on WebGPU use `logProbAsync`.
   */
  logProb(x: RowsInput, context?: ContextInput): Float64Array {
    return this.readSync(this.logProbReads(x, context), "logProb");
  }

  /** `logProb` with asynchronous reads: works on every device, WebGPU included; the same numbers. */
  logProbAsync(x: RowsInput, context?: ContextInput): Promise<Float64Array> {
    return readAsync(this.logProbReads(x, context));
  }

  /** n samples x ~ p(x) (data units): n rows of D numbers. Synchronous reads; on WebGPU use `sampleAsync`. */
  sample(n: number, options: ModelSampleOptions = {}): number[][] {
    return this.readSync(this.sampleReads(n, options), "sample");
  }

  /** `sample` with asynchronous reads (every device). The seed is taken when called, as for `sample`. */
  sampleAsync(n: number, options: ModelSampleOptions = {}): Promise<number[][]> {
    return readAsync(this.sampleReads(n, options));
  }

  /**
   * n samples and their log-densities from ONE pass in the generative direction (data units, as
   * `sample` and `logProb`): log p(x) = log p_z(z) − log|det J_f(z)| − Σ log σ_d for x = f(z).
   * For an IAF (parallel sampling, sequential density) this is the cheap way to the log-density of
   * its own samples, as variational inference needs. With a temperature the samples are tempered
   * and `logProb` is still the model's (untempered) density of them. Same seed, same samples as `sample`.
   * Synchronous reads; on WebGPU use `sampleAndLogProbAsync`.
   */
  sampleAndLogProb(n: number, options: ModelSampleOptions = {}): { x: number[][]; logProb: Float64Array } {
    return this.readSync(this.sampleAndLogProbReads(n, options), "sampleAndLogProb");
  }

  /** `sampleAndLogProb` with asynchronous reads (every device). */
  sampleAndLogProbAsync(n: number, options: ModelSampleOptions = {}): Promise<{ x: number[][]; logProb: Float64Array }> {
    return readAsync(this.sampleAndLogProbReads(n, options));
  }

  /** x → z: the normalising direction (the base-space code of every row). Synchronous reads; on WebGPU use `encodeAsync`. */
  encode(x: RowsInput, context?: ContextInput): number[][] {
    return this.readSync(this.encodeReads(x, context), "encode");
  }

  /** `encode` with asynchronous reads (every device). */
  encodeAsync(x: RowsInput, context?: ContextInput): Promise<number[][]> {
    return readAsync(this.encodeReads(x, context));
  }

  /** z → x: the generative direction (data units). Synchronous reads; on WebGPU use `decodeAsync`. */
  decode(z: RowsInput, context?: ContextInput): number[][] {
    return this.readSync(this.decodeReads(z, context), "decode");
  }

  /** `decode` with asynchronous reads (every device). */
  decodeAsync(z: RowsInput, context?: ContextInput): Promise<number[][]> {
    return readAsync(this.decodeReads(z, context));
  }

  /**
   * The flow layer by layer in the generative direction: z(0) = z, z(1), …, z(L) (each N×D, in the
   * flow's own space), followed, when the model standardises its data, by x in data units. For
   * pictures of what every layer does. Synchronous reads; on WebGPU use `forwardLayersAsync`.
   */
  forwardLayers(z: RowsInput, context?: ContextInput): number[][][] {
    return this.readSync(this.layersReads("forward", z, context), "forwardLayers");
  }

  /** `forwardLayers` with asynchronous reads (every device). */
  forwardLayersAsync(z: RowsInput, context?: ContextInput): Promise<number[][][]> {
    return readAsync(this.layersReads("forward", z, context));
  }

  /**
   * The flow layer by layer in the normalising direction, the reverse of `forwardLayers`: x in
   * data units (when the model standardises its data), then z(L) = x̃, z(L−1), …, z(0) = g(x).
   * Synchronous reads; on WebGPU use `inverseLayersAsync`.
   */
  inverseLayers(x: RowsInput, context?: ContextInput): number[][][] {
    return this.readSync(this.layersReads("inverse", x, context), "inverseLayers");
  }

  /** `inverseLayers` with asynchronous reads (every device). */
  inverseLayersAsync(x: RowsInput, context?: ContextInput): Promise<number[][][]> {
    return readAsync(this.layersReads("inverse", x, context));
  }

  private *logProbReads(x: RowsInput, context: ContextInput | undefined): Reads<Float64Array> {
    const rows = this.rows(x, "x");
    const ctx = this.contextRows(context, rows.n, "logProb");
    const out = yield* this.run("logProb", this._flow.bijector.inversePass, this.standardize(rows.values, rows.n, "x"), rows.n, ctx, 1);
    const shift = this.logScaleSum();
    const lp = new Float64Array(rows.n);
    for (let i = 0; i < rows.n; i++) lp[i] = out[i]! - shift;
    return lp;
  }

  private *sampleReads(n: number, options: ModelSampleOptions): Reads<number[][]> {
    const { seed, temperature, ctx } = this.drawArguments(n, options, "sample");
    if (n === 0) return [];
    const values = yield* this.run("sample", this._flow.bijector.forwardPass, undefined, n, ctx, this.dim, seed, temperature, options.onProgress);
    return toRows(this.unstandardize(values, n), n, this.dim);
  }

  private *sampleAndLogProbReads(n: number, options: ModelSampleOptions): Reads<{ x: number[][]; logProb: Float64Array }> {
    const { seed, temperature, ctx } = this.drawArguments(n, options, "sampleAndLogProb");
    if (n === 0) return { x: [], logProb: new Float64Array(0) };
    const D = this.dim;
    const both = yield* this.run("sampleAndLogProb", this._flow.bijector.forwardPass, undefined, n, ctx, D + 1, seed, temperature, options.onProgress);
    const x = new Float64Array(n * D);
    const logProb = new Float64Array(n);
    const shift = this.logScaleSum();
    for (let i = 0; i < n; i++) {
      for (let d = 0; d < D; d++) x[i * D + d] = both[i * (D + 1) + d]!;
      logProb[i] = both[i * (D + 1) + D]! - shift;
    }
    return { x: toRows(this.unstandardize(x, n), n, D), logProb };
  }

  /** The checked arguments of a draw: its seed (the call count by default), temperature and context rows. */
  private drawArguments(n: number, options: ModelSampleOptions, what: string): { seed: number; temperature: number; ctx: Float64Array | undefined } {
    if (!Number.isInteger(n) || n < 0) throw new ShapeError(`${what}: expected a whole number of samples n ≥ 0, got ${n}`);
    const seed = options.seed ?? this.sampleCalls;
    this.sampleCalls++;
    if (!Number.isInteger(seed)) throw new ShapeError(`${what}: expected an integer seed, got ${seed}`);
    const temperature = sampleTemperature(options, this._flow.base.kind);
    return { seed, temperature, ctx: this.contextRows(options.context, n, "sample") };
  }

  private *encodeReads(x: RowsInput, context: ContextInput | undefined): Reads<number[][]> {
    const rows = this.rows(x, "x");
    const ctx = this.contextRows(context, rows.n, "encode");
    const z = yield* this.run("encode", this._flow.bijector.inversePass, this.standardize(rows.values, rows.n, "x"), rows.n, ctx, this.dim);
    return toRows(z, rows.n, this.dim);
  }

  private *decodeReads(z: RowsInput, context: ContextInput | undefined): Reads<number[][]> {
    const rows = this.rows(z, "z");
    checkRange(rows.values, this.dim, this.dtype, "z", false);
    const ctx = this.contextRows(context, rows.n, "decode");
    const x = yield* this.run("decode", this._flow.bijector.forwardPass, rows.values, rows.n, ctx, this.dim);
    return toRows(this.unstandardize(x, rows.n), rows.n, this.dim);
  }

  /** Every stage of one direction, eagerly (one pass, every intermediate read back). */
  private *layersReads(direction: "forward" | "inverse", input: RowsInput, context: ContextInput | undefined): Reads<number[][][]> {
    const where = direction === "forward" ? "forwardLayers" : "inverseLayers";
    const rows = this.rows(input, direction === "forward" ? "z" : "x");
    const ctx = this.contextRows(context, rows.n, where);
    const values = direction === "forward" ? rows.values : this.standardize(rows.values, rows.n, "x");
    const params = this.params;
    const inArr = fromValues(values, [rows.n, this.dim], this.dtype);
    const cArr = ctx ? fromValues(ctx, [rows.n, this.contextDim], this.dtype) : undefined;
    const r = this._flow[direction](refTree(params), inArr, cArr, { intermediates: true });
    r.logDet.dispose();
    if (r.state) for (const v of Object.values(r.state)) v.dispose();
    const toRead = [...(r.intermediates ?? []), r.y];
    const read: Float64Array[] = [];
    try {
      while (toRead.length > 0) read.push(Float64Array.from(yield toRead.shift()!));
    } finally {
      for (const a of toRead) a.dispose();
    }
    const y = read.pop()!;
    const layers = read.map((v) => toRows(v, rows.n, this.dim));
    if (layers.length === 0) layers.push(toRows(values, rows.n, this.dim), toRows(y, rows.n, this.dim));
    if (direction === "forward") {
      if (this.preprocessing) layers.push(toRows(this.unstandardize(y, rows.n), rows.n, this.dim));
      return layers;
    }
    // the inverse pass listed x̃ = z(L) first: prepend x in data units when it differs
    if (this.preprocessing) layers.unshift(toRows(rows.values, rows.n, this.dim));
    return layers;
  }

  /** Refuses a synchronous read on a device that only reads asynchronously, naming the async form. */
  private checkSyncReads(what: string): void {
    const leaf = this._params ? treeLeaves(this._params)[0] : undefined;
    for (const device of [defaultDevice(), leaf?.device]) {
      if (device !== undefined && device !== "wasm" && device !== "cpu")
        throw new FlowError(`${what}: the ${device} device cannot read results synchronously; use await model.${what}Async(…) (the same numbers)`);
    }
  }

  /**
   * Drives a computation with synchronous reads, after checking that the device allows them:
   * WebGPU (and WebGL) read only asynchronously — a sync read there returned zeros and lost the
   * device (docs/reference/ENGINE-NOTES.md) — so the sync form refuses with the async form's name.
   */
  private readSync<T>(reads: Reads<T>, what: string): T {
    this.checkSyncReads(what);
    let r = reads.next();
    while (!r.done) {
      let values: ArrayLike<number>;
      try {
        values = r.value.dataSync() as Float32Array | Float64Array;
      } catch (e) {
        r = reads.throw(e);
        continue;
      }
      r = reads.next(values);
    }
    return r.value;
  }

  /**
   * Writes the model file atomically (temporary file, fsync, rename: a crash never leaves a broken
   * file where a good one was). Node.js only (the writer comes from the Node entry, see
   * io/file-access.ts); in a browser it rejects with a one-line FlowError pointing to `toBytes()`,
   * which gives the same bytes anywhere.
   */
  async save(path: string): Promise<void> {
    const write = fileWriter();
    if (!write) throw new FlowError(NO_FILE_ACCESS);
    await write(path, await this.toBytesAsync());
  }

  /**
   * The model file's bytes (safetensors with the model's metadata, format version 2). A flow that
   * its config does not describe (a hand-built `new FlowModel(new Flow(…), …)`) is refused with a
   * one-line ConfigError: its file could never be loaded. A loaded model keeps its `createdAt`.
   */
  toBytes(): Uint8Array {
    this.checkSyncReads("toBytes");
    return encodeModelFile(this.record(), this.params, this._flow);
  }

  /**
   * `toBytes` with asynchronous reads (every device, WebGPU included): the params are read back
   * with `data()` onto the cpu device, then encoded exactly as `toBytes` encodes them.
   */
  async toBytesAsync(): Promise<Uint8Array> {
    const params = this.params;
    const values = await Promise.all(treeLeaves(params).map((leaf) => leaf.ref.data()));
    let i = 0;
    const host = mapTree(params, (leaf) => np.array(values[i++] as Float32Array | Float64Array, { shape: leaf.shape, dtype: leaf.dtype, device: "cpu" }));
    try {
      return encodeModelFile(this.record(), host, this._flow);
    } finally {
      disposeTree(host);
    }
  }

  /** Decodes model file bytes (a browser upload, a fetch) as a FlowModel; `source` names it in errors. */
  static fromBytes(bytes: Uint8Array, source = "model file", options: FlowModelOptions = {}): FlowModel {
    const { metadata, flow, params, warnings } = decodeModelFile(bytes, source);
    return new FlowModel(flow, params, { ...metadata, warnings }, options);
  }

  private record(): ModelFileInput {
    return {
      config: this.config,
      preprocessing: this.preprocessing,
      context: this.contextInfo,
      data: this.dataInfo,
      training: this.training,
      createdAt: this.createdAt,
    };
  }

  /** Architecture, parameter counts and the training record. */
  info(): ModelInfo {
    const params = this.params;
    const total = countParams(params);
    const state = this._flow.stateLeaves.reduce((s, path) => s + getPath(params, path).size, 0);
    return {
      flow: this.config.flow,
      dim: this.dim,
      layers: this.config.layers,
      hidden: this.config.hidden.slice(),
      contextDim: this.contextDim,
      dtype: this.dtype,
      parameterCount: total - state,
      stateCount: state,
      sampling: this._flow.bijector.forwardPass,
      density: this._flow.bijector.inversePass,
      description: describe(this.config),
      config: this.config,
      preprocessing: this.preprocessing,
      context: this.contextInfo,
      data: this.dataInfo,
      training: this.training,
      libraryVersion: this.libraryVersion,
      createdAt: this.createdAt,
    };
  }

  /**
   * Swaps in new params of the same flow (TAKES OWNERSHIP of them; the old ones are disposed),
   * keeping the compiled functions: `fit`'s view of the model at each evaluation (onCheckpoint).
   */
  static replaceParams(model: FlowModel, params: FlowParams): void {
    if (!model._params) throw new FlowError("this model was disposed; load or fit it again");
    disposeTree(model._params);
    model._params = params;
  }

  /** Frees the params and compiled functions. The model cannot be used afterwards. */
  dispose(): void {
    if (!this._params) return;
    disposeTree(this._params);
    this._params = null;
    for (const fn of this.compiled.values()) fn.dispose?.();
    this.compiled.clear();
  }

  // ---- internals -------------------------------------------------------------------------

  /** Σ_d log σ_d of the standardisation (0 without one). */
  private logScaleSum(): number {
    return this.preprocessing ? -logDetStandardization(this.preprocessing.std) : 0;
  }

  /** (x − μ)/σ, checked against the dtype's range (NonFiniteError naming row and column). */
  private standardize(values: Float64Array, n: number, what: string): Float64Array {
    const out = this.preprocessing && n > 0 ? applyStandardization(this.preprocessing, values) : values;
    checkRange(out, this.dim, this.dtype, what, out !== values);
    return out;
  }

  private unstandardize(values: Float64Array, n: number): Float64Array {
    return this.preprocessing && n > 0 ? invertStandardization(this.preprocessing, values) : values;
  }

  /** Validates rows (shape, finiteness) and returns them as a flat float64 array. */
  private rows(x: RowsInput, what: string): { values: Float64Array; n: number } {
    return flatRows(x, this.dim, what);
  }

  /** Validates and standardises a context for n rows (undefined for unconditional models). */
  private contextRows(context: ContextInput | undefined, n: number, where: string): Float64Array | undefined {
    const K = this.contextDim;
    if (K === 0) {
      if (context !== undefined)
        throw new ContextError(`${where}: this model is unconditional (context size 0), but a context was given; leave it out`);
      return undefined;
    }
    if (context === undefined)
      throw new ContextError(`${where}: this model is conditional and needs a context of ${K} value${K > 1 ? "s" : ""} per row`);
    let flat: Float64Array;
    const isSingleRow = Array.isArray(context) && (context.length === 0 || typeof context[0] === "number");
    if (isSingleRow) {
      const row = flatRows([context as readonly number[]], K, "context", ContextError).values;
      flat = new Float64Array(n * K);
      for (let i = 0; i < n; i++) flat.set(row, i * K);
    } else {
      const r = flatRows(context as RowsInput, K, "context", ContextError);
      if (r.n !== n && r.n === 1) {
        flat = new Float64Array(n * K);
        for (let i = 0; i < n; i++) flat.set(r.values, i * K);
      } else if (r.n !== n) {
        throw new ContextError(`context: expected ${n} rows (one per ${where === "sample" ? "sample" : "input row"}) or 1, got ${r.n}`);
      } else {
        flat = r.values;
      }
    }
    const info = this.contextInfo;
    const out = info?.mean && info.std && n > 0 ? applyStandardization({ mean: info.mean, std: info.std }, flat) : flat;
    checkRange(out, K, this.dtype, "context", out !== flat);
    return out;
  }

  /** Whether an operation of this pass kind runs as one compiled call (else eagerly, pass by pass). */
  private traced(pass: "parallel" | "sequential"): boolean {
    return pass === "parallel" || this.dim <= MAX_TRACED_SEQUENTIAL_DIM;
  }

  /** The compiled (or eager, for long sequential passes) function of one operation. */
  private fn(op: Operation, pass: "parallel" | "sequential", B: number, temperature = 1): Fn {
    const name = op === "sample" || op === "sampleAndLogProb" ? `${op}:${B}:${temperature}` : op;
    const cached = this.compiled.get(name);
    if (cached) return cached;
    const flow = this._flow;
    const conditional = this.contextDim > 0;
    const body = (p: FlowParams, a: Array, c?: Array): Array => {
      switch (op) {
        case "logProb":
          return flow.logProb(p, a, c, { training: false });
        case "encode":
        case "decode": {
          const r = op === "encode" ? flow.inverse(p, a, c) : flow.forward(p, a, c);
          r.logDet.dispose();
          if (r.state) for (const v of Object.values(r.state)) v.dispose();
          return r.y;
        }
        case "sample":
          // the model's dtype, not the params' (a parameter-free flow has none and would sample float32)
          return flow.sample(p, a as Key, B, c, temperature === 1 ? { dtype: this.dtype } : { temperature, dtype: this.dtype });
        case "sampleAndLogProb": {
          // one output array [B, D + 1]: the samples, then their log-density as the last column
          const r = flow.sampleAndLogProb(p, a as Key, B, c, temperature === 1 ? { dtype: this.dtype } : { temperature, dtype: this.dtype });
          return np.concatenate([r.x, r.logProb.reshape([B, 1])], 1);
        }
      }
    };
    const raw = (conditional
      ? (p: FlowParams, a: Array, c: Array) => body(p, a, c)
      : (p: FlowParams, a: Array) => body(p, a)) as unknown as Fn;
    const fn = this.traced(pass) ? (jit(raw as never) as unknown as Fn) : raw;
    this.compiled.set(name, fn);
    return fn;
  }

  /**
   * Runs an operation over n rows in chunks of B (a power of two ≤ chunkSize). `input` is the
   * flat float64 batch (undefined for sampling), `width` the output values per row.
   */
  private *run(
    op: Operation,
    pass: "parallel" | "sequential",
    input: Float64Array | undefined,
    n: number,
    context: Float64Array | undefined,
    width: number,
    seed = 0,
    temperature = 1,
    onProgress?: (done: number, total: number) => void,
  ): Reads<Float64Array> {
    const params = this.params;
    const out = new Float64Array(n * width);
    if (n === 0) return out;
    const B = chunkFor(n, this.chunkSize);
    const D = this.dim;
    const K = this.contextDim;
    const chunks = Math.ceil(n / B);
    const sampling = op === "sample" || op === "sampleAndLogProb";
    const keys: Key[] | undefined = sampling ? (chunks === 1 ? [keyFromSeed(seed)] : splitKey(keyFromSeed(seed), chunks)) : undefined;
    const fn = this.fn(op, pass, B, temperature);
    const traced = this.traced(pass);
    // eager sequential passes: every chunk runs D passes through each of the `layers` sequential layers (a MAF's)
    const total = chunks * D * this.config.layers;
    let done = 0;
    const listener = onProgress && !traced ? (passes: number) => onProgress(Math.min((done += passes), total), total) : undefined;
    try {
      for (let c = 0; c < chunks; c++) {
        const start = c * B;
        const m = Math.min(B, n - start);
        const first = sampling ? keys![c]! : fromValues(padRows(input!, start, m, B, D, this.dtype), [B, D], this.dtype);
        if (sampling) keys![c] = undefined as unknown as Key;
        const args: Array[] = [refTree(params) as unknown as Array, first];
        if (K > 0) args.push(fromValues(padRows(context!, start, m, B, K, this.dtype), [B, K], this.dtype));
        const result = listener ? withPassListener(listener, () => fn(...args)) : fn(...args);
        const values: ArrayLike<number> = yield result;
        for (let i = 0; i < m * width; i++) out[start * width + i] = values[i]!;
        if (traced) onProgress?.(c + 1, chunks);
      }
    } finally {
      keys?.forEach((k) => k?.dispose());
    }
    return out;
  }
}

/**
 * A computation of the model written once for both kinds of read: it yields each array whose
 * values it needs (the array is consumed by the read) and receives them; the driver reads with
 * `dataSync()` (FlowModel.readSync) or `await data()` (readAsync), so the sync and async forms run
 * the same kernels and give the same bits.
 */
type Reads<T> = Generator<Array, T, ArrayLike<number>>;

/** Drives a computation with asynchronous reads (`await array.data()`), which every device supports. */
async function readAsync<T>(reads: Reads<T>): Promise<T> {
  let r = reads.next();
  while (!r.done) {
    let values: ArrayLike<number>;
    try {
      values = (await r.value.data()) as Float32Array | Float64Array;
    } catch (e) {
      r = reads.throw(e);
      continue;
    }
    r = reads.next(values);
  }
  return r.value;
}

/** What `run` computes: one output row of a fixed width per input row (or per sample). */
type Operation = "logProb" | "encode" | "decode" | "sample" | "sampleAndLogProb";

/** Rows per compiled call: the next power of two ≥ n, at most `max` (few shapes, little padding). */
function chunkFor(n: number, max: number): number {
  let b = 1;
  while (b < n && b < max) b *= 2;
  return Math.min(b, max);
}


/** A flat row-major array as `number[][]`. */
export function toRows(values: ArrayLike<number>, n: number, width: number): number[][] {
  const rows: number[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    const row = new Array<number>(width);
    for (let d = 0; d < width; d++) row[d] = values[i * width + d]!;
    rows[i] = row;
  }
  return rows;
}

/**
 * Validates rows given as `number[][]` or a flat typed array against a width and returns them flat
 * (float64). Wrong widths → ShapeError (or `ErrorType`), NaN/±∞ → NonFiniteError naming the row.
 */
export function flatRows(
  x: RowsInput,
  width: number,
  what: string,
  ErrorType: new (message: string) => FlowError = ShapeError,
): { values: Float64Array; n: number } {
  let values: Float64Array;
  let n: number;
  if (x instanceof Float64Array || x instanceof Float32Array) {
    if (x.length % width !== 0)
      throw new ErrorType(`${what}: a flat array of ${x.length} values is not a whole number of rows of ${width}`);
    n = x.length / width;
    values = x instanceof Float64Array ? x : Float64Array.from(x);
  } else if (Array.isArray(x)) {
    n = x.length;
    values = new Float64Array(n * width);
    for (let i = 0; i < n; i++) {
      const row = x[i] as unknown;
      if (!Array.isArray(row) && !(row instanceof Float64Array) && !(row instanceof Float32Array))
        throw new ErrorType(`${what}: expected rows of ${width} numbers (number[][]), row ${i} is ${typeof row === "number" ? "a number" : typeof row}`);
      const r = row as ArrayLike<unknown>;
      if (r.length !== width) throw new ErrorType(`${what}: expected ${width} values per row, row ${i} has ${r.length}`);
      for (let d = 0; d < width; d++) {
        const v = r[d];
        if (typeof v !== "number") throw new ErrorType(`${what}: expected numbers, got ${typeof v} at row ${i}, column ${d}`);
        values[i * width + d] = v;
      }
    }
  } else {
    throw new ErrorType(`${what}: expected number[][] or a Float64Array/Float32Array, got ${x === null ? "null" : typeof x}`);
  }
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!))
      throw new NonFiniteError(`${what}: expected finite numbers, got ${values[i]} at row ${Math.floor(i / width)}, column ${i % width}`);
  }
  return { values, n };
}

/** Largest finite float32 (2 − 2⁻²³)·2¹²⁷. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Rejects values the model's dtype cannot hold (NonFiniteError naming the row and column, 0-based
 * as in `flatRows`): a float32 model computes in float32, where |v| > 3.4e38 is ±Infinity and the
 * results would be NaN. `standardized`: the values are (x − μ)/σ, which may overflow where x did not.
 */
function checkRange(
  values: Float64Array,
  width: number,
  dtype: FloatDType,
  what: string,
  standardized: boolean,
): void {
  const max = dtype === "float32" ? FLOAT32_MAX : Number.MAX_VALUE;
  for (let i = 0; i < values.length; i++) {
    if (Math.abs(values[i]!) <= max) continue;
    const at = `row ${Math.floor(i / width)}, column ${i % width}`;
    throw new NonFiniteError(
      `${what}: the value at ${at} is ${values[i]}${standardized ? " after the model's standardisation (x − μ)/σ" : ""}, beyond the range of ${dtype} (±${max.toPrecision(3)}), in which this model computes`,
    );
  }
}
