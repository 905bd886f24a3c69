/**
 * The model file: ONE safetensors file (safetensors.ts) holding everything needed to use a trained
 * flow again; docs/model-format.md specifies it for readers in other languages. Format version 2
 * (written) stores the params under CANONICAL names (canonical.ts: `layers.3.conditioner.linear0.weight`,
 * per mathematical layer, independent of how the library stacks layers in memory), in the params'
 * dtype, so Python's `safetensors.numpy.load_file` reads the weights. `__metadata__` holds strings:
 *     format          "normalizing-flows-model"
 *     formatVersion   "2"
 *     libraryVersion  the writing library's version
 *     config          the normalised FlowConfig (JSON)
 *     dtype           "float32" | "float64"
 *     layers          JSON: the layer list in forward order (canonical.ts canonicalLayout), derived
 *                     from config; the loader recomputes it and refuses a file where it differs
 *     preprocessing   JSON: {"kind":"standardize","mean":[...],"std":[...]} or null
 *     context         JSON: {"dim":K,"columns":[...]|null,"mean":[...]|null,"std":[...]|null} or null
 *     data            JSON: {"columns":[...]|null,"source":string|null,"discrete":boolean,
 *                           "dequantization":{"kind":"uniform","levels":L}|null} or null
 *     training        JSON: the training record (steps, best validation loss, seed, wall time ...) or null
 *     createdAt       ISO 8601 time the model was first written (kept by later saves)
 *     savedAt         ISO 8601 time of this writing
 *     fileCrc32       CRC-32 (8 lowercase hex digits) of the WHOLE file's bytes with these 8 digits
 *                     read as "00000000" (checkFileChecksum): header, metadata and tensors are covered
 * Version 1 files (tensors by in-memory path `bijector.layers.0.net.W.0`, `tensorsCrc32` over the
 * tensor bytes only) still load, with a warning that their metadata is not covered.
 * Decoding validates every part and reports any problem as ONE FileFormatError line
 * `<file>: <problem>`: a truncated or corrupt file (checksum), another kind of file, an unsupported
 * format version, a config that does not build, tensors that are missing, unexpected, of the wrong
 * shape or dtype for the config, or that hold NaN/±Infinity. The config's size limits
 * (normalizeConfig) are checked before anything is built or allocated. This module is pure (no
 * file system: it runs in the browser); model-file.ts reads and writes files.
 */
import { checkDequantization, type Dequantization } from "../data/dequantize.js";
import { ConfigError, FileFormatError, NonFiniteError } from "../engine/errors.js";
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
import { canonicalLayout, fromCanonical, toCanonical, UndescribableFlowError, type LayerDescription } from "./canonical.js";
import type { Divergence } from "../train/divergence.js";

/** The `format` metadata value of a model file. */
export const MODEL_FORMAT = "normalizing-flows-model";
/** The model format version this library writes and the newest it reads. */
export const MODEL_FORMAT_VERSION = 2;
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
  /** What stopped a diverged run (train/divergence.ts; losses in data units), when it diverged. */
  divergence?: Divergence;
  seed: number;
  wallTimeSec: number;
  nTrain: number;
  nValidation: number;
  batchSize: number;
  /** Base learning rate. */
  lr: number | null;
  /** A summary of the loss curve: at most 200 evaluation points (nats, data units; null = not finite). */
  history: { step: number[]; trainLoss: (number | null)[]; valLoss: (number | null)[] };
  /** Variational inference (nflow vi): the target and the estimates at the end of training; absent for maximum likelihood. */
  variational?: VariationalRecord;
}

/** What a variational fit records: its target and the figures of q against it (train/variational.ts). */
export interface VariationalRecord {
  /** A built-in target's name, or the path of the module it came from. */
  target: string;
  targetKind: "builtin" | "module";
  /** log Z of the target where known, and how it is known. */
  trueLogZ: number | null;
  trueLogZMethod: "exact" | "quadrature" | null;
  /** Samples of q per step. */
  samplesPerStep: number;
  /** Samples of the estimates; ELBO, log Ẑ (importance sampling) and their standard errors; Kish ESS and ESS/N (null = not finite). */
  samples: number;
  elbo: number | null;
  elboStdErr: number | null;
  logZ: number | null;
  logZStdErr: number | null;
  ess: number;
  essFraction: number;
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
  /** When the model was first written (kept by later saves); "" when the file does not say. */
  createdAt: string;
  /** When this file was written (version 2), else null. */
  savedAt: string | null;
  /** Version 2: the layer list stored in `layers` (equal to the config's); version 1: null. */
  layers: LayerDescription[] | null;
}

