/**
 * Tabular data loaders: CSV (header optional and detected), headerless little-endian float32 /
 * float64 binaries described by a `meta.json` side-car (the format of the project's data
 * folders), and NumPy `.npy` files (format versions 1–3, '<f4'/'<f8' and their big-endian forms,
 * C order). Everything is returned as float64 rows, n×dim row-major.
 *
 * Errors are FileFormatError with the file, and for CSV the line and column, of the first bad
 * value. Parsers that work on bytes or text are exported separately, so browsers can use them
 * without the file system.
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { ConfigError, FileFormatError } from "../engine/errors.js";

/** A loaded table: n rows of dim float64 values (row-major) and a name per column. */
export interface Table {
  x: Float64Array;
  n: number;
  dim: number;
  columns: string[];
  /**
   * True when the column names come from the file (a CSV header, a meta.json's `columns`); false
   * or absent when they are made up (c0, c1, …).
   */
  named?: boolean;
}

export interface LoadOptions {
  /**
   * Which entry of a meta.json to read when `path` is a folder (e.g. "train", "val", "test";
   * default "train", or the only entry).
   */
  part?: string;
  /** CSV: force (true) or forbid (false) a header line. Default: detected. */
  header?: boolean;
  /** CSV field separator. Default: detected among ",", ";", tab, and runs of spaces. */
  delimiter?: string;
  /** Binary files without a meta.json: number of columns. */
  dim?: number;
  /** Binary files without a meta.json: "float32" (default for .f32/.bin) or "float64" (.f64). */
  dtype?: "float32" | "float64";
}

// ------------------------------------------------------------------------------------ CSV

/** Parses CSV text (numeric columns only). `file` names the source in error messages. */
export function parseCsv(text: string, file = "<csv>", o: Pick<LoadOptions, "header" | "delimiter"> = {}): Table {
  const parser = new CsvParser(file, o);
  parser.push(text);
  return parser.end();
}

/**
 * An incremental CSV parser: `push` text in pieces split anywhere (a file read in chunks never
 * becomes one string, so files beyond V8's ~512 M-character string limit load), then `end` for
 * the table. The rules are those of `parseCsv`: lines end at "\n" (a "\r" before it is dropped);
 * blank lines and lines starting with "#" are skipped; the first other line fixes the delimiter,
 * the number of fields and, when it holds a non-number (or `header` says so), the column names.
 * Errors name the 1-based line and column of the first bad value.
 */
export class CsvParser {
  private readonly file: string;
  private readonly o: Pick<LoadOptions, "header" | "delimiter">;
  /** The unfinished last line of the text pushed so far. */
  private rest = "";
  /** 1-based number of the next complete line. */
  private lineNo = 1;
  private firstLine = 0;
  private delimiter = ",";
  private dim = 0;
  private columns: string[] = [];
  private values = new Float64Array(1024);
  private count = 0;
  private n = 0;
  private ended = false;
  private named = false;

  constructor(file = "<csv>", o: Pick<LoadOptions, "header" | "delimiter"> = {}) {
    this.file = file;
    this.o = o;
  }

  /** Parses the complete lines of `text` (with what was left of the previous piece). */
  push(text: string): void {
    if (this.ended) throw new Error("CsvParser: push after end");
    let from = 0;
    let buffered = this.rest;
    for (;;) {
      const nl = text.indexOf("\n", from);
      if (nl < 0) break;
      let line = buffered + text.slice(from, nl);
      buffered = "";
      if (line.endsWith("\r")) line = line.slice(0, -1);
      this.line(line);
      from = nl + 1;
    }
    this.rest = buffered + text.slice(from);
  }

  /** The table (after the last line, which needs no newline). */
  end(): Table {
    if (!this.ended) {
      this.ended = true;
      this.line(this.rest);
      this.rest = "";
    }
    if (this.firstLine === 0) throw new FileFormatError(`${this.file}: no data (the file is empty)`);
    if (this.n === 0) throw new FileFormatError(`${this.file}: a header but no data rows`);
    const x = this.count === this.values.length ? this.values : this.values.slice(0, this.count);
    return { x, n: this.n, dim: this.dim, columns: this.columns, named: this.named };
  }

