/**
 * The model file: ONE safetensors file (safetensors.ts) holding everything needed to use a trained
 * flow again. Tensors are the params leaves by dotted path (`bijector.layers.0.net.W.0`, the order
 * and names of engine/tree.ts `treePaths`, batch-norm running statistics included), in the params'
 * dtype, so Python's `safetensors.numpy.load_file` reads the weights. `__metadata__` holds strings:
 *     format          "normalizing-flows-model"
 *     formatVersion   "1"
 *     libraryVersion  the writing library's version
 *     config          the normalised FlowConfig (JSON)
 *     dtype           "float32" | "float64"
 *     preprocessing   JSON: {"kind":"standardize","mean":[...],"std":[...]} or null
 *     context         JSON: {"dim":K,"columns":[...]|null,"mean":[...]|null,"std":[...]|null} or null
 *     data            JSON: {"columns":[...]|null,"source":string|null,"discrete":boolean,
 *                           "dequantization":{"kind":"uniform","levels":L}|null} or null
 *     training        JSON: the training record (steps, best validation loss, seed, wall time ...) or null
 *     createdAt       ISO 8601 time of writing
 *     tensorsCrc32    CRC-32 of the tensors' little-endian bytes, concatenated in sorted name order
 *                     (8 hex digits): damage inside the tensor data is detected on load
 * Decoding validates every part and reports any problem as ONE FileFormatError line
 * `<file>: <problem>`: a truncated or corrupt file, another kind of file, an unsupported format
 * version, a config that does not build, or tensors that are missing, unexpected, or of the wrong
 * shape or dtype for the config. This module is pure (no file system: it runs in the browser);
 * model-file.ts reads and writes files.
 */
import { checkDequantization, type Dequantization } from "../data/dequantize.js";
import { ConfigError, FileFormatError } from "../engine/errors.js";
import { jaxDType, type FloatDType } from "../engine/dtype.js";
import { np } from "../engine/jax.js";
import { keyFromSeed } from "../engine/random.js";
import { disposeTree, mapTree, treeLeaves, treePaths, treeToHost } from "../engine/tree.js";
import type { Flow, FlowParams } from "../distributions/flow.js";
import { build, normalizeConfig, type NormalizedFlowConfig } from "../flows/build.js";
import type { FlowConfig } from "../flows/config.js";
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from "./safetensors.js";
import { crc32 } from "./crc32.js";
import { LIBRARY_VERSION } from "./version.js";

/** The `format` metadata value of a model file. */
export const MODEL_FORMAT = "normalizing-flows-model";
/** The model format version this library writes and the newest it reads. */
export const MODEL_FORMAT_VERSION = 1;
/** Conventional file extension. */
export const MODEL_EXTENSION = ".nflow";

/** Per-dimension standardisation x̃ = (x − mean) / std, fitted on the training rows. */
export interface StandardizationRecord {
  kind: "standardize";
  mean: number[];
  std: number[];
}

/** How a conditional model's context was built and preprocessed. */
export interface ContextInfo {
  /** Context width K (= config.contextDim). */
  dim: number;
  /** Column names in the source table, when the context came from named columns. */
  columns: string[] | null;
  /** Standardisation of the context (no effect on the log-density), or null. */
  mean: number[] | null;
  std: number[] | null;
}

/** Where the training data came from. */
export interface DataInfo {
  /** Column names of x (CSV header), or null. */
  columns: string[] | null;
  /** Toy name or file path, or null. */
  source: string | null;
  /** The values were all integers. */
  discrete: boolean;
  /**
   * How the integer data were dequantised for training, x = (b + u)/levels, or null: the model's
   * density is then on [0, 1]^D and bits/dim in the discrete space are meaningful.
   */
  dequantization: Dequantization | null;
}