/** What a caller supplies to write a model file (versions and time are filled in). */
export interface ModelFileInput {
  config: FlowConfig | NormalizedFlowConfig;
  preprocessing?: StandardizationRecord | null;
  context?: ContextInfo | null;
  data?: DataInfo | null;
  training?: TrainingRecord | null;
  /** The original creation time of a model being saved again (default: now). */
  createdAt?: string | null;
}

/** A decoded model file: its metadata, the flow its config builds, and its params. */
export interface LoadedModelFile {
  metadata: ModelMetadata;
  flow: Flow;
  /** Owned by the caller (dispose with `disposeTree`). */
  params: FlowParams;
  /** One-line warnings for the user (e.g. a version 1 file whose metadata no checksum covers). */
  warnings: string[];
}

/**
 * Encodes a model as safetensors bytes (format version 2: canonical tensor names, the layer list,
 * a checksum over the whole file). Does not consume `params`. `flow`, when given, is the flow the
 * params belong to: it must be the one the config describes, else the file could never be loaded
 * again and saving is refused (UndescribableFlowError, a ConfigError, one line). Throws
 * ConfigError when the config is invalid or the params' dtype disagrees with it.
 */
export function encodeModelFile(input: ModelFileInput, params: FlowParams, flow?: Flow): Uint8Array {
  const config = normalizeConfig(input.config);
  const configFlow = build(config).flow;
  const { description } = canonicalLayout(configFlow);
  if (flow !== undefined && flow !== configFlow) {
    const own = canonicalLayout(flow).description;
    const difference = firstDifference(own, description);
    if (difference !== undefined)
      throw new UndescribableFlowError(
        `model file: cannot save this flow: it is not the flow its config describes (${difference}); only flows built from their config (fit, build, nflow train) can be saved`,
      );
  }
  const host = treeToHost(params);
  for (const [path, leaf] of Object.entries(host))
    if (leaf.dtype !== config.dtype)
      throw new ConfigError(`model file: parameter ${path} is ${leaf.dtype} but the config says dtype ${config.dtype}`);
  const tensors = toCanonical(flow ?? configFlow, host);
  // a file with NaN/±Infinity params would be refused at load: refuse it here, writing nothing
  for (const [name, t] of tensors) {
    const i = t.data.findIndex((v) => !Number.isFinite(v));
    if (i >= 0)
      throw new NonFiniteError(`model file: cannot save: parameter ${name} holds ${t.data[i]} at index [${unravel(i, t.shape).join(", ")}]; nothing was written`);
  }
  const now = new Date().toISOString();
  const metadata: Record<string, string> = {
    format: MODEL_FORMAT,
    formatVersion: String(MODEL_FORMAT_VERSION),
    libraryVersion: LIBRARY_VERSION,
    config: JSON.stringify(config),
    dtype: config.dtype,
    layers: JSON.stringify(description.layers),
    preprocessing: JSON.stringify(input.preprocessing ?? null),
    context: JSON.stringify(input.context ?? null),
    data: JSON.stringify(input.data ?? null),
    training: JSON.stringify(input.training ?? null, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v)),
    createdAt: input.createdAt || now,
    savedAt: now,
  };
  return sealModelFile(tensors, metadata);
}

/** Where two descriptions first differ, as a short phrase, or undefined when they are equal. */
function firstDifference(a: unknown, b: unknown, path = "flow"): string | undefined {
  if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path} has ${a.length} entries, the config gives ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
  }
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = a as Record<string, unknown>;
    const kb = b as Record<string, unknown>;
    for (const k of new Set([...Object.keys(ka), ...Object.keys(kb)])) {
      const d = firstDifference(ka[k], kb[k], `${path}.${k}`);
      if (d) return d;
    }
  }
  const show = (v: unknown): string => {
    const s = JSON.stringify(v) ?? "nothing";
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  };
  return `${path} is ${show(a)}, the config gives ${show(b)}`;
}

/** The metadata key of the whole-file checksum, and the bytes that introduce its value in the header. */
export const FILE_CHECKSUM_KEY = "fileCrc32";
const CHECKSUM_MARK = new TextEncoder().encode(`"${FILE_CHECKSUM_KEY}":"`);
const PLACEHOLDER = new TextEncoder().encode("00000000");

/**
 * safetensors bytes of `tensors` and `metadata` with `fileCrc32` filled in: the CRC-32 of the file
 * written with "00000000" in its place (exported for tests and tools that craft model files).
 */
export function sealModelFile(
  tensors: Iterable<[string, { shape: readonly number[]; data: Float32Array | Float64Array }]>,
  metadata: Record<string, string>,
): Uint8Array {
  const bytes = encodeSafetensors(tensors, { ...metadata, [FILE_CHECKSUM_KEY]: "00000000" });
  const found = locateChecksum(bytes);
  if (typeof found === "string") throw new ConfigError(`model file: ${found}`);
  const hex = crc32(bytes).toString(16).padStart(8, "0");
  bytes.set(new TextEncoder().encode(hex), found);
  return bytes;
}