  private line(line: string): void {
    const i = this.lineNo++;
    if (line.trim() === "" || line.trimStart().startsWith("#")) return;
    if (this.firstLine === 0) {
      this.firstLine = i;
      this.delimiter = this.o.delimiter ?? detectDelimiter(line);
      const fields = splitFields(line, this.delimiter);
      const hasHeader = this.o.header ?? fields.some((f) => !isNumber(f));
      this.dim = fields.length;
      this.columns = hasHeader ? fields.map((f, j) => f || `c${j}`) : fields.map((_, j) => `c${j}`);
      this.named = hasHeader;
      if (hasHeader) return;
    }
    const fields = splitFields(line, this.delimiter);
    const dim = this.dim;
    if (fields.length !== dim)
      throw new FileFormatError(`${this.file}: line ${i}: expected ${dim} fields (as in line ${this.firstLine}), got ${fields.length}`);
    if (this.count + dim > this.values.length) {
      const grown = new Float64Array(Math.max(2 * this.values.length, this.count + dim));
      grown.set(this.values.subarray(0, this.count));
      this.values = grown;
    }
    for (let j = 0; j < dim; j++) {
      const f = fields[j]!;
      if (!isNumber(f))
        throw new FileFormatError(
          `${this.file}: line ${i}, column ${j + 1} (${JSON.stringify(this.columns[j])}): expected a number, got ${JSON.stringify(f)}` +
            (f === "" || /^(na|nan|null|none|\?)$/i.test(f) ? " (missing values are not supported: drop or impute the row)" : ""),
        );
      this.values[this.count++] = Number(f);
    }
    this.n++;
  }
}

/** Bytes read per piece by `readCsvFile`. */
const CSV_READ_BYTES = 1 << 22;

/** Reads and parses a CSV file in pieces of 4 MiB (never the whole file as one string). */
export function readCsvFile(path: string, o: Pick<LoadOptions, "header" | "delimiter"> = {}): Table {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new FileFormatError(`${path}: cannot read the file (${(e as Error).message})`);
  }
  try {
    const parser = new CsvParser(path, o);
    const decoder = new TextDecoder(); // UTF-8; a byte-order mark is dropped, as by a whole-file decode
    const buffer = new Uint8Array(CSV_READ_BYTES);
    for (;;) {
      let got: number;
      try {
        got = readSync(fd, buffer, 0, buffer.length, null);
      } catch (e) {
        throw new FileFormatError(`${path}: cannot read the file (${(e as Error).message})`);
      }
      if (got === 0) break;
      parser.push(decoder.decode(buffer.subarray(0, got), { stream: true }));
    }
    parser.push(decoder.decode());
    return parser.end();
  } finally {
    closeSync(fd);
  }
}

function detectDelimiter(line: string): string {
  for (const d of [",", ";", "\t"]) if (line.includes(d)) return d;
  return " ";
}

function splitFields(line: string, delimiter: string): string[] {
  if (delimiter === " ") return line.trim().split(/\s+/);
  // no quotes: the fields between delimiters, trimmed (what the loop below gives, faster)
  if (!line.includes('"')) return line.split(delimiter).map((f) => f.trim());
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === delimiter) {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

/** A finite decimal number (not empty, not "NaN", not "Inf"). */
function isNumber(f: string): boolean {
  return f !== "" && /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)$/.test(f);
}

// ------------------------------------------------------------------------------------ binary

/** One entry of a meta.json `files` map. */
export interface MetaFileEntry {
  file: string;
  shape: number[];
  dtype: string;
  byteOrder?: string;
  layout?: string;
}

/** The parts of a data folder's meta.json this loader uses. */
export interface DataMeta {
  name?: string;
  columns?: string[];
  files?: Record<string, MetaFileEntry>;
}

/** Decodes a headerless row-major float32/float64 buffer of the given shape. */
export function parseBinary(
  bytes: Uint8Array,
  shape: readonly number[],
  dtype: "float32" | "float64",
  file = "<binary>",
  littleEndian = true,
): Float64Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const width = dtype === "float64" ? 8 : 4;
  if (bytes.byteLength !== size * width)
    throw new FileFormatError(
      `${file}: expected ${size * width} bytes (${shape.join("×")} ${dtype}), got ${bytes.byteLength}` +
        (bytes.byteLength < size * width ? " (truncated?)" : ""),
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(size);
  if (width === 4) for (let i = 0; i < size; i++) out[i] = view.getFloat32(4 * i, littleEndian);
  else for (let i = 0; i < size; i++) out[i] = view.getFloat64(8 * i, littleEndian);
  return out;
}