/** What training did, in the DATA's units (log-likelihoods include the standardisation). */
export interface TrainingRecord {
  steps: number;
  /** Step whose params were kept (0 = the initial params). */
  bestStep: number;
  /** Best monitored loss (−mean log p per row, nats, data units); null when none was finite. */
  bestValidationLoss: number | null;
  /** Which loss picked the best params. */
  monitor: "validation" | "train";
  stopReason: "completed" | "early-stopped" | "diverged" | "aborted";
  /** The trainer's sentence (what happened, what to try). */
  message: string;
  seed: number;
  wallTimeSec: number;
  nTrain: number;
  nValidation: number;
  batchSize: number;
  /** Base learning rate. */
  lr: number | null;
  /** A summary of the loss curve: at most 200 evaluation points (nats, data units; null = not finite). */
  history: { step: number[]; trainLoss: (number | null)[]; valLoss: (number | null)[] };
}

/** Everything in a model file except the tensors. */
export interface ModelMetadata {
  libraryVersion: string;
  formatVersion: number;
  config: NormalizedFlowConfig;
  dtype: FloatDType;
  preprocessing: StandardizationRecord | null;
  context: ContextInfo | null;
  data: DataInfo | null;
  training: TrainingRecord | null;
  createdAt: string;
}

/** What a caller supplies to write a model file (versions and time are filled in). */
export interface ModelFileInput {
  config: FlowConfig | NormalizedFlowConfig;
  preprocessing?: StandardizationRecord | null;
  context?: ContextInfo | null;
  data?: DataInfo | null;
  training?: TrainingRecord | null;
}

/** A decoded model file: its metadata, the flow its config builds, and its params. */
export interface LoadedModelFile {
  metadata: ModelMetadata;
  flow: Flow;
  /** Owned by the caller (dispose with `disposeTree`). */
  params: FlowParams;
}

/**
 * Encodes a model as safetensors bytes. Does not consume `params`. Throws ConfigError when the
 * config is invalid or the params' dtype disagrees with it.
 */
export function encodeModelFile(input: ModelFileInput, params: FlowParams): Uint8Array {
  const config = normalizeConfig(input.config);
  const host = treeToHost(params);
  const tensors: [string, { shape: number[]; data: Float32Array | Float64Array }][] = [];
  for (const [path, leaf] of Object.entries(host)) {
    if (leaf.dtype !== config.dtype)
      throw new ConfigError(`model file: parameter ${path} is ${leaf.dtype} but the config says dtype ${config.dtype}`);
    tensors.push([path, { shape: leaf.shape, data: leaf.data }]);
  }
  const metadata: Record<string, string> = {
    format: MODEL_FORMAT,
    formatVersion: String(MODEL_FORMAT_VERSION),
    libraryVersion: LIBRARY_VERSION,
    config: JSON.stringify(config),
    dtype: config.dtype,
    preprocessing: JSON.stringify(input.preprocessing ?? null),
    context: JSON.stringify(input.context ?? null),
    data: JSON.stringify(input.data ?? null),
    training: JSON.stringify(input.training ?? null, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v)),
    createdAt: new Date().toISOString(),
    tensorsCrc32: tensorsChecksum(new Map(tensors.map(([k, t]) => [k, t.data]))),
  };
  return encodeSafetensors(tensors, metadata);
}

/** Reads only the metadata of a model file bytes (validated), without building the flow. */
export function decodeModelMetadata(bytes: Uint8Array, source = "model file"): { metadata: ModelMetadata; tensors: Map<string, SafeTensor> } {
  const { metadata: raw, tensors } = decodeSafetensors(bytes, source);
  const metadata = parseMetadata(raw, source);
  const stored = raw.tensorsCrc32;
  if (stored !== undefined) {
    const actual = tensorsChecksum(new Map([...tensors].map(([k, t]) => [k, t.data])));
    if (stored !== actual) throw new FileFormatError(`${source}: corrupt tensor data (checksum ${actual}, the file says ${stored}); the file was damaged`);
  }
  return { metadata, tensors };
}

/** CRC-32 (8 hex digits) of the tensors' little-endian bytes in sorted name order. */
export function tensorsChecksum(tensors: Map<string, Float32Array | Float64Array>): string {
  let crc = 0;
  for (const name of [...tensors.keys()].sort()) {
    const data = tensors.get(name)!;
    crc = crc32(littleEndianBytes(data), crc);
  }
  return crc.toString(16).padStart(8, "0");
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndianBytes(data: Float32Array | Float64Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float64Array) view.setFloat64(i * 8, data[i]!, true);
    else view.setFloat32(i * 4, data[i]!, true);
  }
  return out;
}

