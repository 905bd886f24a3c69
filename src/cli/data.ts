/**
 * What the CLI reads and writes besides the model file: `--data` (a toy name or a table file),
 * `--input` tables, `--context` values, and CSV outputs (written atomically, or to stdout with
 * `--out -`).
 */
import { existsSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { ConfigError, ContextError, FileFormatError } from "../engine/errors.js";
import { labelContext } from "../tasks/image-samples.js";
import { TOY_NAMES, sampleToy, toyInfo, type ToyInfo } from "../data/toys.js";
import { loadTable, splitContext, type Table } from "../data/tabular.js";
import { writeFileAtomic } from "../io/atomic.js";
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

/** Reads an `--input` table for a model: D columns, or D + the model's named context columns. */
export function readModelInput(
  path: string,
  model: FlowModel,
  what: "x" | "z",
  contextText: string | undefined,
): { x: Float64Array; n: number; context?: Float64Array; columns: string[] } {
  const table = loadTable(path);
  const D = model.dim;
  const K = model.contextDim;
  const ctxColumns = model.contextInfo?.columns ?? null;
  let data: Table = table;
  let context: Float64Array | undefined;
  if (K > 0 && contextText === undefined && ctxColumns && ctxColumns.every((c) => table.columns.includes(c))) {
    const split = splitContext(table, ctxColumns);
    data = split.data;
    context = split.context;
  } else if (K > 0) {
    if (contextText === undefined)
      throw new ContextError(
        `${path}: this model is conditional; give --context with ${K} value${K > 1 ? "s" : ""}` +
          (ctxColumns ? ` or include the column${K > 1 ? "s" : ""} ${ctxColumns.join(", ")} in the file` : ""),
      );
    const row = parseContextValues(contextText, K);
    context = new Float64Array(table.n * K);
    for (let i = 0; i < table.n; i++) context.set(row, i * K);
  } else if (contextText !== undefined) {
    throw new UsageError("--context: this model is unconditional; leave --context out");
  }
  if (data.dim !== D)
    throw new FileFormatError(
      `${path}: expected ${D} column${D > 1 ? "s" : ""} of ${what} (the model's dimension), got ${data.dim}${K > 0 ? " (after the context columns)" : ""}`,
    );
  return { x: data.x, n: data.n, ...(context ? { context } : {}), columns: data.columns };
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

/** CSV text: a header line, then one line per row. */
export function formatCsv(header: readonly string[], rows: ArrayLike<ArrayLike<number>> | { values: ArrayLike<number>; width: number }): string {
  const lines: string[] = [header.map(quoteCsv).join(",")];
  if ("width" in rows) {
    const { values, width } = rows;
    for (let i = 0; i < values.length; i += width) {
      const fields: string[] = [];
      for (let j = 0; j < width; j++) fields.push(formatNumber(values[i + j]!));
      lines.push(fields.join(","));
    }
  } else {
    for (let i = 0; i < rows.length; i++) lines.push(Array.from(rows[i]!, formatNumber).join(","));
  }
  return lines.join("\n") + "\n";
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
