/**
 * What the CLI reads and writes besides the model file: `--data` (a toy name or a table file),
 * `--input` tables, `--context` values, and CSV outputs (written atomically, or to stdout with
 * `--out -`).
 */
import { existsSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { ConfigError, ContextError, FileFormatError, NonFiniteError } from "../engine/errors.js";
import { labelContext } from "../tasks/image-samples.js";
import { TOY_NAMES, sampleToy, toyInfo, type ToyInfo } from "../data/toys.js";
import { loadTable, selectColumns, splitContext, type Table } from "../data/tabular.js";
import { writeFileAtomic } from "../io/atomic.js";
import { writeStreamAtomic } from "../io/atomic-stream.js";
import { loadImageData, type ImagePart } from "../data/image-files.js";
import type { FlowModel } from "../model/model.js";
import { UsageError } from "./args.js";

/** A resolved `--data`: rows, column names, optional context, and the toy's facts when it is one. */
export interface DataSet {
  x: Float64Array;
  n: number;
  dim: number;
  columns: string[];
  context?: Float64Array;
  contextColumns?: string[];
  /** The toy (name, entropy, exact density) when `--data` named one. */
  toy?: ToyInfo;
  /** What `--data` said. */
  source: string;
  /** Set when the requested part (e.g. "test") does not exist and the whole table was used. */
  partMissing?: string;
  /** Image data: x holds the pixel bytes 0..255 (as float64), one flattened image per row. */
  image?: ImageDataInfo;
}

/** What an image `--data` adds: the layout, the levels and the labels. */
export interface ImageDataInfo {
  /** [C, H, W]. */
  shape: [number, number, number];
  /** Discrete levels of a pixel (256). */
  levels: number;
  labels?: Uint8Array;
  /** Number of classes (max label + 1 of the whole file). */
  classes?: number;
}

/** The context column name that selects one-hot class labels of image data. */
export const LABEL_COLUMN = "label";

/**
 * True when `--data` names image data: "mnist", "fashion-mnist:DIR", or an IDX images file
 * (`…-idx3-ubyte`, optionally `.gz`, or `.idx`).
 */
export function isImageSpec(spec: string): boolean {
  return spec === "mnist" || spec.startsWith("fashion-mnist:") || /idx\d-ubyte(\.gz)?$/.test(spec) || /\.idx(\.gz)?$/.test(spec);
}

/**
 * Image data as a DataSet: the bytes as float64 rows, columns p0…p{D−1}; with the context column
 * "label", the context is the one-hot label (K = classes; columns label=0 … label=K−1).
 */
function resolveImages(spec: string, o: { n?: number; contextColumns?: string[]; part?: string }): DataSet {
  const part = (o.part ?? "all") as ImagePart;
  const set = loadImageData(spec, { part, ...(o.n !== undefined ? { n: o.n } : {}) });
  const [C, H, W] = set.shape;
  const D = C * H * W;
  const x = new Float64Array(set.images.length);
  for (let i = 0; i < x.length; i++) x[i] = set.images[i]!;
  const out: DataSet = {
    x,
    n: set.n,
    dim: D,
    columns: Array.from({ length: D }, (_, i) => `p${i}`),
    source: set.source,
    image: { shape: set.shape, levels: 256, ...(set.labels ? { labels: set.labels } : {}), ...(set.classes ? { classes: set.classes } : {}) },
    ...(set.partMissing ? { partMissing: set.partMissing } : {}),
  };
  if (o.contextColumns?.length) {
    if (o.contextColumns.length !== 1 || o.contextColumns[0] !== LABEL_COLUMN)
      throw new UsageError(`--context-column: image data can be conditioned on "${LABEL_COLUMN}" (one-hot class labels) only, got ${o.contextColumns.join(",")}`);
    if (!set.labels || !set.classes) throw new FileFormatError(`${spec}: no labels file was found, so there is no "${LABEL_COLUMN}" to condition on`);
    out.context = labelContext(set.labels, set.classes);
    out.contextColumns = Array.from({ length: set.classes }, (_, k) => `${LABEL_COLUMN}=${k}`);
  }
  return out;
}

/** True when the text names a built-in toy. */
export function isToyName(text: string): boolean {
  return (TOY_NAMES as readonly string[]).includes(text);
}

/**
 * Resolves `--data`: a toy name gives `n` seeded samples; anything else is a table file (CSV, .npy,
 * a binary with meta.json, or a folder with meta.json; `part` picks its train/test entry when it
 * has one). `contextColumns` are split off a table as the context.
 */
export function resolveData(
  spec: string,
  o: { n: number; seed: number; contextColumns?: string[]; part?: string; imageCount?: number },
): DataSet {
  if (isImageSpec(spec)) return resolveImages(spec, { ...o, n: o.imageCount });
  if (isToyName(spec)) {
    if (o.contextColumns?.length) throw new UsageError(`--context-column needs a table file; ${spec} is a toy without columns`);
    const x = sampleToy(spec, o.n, o.seed);
    return { x, n: o.n, dim: 2, columns: ["x1", "x2"], toy: toyInfo(spec), source: spec };
  }
  if (!existsSync(spec)) {
    throw new FileFormatError(
      `${spec}: no such file, and not a toy name (toys: ${TOY_NAMES.join(", ")}) or image data (mnist, fashion-mnist:DIR, an …-idx3-ubyte[.gz] file)`,
    );
  }
  const { table, partMissing } = loadPart(spec, o.part);
  if (o.contextColumns?.length) {
    const { data, context, contextColumns } = splitContext(table, o.contextColumns);
    return { ...data, context, contextColumns, source: spec, ...(partMissing ? { partMissing } : {}) };
  }
  return { ...table, source: spec, ...(partMissing ? { partMissing } : {}) };
}

function loadPart(path: string, part: string | undefined): { table: Table; partMissing?: string } {
  if (part === undefined) return { table: loadTable(path) };
  try {
    return { table: loadTable(path, { part }) };
  } catch (error) {
    // Not a folder with that part (a plain file, or no such entry): the whole table, and say so.
    if (error instanceof ConfigError) return { table: loadTable(path), partMissing: part };
    throw error;
  }
}

/** A model's input read from an `--input` table: rows, context, and the columns used. */
export interface ModelInput {
  x: Float64Array;
  n: number;
  context?: Float64Array;
  columns: string[];
}

/**
 * Reads an `--input` table for a model: D columns of x (or z), and the model's context columns
 * unless `--context` gives the context. When the file names its columns (a CSV header) and some
 * of those names are the model's stored ones (its training columns; z1…zD for z), the columns are
 * taken BY NAME in the model's order: a missing one is an error naming it; another order, or
 * columns the model does not use, are read anyway and said on `warn`. A header none of whose
 * names the model knows, and a file without names, are read by position (with a warning for the
 * former). Every value is checked against the model's dtype (`checkInputRange`).
 */
export function readModelInput(
  path: string,
  model: FlowModel,
  what: "x" | "z",
  contextText: string | undefined,
  warn: (message: string) => void = () => undefined,
): ModelInput {
  const table = loadTable(path);
  const D = model.dim;
  const K = model.contextDim;
  const ctxColumns = model.contextInfo?.columns ?? null;
  const xNames = what === "z" ? latentColumns(model) : (model.dataInfo?.columns ?? null);
  if (K === 0 && contextText !== undefined) throw new UsageError("--context: this model is unconditional; leave --context out");
  const byName = table.named === true && xNames !== null && xNames.length === D ? readByName(path, table, xNames, ctxColumns, K, contextText, what, warn) : undefined;
  let data: Table = table;
  let context: Float64Array | undefined;
  if (byName) {
    data = byName.data;
    context = byName.context;
  } else if (K > 0 && contextText === undefined && ctxColumns && ctxColumns.every((c) => table.columns.includes(c))) {
    const split = splitContext(table, ctxColumns);
    data = split.data;
    context = split.context;
  } else if (K > 0 && contextText === undefined) {
    throw new ContextError(
      `${path}: this model is conditional; give --context with ${K} value${K > 1 ? "s" : ""}` +
        (ctxColumns ? ` or include the column${K > 1 ? "s" : ""} ${ctxColumns.join(", ")} in the file` : ""),
    );
  }
  if (K > 0 && context === undefined) {
    const row = parseContextValues(contextText!, K);
    context = new Float64Array(data.n * K);
    for (let i = 0; i < data.n; i++) context.set(row, i * K);
  }
  if (data.dim !== D)
    throw new FileFormatError(
      `${path}: expected ${D} column${D > 1 ? "s" : ""} of ${what} (the model's dimension), got ${data.dim}${K > 0 ? " (after the context columns)" : ""}`,
    );
  if (table.named && xNames && !byName)
    warn(`${path}: none of its column names (${list(table.columns)}) is one of the model's (${list(xNames)}); the columns are taken by position`);
  checkInputRange(path, data.x, D, data.columns, model, what === "x" ? model.preprocessing : null);
  if (context) checkInputRange(contextText === undefined ? path : "--context", contextText === undefined ? context : context.subarray(0, K), K, ctxColumns ?? [], model, model.contextInfo, "context");
  return { x: data.x, n: data.n, ...(context ? { context } : {}), columns: data.columns };
}

/** The columns of a named table taken by the model's names (undefined: none match, read by position). */
function readByName(
  path: string,
  table: Table,
  xNames: readonly string[],
  ctxColumns: readonly string[] | null,
  K: number,
  contextText: string | undefined,
  what: "x" | "z",
  warn: (message: string) => void,
): { data: Table; context?: Float64Array } | undefined {
  const ctxFromFile = K > 0 && contextText === undefined && ctxColumns !== null && ctxColumns.length === K;
  const wanted = [...xNames, ...(ctxFromFile ? ctxColumns : [])];
  const known = new Set([...xNames, ...(ctxColumns ?? [])]);
  if (!table.columns.some((c) => known.has(c))) return undefined;
  const missing = xNames.filter((c) => !table.columns.includes(c));
  if (missing.length)
    throw new FileFormatError(
      `${path}: no column${missing.length > 1 ? "s" : ""} ${list(missing)} (the model's ${what} columns are ${list(xNames)}; the file has ${list(table.columns)})`,
    );
  if (ctxFromFile) {
    const missingCtx = ctxColumns.filter((c) => !table.columns.includes(c));
    if (missingCtx.length)
      throw new ContextError(
        `${path}: no context column${missingCtx.length > 1 ? "s" : ""} ${list(missingCtx)} (the model's context columns are ${list(ctxColumns)}; the file has ${list(table.columns)}); include them or give --context`,
      );
  }
  const twice = wanted.find((c) => table.columns.indexOf(c) !== table.columns.lastIndexOf(c));
  if (twice !== undefined) throw new FileFormatError(`${path}: the column name ${JSON.stringify(twice)} appears twice in the header; rename one`);
  const data = selectColumns(table, xNames);
  const context = ctxFromFile ? selectColumns(table, ctxColumns).x : undefined;
  const used = table.columns.filter((c) => wanted.includes(c));
  if (used.some((c, i) => c !== wanted[i]))
    warn(`${path}: columns matched by name and reordered to the model's order (${list(used)} → ${list(wanted)})`);
  const extra = table.columns.filter((c) => !wanted.includes(c));
  if (extra.length) warn(`${path}: column${extra.length > 1 ? "s" : ""} ${list(extra)} not used by the model, ignored`);
  return { data, ...(context ? { context } : {}) };
}

/** Names as `a, b, c` (the first 8, then a count). */
function list(names: readonly string[]): string {
  return names.length <= 8 ? names.join(", ") : `${names.slice(0, 8).join(", ")}, … (${names.length} in all)`;
}

/** The largest finite value of a model's dtype: ≈ 3.4e38 for float32. */
export function dtypeMax(dtype: string): number {
  return dtype === "float32" ? 3.4028234663852886e38 : Number.MAX_VALUE;
}

/**
 * Rejects (NonFiniteError, exit 3) a value that the model cannot represent: beyond its dtype's
 * range as given, or after the model's standardisation x̃ = (x − μ)/σ when `scaling` is set
 * (float32 models compute in float32, where 1e39 is +Infinity). Rows are 1-based data rows.
 */
export function checkInputRange(
  path: string,
  values: Float64Array,
  width: number,
  columns: readonly string[],
  model: FlowModel,
  scaling: { mean: readonly number[] | null; std: readonly number[] | null } | null,
  what = "",
): void {
  const max = dtypeMax(model.dtype);
  const mean = scaling?.mean ?? null;
  const std = scaling?.std ?? null;
  for (let i = 0; i < values.length; i++) {
    const d = i % width;
    const v = values[i]!;
    const t = mean && std ? (v - mean[d]!) / std[d]! : v;
    if (Math.abs(t) <= max) continue;
    const where = `${path}: row ${Math.floor(i / width) + 1}, ${what ? `${what} ` : ""}column ${d + 1}${columns[d] !== undefined ? ` (${JSON.stringify(columns[d])})` : ""}`;
    const after = t !== v ? ` is ${t} after the model's standardisation (x − μ)/σ, which` : "";
    throw new NonFiniteError(`${where}: ${v}${after} is beyond the range of ${model.dtype} (±${max.toPrecision(3)}), in which this model computes`);
  }
}

/** Parses `--context 0.5,1` as K numbers. */
export function parseContextValues(text: string, K: number): Float64Array {
  const parts = text.split(",").map((s) => s.trim());
  const values = parts.map(Number);
  if (parts.some((p) => p === "") || values.some((v) => !Number.isFinite(v)))
    throw new UsageError(`--context: expected ${K} comma-separated number${K > 1 ? "s" : ""}, got ${JSON.stringify(text)}`);
  if (values.length !== K) throw new UsageError(`--context: this model takes ${K} context value${K > 1 ? "s" : ""}, got ${values.length}`);
  return Float64Array.from(values);
}

/** One CSV number: the shortest text that reads back as the same double (NaN/Infinity as words). */
function formatNumber(v: number): string {
  return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}

/** The CSV header line (names quoted where needed), with its newline. */
export function csvHeader(header: readonly string[]): string {
  return `${header.map(quoteCsv).join(",")}\n`;
}

/** CSV lines (each with its newline) of a flat row-major block of rows of `width` values. */
export function csvRows(values: ArrayLike<number>, width: number): string {
  let text = "";
  for (let i = 0; i < values.length; i += width) {
    let line = formatNumber(values[i]!);
    for (let j = 1; j < width; j++) line += `,${formatNumber(values[i + j]!)}`;
    text += `${line}\n`;
  }
  return text;
}

/** CSV text: a header line, then one line per row (small outputs; `writeCsvStream` for large ones). */
export function formatCsv(header: readonly string[], rows: ArrayLike<ArrayLike<number>> | { values: ArrayLike<number>; width: number }): string {
  if ("width" in rows) return csvHeader(header) + csvRows(rows.values, rows.width);
  let text = csvHeader(header);
  for (let i = 0; i < rows.length; i++) text += csvRows(rows[i]!, rows[i]!.length || 1);
  return text;
}

function quoteCsv(name: string): string {
  return /[",\n]/.test(name) ? `"${name.replace(/"/g, '""')}"` : name;
}

/**
 * Writes CSV text to a file atomically, or to stdout when `path` is "-". Returns a description of
 * the destination for messages.
 */
export async function writeCsvOutput(path: string, text: string, stdout: { write(s: string): unknown } = process.stdout): Promise<string> {
  if (path === "-") {
    stdout.write(text);
    return "stdout";
  }
  await writeFileAtomic(path, text);
  return path;
}

/** A stream to write on: `process.stdout`, or a test double (drain is awaited when it has `once`). */
export interface CsvSink {
  write(s: string): unknown;
  once?(event: "drain", listener: () => void): unknown;
}

/** Rows per piece of text when a block of values is written (about 1 MB of CSV for 2-D rows). */
const CSV_PIECE_ROWS = 16384;

/**
 * Writes a CSV as it is produced: the header, then the rows of every block of `blocks` (flat
 * row-major, `width` values per row; a generator may compute them lazily). The file is written
 * atomically (temporary file, fsync, rename: an exception thrown by `blocks` leaves any previous
 * file as it was); "-" writes to stdout, waiting for it to drain. Never holds the whole text.
 * Returns the destination for messages ("stdout" or the path).
 */
export async function writeCsvStream(
  path: string,
  header: readonly string[],
  width: number,
  blocks: Iterable<ArrayLike<number>> | AsyncIterable<ArrayLike<number>>,
  stdout: CsvSink = process.stdout,
): Promise<string> {
  async function* pieces(): AsyncGenerator<string> {
    yield csvHeader(header);
    for await (const block of blocks) {
      const step = CSV_PIECE_ROWS * width;
      for (let i = 0; i < block.length; i += step) {
        const part = "subarray" in block ? (block as Float64Array).subarray(i, i + step) : Array.prototype.slice.call(block, i, i + step);
        yield csvRows(part, width);
      }
    }
  }
  if (path === "-") {
    for await (const piece of pieces()) {
      if (stdout.write(piece) === false && stdout.once) await new Promise<void>((done) => stdout.once!("drain", done));
    }
    return "stdout";
  }
  await writeStreamAtomic(path, pieces());
  return path;
}

/** Column names of the base space: z1..zD. */
export function latentColumns(model: FlowModel): string[] {
  return Array.from({ length: model.dim }, (_, i) => `z${i + 1}`);
}

/** Column names for x: the model's data columns, or x1..xD. */
export function dataColumns(model: FlowModel): string[] {
  return model.dataInfo?.columns ?? Array.from({ length: model.dim }, (_, i) => `x${i + 1}`);
}

/** Whether two paths name one file (symbolic links resolved; `b` may not exist yet). */
function samePath(a: string, b: string): boolean {
  return canonicalPath(a) === canonicalPath(b);
}

/** realpath of a path, or of its folder joined with its name when it does not exist (yet). */
function canonicalPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    const dir = dirname(resolve(p));
    return dir === resolve(p) ? dir : join(canonicalPath(dir), basename(p));
  }
}

/**
 * Fails early (before any work) when an output's folder does not exist, when it is a folder, or
 * when it names one of the command's `inputs` (flag → path; toy names and missing files are skipped).
 */
export function checkOutputPath(path: string, flag = "--out", inputs: Record<string, string | undefined> = {}): void {
  if (path.trim() === "") throw new UsageError(`${flag}: expected a file name, got an empty one`);
  if (path === "-") return;
  // never overwrite what the command reads (the data, the model): refused before any work
  const same = Object.entries(inputs).find(([, input]) => input !== undefined && input !== "-" && existsSync(input) && samePath(input, path));
  if (same) throw new UsageError(`${flag} ${path}: is the command's own input (${same[0]}); give another file name`);
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) throw new UsageError(`${flag} ${path}: the folder ${dir} does not exist; create it first`);
  try {
    if (statSync(path).isDirectory()) throw new UsageError(`${flag} ${path}: is a folder; give a file name`);
  } catch (error) {
    if (error instanceof UsageError) throw error;
  }
}