/**
 * Decodes model file bytes: validates the metadata, builds the flow from the config and checks that
 * the tensors are exactly the params that config needs (names, shapes, dtype).
 */
export function decodeModelFile(bytes: Uint8Array, source = "model file"): LoadedModelFile {
  const { metadata, tensors } = decodeModelMetadata(bytes, source);
  const bad = (what: string): FileFormatError => new FileFormatError(`${source}: ${what}`);
  let flow: Flow;
  try {
    flow = build(metadata.config).flow;
  } catch (error) {
    throw bad(`the stored config does not build a flow (${firstLine(error)})`);
  }
  // The expected tree (structure, paths, shapes) comes from a fresh init of the same config;
  // its values are then replaced leaf by leaf with the stored ones.
  const template = flow.init(keyFromSeed(metadata.config.seed), metadata.dtype);
  const want = metadata.dtype === "float64" ? "F64" : "F32";
  const paths = treePaths(template);
  const leaves = treeLeaves(template);
  const problem = ((): string | undefined => {
    for (let i = 0; i < paths.length; i++) {
      const path = paths[i]!;
      const shape = leaves[i]!.shape;
      const t = tensors.get(path);
      if (!t) return `tensor ${path} is missing (the file does not match its ${metadata.config.flow} config)`;
      if (t.dtype !== want) return `tensor ${path} is ${t.dtype}, expected ${want} for a ${metadata.dtype} model`;
      if (t.shape.length !== shape.length || t.shape.some((d, j) => d !== shape[j]))
        return `tensor ${path} has shape [${t.shape.join(", ")}], the config needs [${shape.join(", ")}]`;
    }
    const known = new Set(paths);
    for (const name of tensors.keys())
      if (!known.has(name)) return `unexpected tensor ${name} (not a parameter of the stored ${metadata.config.flow} config)`;
    return undefined;
  })();
  if (problem !== undefined) {
    disposeTree(template);
    throw bad(problem);
  }
  const params = mapTree(template, (leaf, path) => {
    const shape = leaf.shape.slice();
    leaf.dispose();
    return np.array(tensors.get(path)!.data, { shape, dtype: jaxDType(metadata.dtype) });
  });
  return { metadata, flow, params };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
}

function parseMetadata(raw: Record<string, string>, source: string): ModelMetadata {
  const bad = (what: string): FileFormatError => new FileFormatError(`${source}: ${what}`);
  if (raw.format === undefined)
    throw bad(`not a normalizing-flows model file (a safetensors file without "format" metadata)`);
  if (raw.format !== MODEL_FORMAT) throw bad(`not a normalizing-flows model file (format is ${JSON.stringify(raw.format)}, expected "${MODEL_FORMAT}")`);
  const version = Number(raw.formatVersion);
  if (!Number.isInteger(version) || version < 1) throw bad(`corrupt metadata (formatVersion ${JSON.stringify(raw.formatVersion)})`);
  if (version > MODEL_FORMAT_VERSION)
    throw bad(
      `model format version ${version} (written by normalizing-flows ${raw.libraryVersion ?? "?"}) is newer than this library reads (${MODEL_FORMAT_VERSION}); upgrade normalizing-flows`,
    );
  const json = (key: string, required = true): unknown => {
    const text = raw[key];
    if (text === undefined) {
      if (required) throw bad(`corrupt metadata (missing ${key})`);
      return null;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw bad(`corrupt metadata (${key} is not valid JSON)`);
    }
  };
  let config: NormalizedFlowConfig;
  try {
    config = normalizeConfig(json("config"));
  } catch (error) {
    if (error instanceof FileFormatError) throw error;
    throw bad(`invalid config in the metadata (${firstLine(error)})`);
  }
  const dtype = raw.dtype;
  if (dtype !== "float32" && dtype !== "float64") throw bad(`corrupt metadata (dtype ${JSON.stringify(dtype)})`);
  if (dtype !== config.dtype) throw bad(`corrupt metadata (dtype ${dtype} disagrees with the config's ${config.dtype})`);
  const preprocessing = parseStandardization(json("preprocessing", false), config.dim, bad);
  const context = parseContext(json("context", false), config.contextDim, bad);
  const data = parseData(json("data", false), config.dim, bad);
  const training = json("training", false);
  if (training !== null && (typeof training !== "object" || Array.isArray(training))) throw bad("corrupt metadata (training must be an object or null)");
  return {
    libraryVersion: raw.libraryVersion ?? "unknown",
    formatVersion: version,
    config,
    dtype,
    preprocessing,
    context,
    data,
    training: training as TrainingRecord | null,
    createdAt: raw.createdAt ?? "",
  };
}