/**
 * The byte offset of the 8 hex digits of `fileCrc32` in the header, or why it cannot be found: the
 * header must contain the bytes `"fileCrc32":"` exactly once, followed by 8 bytes and a `"`.
 */
function locateChecksum(bytes: Uint8Array): number | string {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const end = 8 + n;
  let at = -1;
  outer: for (let i = 8; i + CHECKSUM_MARK.length <= end; i++) {
    for (let j = 0; j < CHECKSUM_MARK.length; j++) if (bytes[i + j] !== CHECKSUM_MARK[j]) continue outer;
    if (at >= 0) return `the header holds "${FILE_CHECKSUM_KEY}" more than once`;
    at = i + CHECKSUM_MARK.length;
  }
  if (at < 0) return `checksum missing: a version ${MODEL_FORMAT_VERSION} model file must carry ${FILE_CHECKSUM_KEY}`;
  if (at + 9 > end || bytes[at + 8] !== 0x22) return `the ${FILE_CHECKSUM_KEY} value is not 8 characters`;
  return at;
}

/**
 * Verifies the whole-file checksum of version 2 bytes: CRC-32 of every byte of the file with the 8
 * digits of `fileCrc32` read as "00000000". Returns a problem ("checksum …") or undefined.
 */
export function checkFileChecksum(bytes: Uint8Array, stored: string | undefined): string | undefined {
  if (stored === undefined) return `checksum missing: a version ${MODEL_FORMAT_VERSION} model file must carry ${FILE_CHECKSUM_KEY}`;
  const at = locateChecksum(bytes);
  if (typeof at === "string") return at.startsWith("checksum") ? at : `checksum unreadable: ${at}`;
  let crc = crc32(bytes.subarray(0, at));
  crc = crc32(PLACEHOLDER, crc);
  crc = crc32(bytes.subarray(at + 8), crc);
  const actual = crc.toString(16).padStart(8, "0");
  if (!/^[0-9a-f]{8}$/.test(stored) || stored !== new TextDecoder().decode(bytes.subarray(at, at + 8)))
    return `checksum ${JSON.stringify(stored)} is not 8 lowercase hex digits`;
  if (stored !== actual) return `checksum ${actual}, the file says ${stored}; the file was damaged or edited`;
  return undefined;
}

/**
 * Reads the metadata of model file bytes (validated, checksums verified, tensors checked finite),
 * without building the flow.
 */
export function decodeModelMetadata(
  bytes: Uint8Array,
  source = "model file",
): { metadata: ModelMetadata; tensors: Map<string, SafeTensor>; warnings: string[] } {
  const { metadata: raw, tensors } = decodeSafetensors(bytes, source);
  const bad = (what: string): FileFormatError => new FileFormatError(`${source}: ${what}`);
  const version = checkFormat(raw, bad);
  const warnings: string[] = [];
  if (version >= 2) {
    const problem = checkFileChecksum(bytes, raw[FILE_CHECKSUM_KEY]);
    if (problem !== undefined) throw bad(`corrupt (${problem})`);
  } else {
    const stored = raw.tensorsCrc32;
    if (stored !== undefined) {
      const actual = tensorsChecksum(new Map([...tensors].map(([k, t]) => [k, t.data])));
      if (stored !== actual) throw bad(`corrupt tensor data (checksum ${actual}, the file says ${stored}); the file was damaged`);
    }
    warnings.push(
      `${source}: model format version 1: ${stored === undefined ? "no checksum covers this file" : "its checksum covers the tensors only, not the metadata (config, standardisation)"}; save it again to upgrade it to version ${MODEL_FORMAT_VERSION}`,
    );
  }
  const metadata = parseMetadata(raw, source, version);
  for (const [name, t] of tensors) {
    const i = t.data.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) throw bad(`tensor ${name} holds ${t.data[i]} at index [${unravel(i, t.shape).join(", ")}]; the model is unusable (saved from a diverged run?)`);
  }
  return { metadata, tensors, warnings };
}

/** The multi-index of flat row-major index i in `shape`. */
function unravel(i: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    out[k] = i % shape[k]!;
    i = Math.floor(i / shape[k]!);
  }
  return out;
}

/** CRC-32 (8 hex digits) of the tensors' little-endian bytes in sorted name order (version 1's `tensorsCrc32`). */
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
 * Decodes model file bytes: validates the metadata, builds the flow from the config (its size
 * limits checked first, from the config alone) and checks that the tensors are exactly the params
 * that config needs (names, shapes, dtype), under their canonical names (version 2) or in-memory
 * paths (version 1).
 */