function tableFromMeta(meta: DataMeta, entry: MetaFileEntry, bytes: Uint8Array, file: string): Table {
  const shape = entry.shape;
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > 2 || shape.some((s) => !Number.isInteger(s) || s < 0))
    throw new FileFormatError(`${file}: meta.json shape must be [n] or [n, dim], got ${JSON.stringify(shape)}`);
  if (entry.dtype !== "float32" && entry.dtype !== "float64")
    throw new FileFormatError(`${file}: meta.json dtype must be "float32" or "float64", got ${JSON.stringify(entry.dtype)}`);
  if (entry.layout !== undefined && entry.layout !== "row-major")
    throw new FileFormatError(`${file}: only row-major layout is supported, meta.json says ${JSON.stringify(entry.layout)}`);
  const little = entry.byteOrder === undefined || entry.byteOrder === "little";
  if (!little && entry.byteOrder !== "big")
    throw new FileFormatError(`${file}: byteOrder must be "little" or "big", got ${JSON.stringify(entry.byteOrder)}`);
  const n = shape[0]!;
  const dim = shape.length === 2 ? shape[1]! : 1;
  const x = parseBinary(bytes, [n, dim], entry.dtype, file, little);
  const named = Array.isArray(meta.columns) && meta.columns.length === dim;
  const columns = named ? meta.columns!.map(String) : Array.from({ length: dim }, (_, j) => `c${j}`);
  return { x, n, dim, columns, named };
}

// ------------------------------------------------------------------------------------ npy

/** Decodes a NumPy .npy file (versions 1–3; dtypes <f4, <f8, >f4, >f8; C order; 1-D or 2-D). */
export function parseNpy(bytes: Uint8Array, file = "<npy>"): Table {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (bytes.byteLength < 10 || magic.some((b, i) => bytes[i] !== b))
    throw new FileFormatError(`${file}: not a .npy file (missing the \\x93NUMPY magic)`);
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let offset: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    offset = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.byteLength < 12) throw new FileFormatError(`${file}: truncated .npy header`);
    headerLen = view.getUint32(8, true);
    offset = 12;
  } else throw new FileFormatError(`${file}: unsupported .npy format version ${major}.${bytes[7]} (expected 1, 2 or 3)`);
  if (offset + headerLen > bytes.byteLength) throw new FileFormatError(`${file}: truncated .npy header`);
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(offset, offset + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    throw new FileFormatError(`${file}: cannot read the .npy header ${JSON.stringify(header.trim())}`);
  if (fortran === "True") throw new FileFormatError(`${file}: Fortran-ordered arrays are not supported (save with np.ascontiguousarray)`);
  const dtypes: Record<string, ["float32" | "float64", boolean]> = {
    "<f4": ["float32", true],
    "<f8": ["float64", true],
    ">f4": ["float32", false],
    ">f8": ["float64", false],
  };
  const dt = dtypes[descr];
  if (!dt) throw new FileFormatError(`${file}: dtype ${descr} is not supported (expected '<f4' or '<f8'; convert with .astype(np.float64))`);
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map(Number);
  if (shape.length < 1 || shape.length > 2 || shape.some((s) => !Number.isInteger(s) || s < 0))
    throw new FileFormatError(`${file}: expected a 1-D or 2-D array, got shape (${shapeText})`);
  const n = shape[0]!;
  const dim = shape.length === 2 ? shape[1]! : 1;
  const x = parseBinary(bytes.subarray(offset + headerLen), [n, dim], dt[0], file, dt[1]);
  return { x, n, dim, columns: Array.from({ length: dim }, (_, j) => `c${j}`) };
}

// ------------------------------------------------------------------------------------ files

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new FileFormatError(`${path}: cannot read the file (${(e as Error).message})`);
  }
}

function readMeta(path: string): DataMeta {
  const text = new TextDecoder().decode(readBytes(path));
  try {
    return JSON.parse(text) as DataMeta;
  } catch (e) {
    throw new FileFormatError(`${path}: invalid JSON (${(e as Error).message})`);
  }
}

/**
 * Loads a table from a CSV (.csv, .tsv, .txt), a .npy, a headerless binary (.f32, .f64, .bin)
 * with a meta.json beside it, or a folder holding a meta.json.
 */