function isNumberArray(v: unknown, length: number, positive = false): v is number[] {
  return (
    Array.isArray(v) &&
    v.length === length &&
    v.every((x) => typeof x === "number" && Number.isFinite(x) && (!positive || x > 0))
  );
}

function parseStandardization(v: unknown, dim: number, bad: (w: string) => FileFormatError): StandardizationRecord | null {
  if (v === null) return null;
  const o = v as Partial<StandardizationRecord>;
  if (typeof v !== "object" || o.kind !== "standardize") throw bad(`corrupt metadata (preprocessing must be {"kind":"standardize",...} or null)`);
  if (!isNumberArray(o.mean, dim)) throw bad(`corrupt metadata (preprocessing.mean must hold ${dim} finite numbers)`);
  if (!isNumberArray(o.std, dim, true)) throw bad(`corrupt metadata (preprocessing.std must hold ${dim} positive numbers)`);
  return { kind: "standardize", mean: o.mean, std: o.std };
}

function parseContext(v: unknown, contextDim: number, bad: (w: string) => FileFormatError): ContextInfo | null {
  if (v === null) {
    return contextDim > 0 ? { dim: contextDim, columns: null, mean: null, std: null } : null;
  }
  const o = v as Partial<ContextInfo>;
  if (typeof v !== "object" || o.dim !== contextDim)
    throw bad(`corrupt metadata (context.dim ${JSON.stringify(o?.dim)} disagrees with the config's contextDim ${contextDim})`);
  const columns = o.columns ?? null;
  if (columns !== null && (!Array.isArray(columns) || columns.length !== contextDim || columns.some((c) => typeof c !== "string")))
    throw bad(`corrupt metadata (context.columns must hold ${contextDim} names)`);
  const mean = o.mean ?? null;
  const std = o.std ?? null;
  if ((mean === null) !== (std === null)) throw bad("corrupt metadata (context.mean and context.std go together)");
  if (mean !== null && (!isNumberArray(mean, contextDim) || !isNumberArray(std, contextDim, true)))
    throw bad(`corrupt metadata (context.mean/std must hold ${contextDim} finite numbers, std positive)`);
  return { dim: contextDim, columns, mean, std };
}

function parseData(v: unknown, dim: number, bad: (w: string) => FileFormatError): DataInfo | null {
  if (v === null) return null;
  const o = v as Partial<DataInfo>;
  if (typeof v !== "object") throw bad("corrupt metadata (data must be an object or null)");
  const columns = o.columns ?? null;
  if (columns !== null && (!Array.isArray(columns) || columns.length !== dim || columns.some((c) => typeof c !== "string")))
    throw bad(`corrupt metadata (data.columns must hold ${dim} names)`);
  let dequantization: Dequantization | null = null;
  if (o.dequantization !== undefined && o.dequantization !== null) {
    try {
      dequantization = checkDequantization(o.dequantization, "data.dequantization");
    } catch {
      throw bad(`corrupt metadata (data.dequantization must be {"kind":"uniform","levels":L} or null)`);
    }
  }
  return { columns, source: typeof o.source === "string" ? o.source : null, discrete: o.discrete === true, dequantization };
}