export function decodeModelFile(bytes: Uint8Array, source = "model file"): LoadedModelFile {
  const { metadata, tensors, warnings } = decodeModelMetadata(bytes, source);
  const bad = (what: string): FileFormatError => new FileFormatError(`${source}: ${what}`);
  let flow: Flow;
  try {
    flow = build(metadata.config).flow;
  } catch (error) {
    throw bad(`the stored config does not build a flow (${firstLine(error)})`);
  }
  if (metadata.layers !== null) {
    let expected: string;
    try {
      expected = JSON.stringify(canonicalLayout(flow).description.layers);
    } catch (error) {
      throw bad(`the stored config does not build a flow this format describes (${firstLine(error)})`);
    }
    // (a hostile, deeply nested list could overflow the stack of stringify: still one line)
    let difference: string | undefined;
    try {
      difference = JSON.stringify(metadata.layers) === expected ? undefined : firstDifference(metadata.layers, JSON.parse(expected) as unknown, "layers") ?? "layers";
    } catch {
      difference = "layers is not a layer list";
    }
    if (difference !== undefined) throw bad(`corrupt metadata (${difference}: the layer list disagrees with the config)`);
  }
  const want = metadata.dtype === "float64" ? "F64" : "F32";
  for (const [name, t] of tensors) if (t.dtype !== want) throw bad(`tensor ${name} is ${t.dtype}, expected ${want} for a ${metadata.dtype} model`);
  // The expected tree (structure, paths, shapes) comes from a fresh init of the same config;
  // its values are then replaced leaf by leaf with the stored ones.
  const template = flow.init(keyFromSeed(metadata.config.seed), metadata.dtype);
  const paths = treePaths(template);
  const leaves = treeLeaves(template);
  const shapes = new Map(paths.map((p, i) => [p, leaves[i]!.shape.slice()]));
  let data: Map<string, Float32Array | Float64Array>;
  if (metadata.formatVersion >= 2) {
    const r = fromCanonical(flow, shapes, tensors);
    if ("problem" in r) {
      disposeTree(template);
      throw bad(r.problem);
    }
    data = r.leaves;
  } else {
    const problem = checkInMemoryTensors(shapes, tensors, metadata.config.flow);
    if (problem !== undefined) {
      disposeTree(template);
      throw bad(problem);
    }
    data = new Map([...tensors].map(([k, t]) => [k, t.data]));
  }
  const params = mapTree(template, (leaf, path) => {
    const shape = leaf.shape.slice();
    leaf.dispose();
    return np.array(data.get(path)!, { shape, dtype: jaxDType(metadata.dtype) });
  });
  return { metadata, flow, params, warnings };
}

/** Version 1: the tensors must be the params by in-memory path, with the template's shapes. */
function checkInMemoryTensors(shapes: Map<string, number[]>, tensors: Map<string, SafeTensor>, family: string): string | undefined {
  for (const [path, shape] of shapes) {
    const t = tensors.get(path);
    if (!t) return `tensor ${path} is missing (the file does not match its ${family} config)`;
    if (t.shape.length !== shape.length || t.shape.some((d, j) => d !== shape[j]))
      return `tensor ${path} has shape [${t.shape.join(", ")}], the config needs [${shape.join(", ")}]`;
  }
  for (const name of tensors.keys())
    if (!shapes.has(name)) return `unexpected tensor ${name} (not a parameter of the stored ${family} config)`;
  return undefined;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
}

/** Checks that the metadata is a model file's of a version this library reads; returns the version. */
function checkFormat(raw: Record<string, string>, bad: (what: string) => FileFormatError): number {
  if (raw.format === undefined)
    throw bad(`not a normalizing-flows model file (a safetensors file without "format" metadata)`);
  if (raw.format !== MODEL_FORMAT) throw bad(`not a normalizing-flows model file (format is ${JSON.stringify(raw.format)}, expected "${MODEL_FORMAT}")`);
  const version = Number(raw.formatVersion);
  if (!Number.isInteger(version) || version < 1) throw bad(`corrupt metadata (formatVersion ${JSON.stringify(raw.formatVersion)})`);
  if (version > MODEL_FORMAT_VERSION)
    throw bad(
      `model format version ${version} (written by normalizing-flows ${raw.libraryVersion ?? "?"}) is newer than this library reads (${MODEL_FORMAT_VERSION}); upgrade normalizing-flows`,
    );
  return version;
}

function parseMetadata(raw: Record<string, string>, source: string, version: number): ModelMetadata {
  const bad = (what: string): FileFormatError => new FileFormatError(`${source}: ${what}`);
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
  const layers = version >= 2 ? json("layers") : null;
  if (layers !== null && !Array.isArray(layers)) throw bad("corrupt metadata (layers must be an array)");
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
    savedAt: raw.savedAt ?? null,
    layers: layers as LayerDescription[] | null,
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