export function loadTable(path: string, o: LoadOptions = {}): Table {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new FileFormatError(`${path}: no such file or folder (${(e as Error).message})`);
  }
  if (isDir) {
    const metaPath = join(path, "meta.json");
    const meta = readMeta(metaPath);
    const entries = Object.entries(meta.files ?? {}).filter(([, e]) => typeof e?.file === "string" && Array.isArray(e.shape));
    if (entries.length === 0) throw new FileFormatError(`${metaPath}: no tabular entries under "files"`);
    const want = o.part ?? (entries.length === 1 ? entries[0]![0] : "train");
    const found = entries.find(([k]) => k === want);
    if (!found)
      throw new ConfigError(`${metaPath}: no part ${JSON.stringify(want)}; available: ${entries.map(([k]) => k).join(", ")}`);
    const file = join(path, found[1].file);
    return tableFromMeta(meta, found[1], readBytes(file), file);
  }
  const ext = extname(path).toLowerCase();
  if (ext === ".npy") return parseNpy(readBytes(path), path);
  if (ext === ".csv" || ext === ".tsv" || ext === ".txt") {
    const delimiter = o.delimiter ?? (ext === ".tsv" ? "\t" : undefined);
    return readCsvFile(path, { header: o.header, delimiter });
  }
  if (ext === ".f32" || ext === ".f64" || ext === ".bin") {
    const metaPath = join(dirname(path), "meta.json");
    let meta: DataMeta | undefined;
    try {
      statSync(metaPath);
      meta = readMeta(metaPath);
    } catch (e) {
      if (e instanceof FileFormatError) throw e;
    }
    const entry = meta && Object.values(meta.files ?? {}).find((f) => f?.file === basename(path));
    if (meta && entry) return tableFromMeta(meta, entry, readBytes(path), path);
    if (o.dim === undefined)
      throw new FileFormatError(`${path}: a headerless binary needs a meta.json beside it that lists it, or the number of columns (dim)`);
    const dtype = o.dtype ?? (ext === ".f64" ? "float64" : "float32");
    const bytes = readBytes(path);
    const width = dtype === "float64" ? 8 : 4;
    if (!Number.isInteger(o.dim) || o.dim < 1) throw new ConfigError(`loadTable: dim must be an integer ≥ 1, got ${o.dim}`);
    if (bytes.byteLength % (width * o.dim) !== 0)
      throw new FileFormatError(`${path}: ${bytes.byteLength} bytes is not a whole number of rows of ${o.dim} ${dtype} values`);
    const n = bytes.byteLength / (width * o.dim);
    return { x: parseBinary(bytes, [n, o.dim], dtype, path), n, dim: o.dim, columns: Array.from({ length: o.dim }, (_, j) => `c${j}`) };
  }
  throw new FileFormatError(`${path}: unknown file type ${JSON.stringify(ext)} (expected .csv, .tsv, .txt, .npy, .f32, .f64, .bin or a folder with meta.json)`);
}

// ------------------------------------------------------------------------------------ columns

function columnIndex(t: Table, c: string | number): number {
  if (typeof c === "number") {
    if (!Number.isInteger(c) || c < 0 || c >= t.dim) throw new ConfigError(`column ${c}: out of range (the table has ${t.dim} columns)`);
    return c;
  }
  const j = t.columns.indexOf(c);
  if (j < 0) throw new ConfigError(`column ${JSON.stringify(c)}: not found; columns are ${t.columns.join(", ")}`);
  return j;
}

/** A new table with the given columns (names or 0-based indices), in that order. */
export function selectColumns(t: Table, cols: readonly (string | number)[]): Table {
  const idx = cols.map((c) => columnIndex(t, c));
  const dim = idx.length;
  const x = new Float64Array(t.n * dim);
  for (let i = 0; i < t.n; i++) for (let j = 0; j < dim; j++) x[i * dim + j] = t.x[i * t.dim + idx[j]!]!;
  return { x, n: t.n, dim, columns: idx.map((j) => t.columns[j]!), ...(t.named !== undefined ? { named: t.named } : {}) };
}

/**
 * Splits context columns off a table (`--context-column NAME`): returns the remaining columns as
 * the data and the named ones as a row-major context (n × K).
 */
export function splitContext(
  t: Table,
  contextColumns: readonly (string | number)[],
): { data: Table; context: Float64Array; contextColumns: string[] } {
  const ctxIdx = contextColumns.map((c) => columnIndex(t, c));
  const rest = t.columns.map((_, j) => j).filter((j) => !ctxIdx.includes(j));
  if (rest.length === 0) throw new ConfigError("context columns: no data columns would be left");
  const ctx = selectColumns(t, ctxIdx);
  return { data: selectColumns(t, rest), context: ctx.x, contextColumns: ctx.columns };
}
