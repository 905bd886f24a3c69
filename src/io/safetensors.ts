/**
 * The safetensors format (https://github.com/huggingface/safetensors), written by hand so that the
 * library needs no dependency and runs in the browser:
 *     [u64 little-endian N][N bytes of UTF-8 JSON header, padded with spaces][raw tensor bytes]
 *     header = { "__metadata__": { string: string }, "<name>": { "dtype": "F32" | "F64",
 *                "shape": [...], "data_offsets": [begin, end] }, ... }
 * Offsets are relative to the first byte after the header; tensors are stored contiguously,
 * little-endian, row-major, without gaps (Python's reader rejects gaps). The header is padded to a
 * multiple of 8 bytes and F64 tensors come first, so every tensor starts at an offset aligned to
 * its element size (zero-copy readers such as numpy memory maps need it).
 *
 * Decoding is strict: every length, offset and dtype is checked and any problem is ONE
 * FileFormatError line naming the source and what is wrong.
 */
import { FileFormatError } from "../engine/errors.js";

/** Element types this library reads and writes. */
export type SafetensorsDType = "F32" | "F64";

/** One tensor: its dtype, shape and row-major values. */
export interface SafeTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: Float32Array | Float64Array;
}

/** The content of a safetensors file. */
export interface SafetensorsContents {
  /** `__metadata__`: string keys to string values. */
  metadata: Record<string, string>;
  /** Tensors by name, in the order they are stored. */
  tensors: Map<string, SafeTensor>;
}

/** Largest header accepted, in bytes (the reference implementation's limit), whatever the file's length. */
const MAX_HEADER_BYTES = 100_000_000;

const ITEM_SIZE: Record<SafetensorsDType, number> = { F32: 4, F64: 8 };

/** Known safetensors dtypes that this library does not read (for a clearer message). */
const OTHER_DTYPES = new Set(["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "I64", "U64", "F8_E5M2", "F8_E4M3"]);

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The safetensors dtype of a typed array. */
export function dtypeOfData(data: Float32Array | Float64Array): SafetensorsDType {
  return data instanceof Float64Array ? "F64" : "F32";
}

function writeLittleEndian(target: Uint8Array, offset: number, data: Float32Array | Float64Array): void {
  if (LITTLE_ENDIAN) {
    target.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    return;
  }
  const view = new DataView(target.buffer, target.byteOffset + offset, data.byteLength);
  const f64 = data instanceof Float64Array;
  for (let i = 0; i < data.length; i++) {
    if (f64) view.setFloat64(i * 8, data[i]!, true);
    else view.setFloat32(i * 4, data[i]!, true);
  }
}

function readLittleEndian(bytes: Uint8Array, begin: number, end: number, dtype: SafetensorsDType): Float32Array | Float64Array {
  // A copy into a fresh, aligned buffer: the file's offsets need not be aligned. (Uint8Array's
  // slice, not Buffer's, which would return a view into Node's shared pool.)
  const copy = Uint8Array.prototype.slice.call(bytes, begin, end);
  if (LITTLE_ENDIAN) return dtype === "F64" ? new Float64Array(copy.buffer) : new Float32Array(copy.buffer);
  const view = new DataView(copy.buffer);
  const n = (end - begin) / ITEM_SIZE[dtype];
  const out = dtype === "F64" ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = dtype === "F64" ? view.getFloat64(i * 8, true) : view.getFloat32(i * 4, true);
  return out;
}

/**
 * Encodes tensors (shape + Float32Array/Float64Array, in the given order except that F64 tensors
 * come first for alignment) and string metadata as safetensors bytes.
 */
export function encodeSafetensors(
  tensors: Iterable<[string, { shape: readonly number[]; data: Float32Array | Float64Array }]>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const entries = [...tensors];
  const names = new Set<string>();
  for (const [name, t] of entries) {
    if (name === "__metadata__" || name === "") throw new FileFormatError(`safetensors: invalid tensor name ${JSON.stringify(name)}`);
    if (names.has(name)) throw new FileFormatError(`safetensors: duplicate tensor name ${JSON.stringify(name)}`);
    names.add(name);
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0) || product(t.shape) !== t.data.length)
      throw new FileFormatError(`safetensors: tensor ${name} has shape [${t.shape.join(", ")}] but ${t.data.length} values`);
  }
  for (const [k, v] of Object.entries(metadata))
    if (typeof v !== "string") throw new FileFormatError(`safetensors: metadata ${k} must be a string, got ${typeof v}`);
  const ordered = [
    ...entries.filter(([, t]) => t.data instanceof Float64Array),
    ...entries.filter(([, t]) => !(t.data instanceof Float64Array)),
  ];
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of ordered) {
    const end = offset + t.data.byteLength;
    header[name] = { dtype: dtypeOfData(t.data), shape: [...t.shape], data_offsets: [offset, end] };
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const [, t] of ordered) {
    writeLittleEndian(out, at, t.data);
    at += t.data.byteLength;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Decodes and validates safetensors bytes. `source` (a file name) starts every error message.
 * Throws FileFormatError for: fewer than 8 bytes, a header length beyond the data or above 100 MB (always), invalid UTF-8
 * or JSON, a header that is not an object, non-string metadata, unknown or unsupported dtypes,
 * bad shapes, offsets outside the buffer, sizes that disagree with shape × dtype, overlapping
 * tensors, gaps, and bytes after the last tensor.
 */
export function decodeSafetensors(bytes: Uint8Array, source = "safetensors data"): SafetensorsContents {
  const bad = (what: string): FileFormatError => new FileFormatError(`${source}: ${what}`);
  if (bytes.length < 8)
    throw bad(`truncated or not a safetensors file (${bytes.length} bytes, shorter than the 8-byte header length)`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  // The limit applies whatever the file's length: a hostile file may really carry a huge header,
  // and nothing is decoded (or allocated for it) before this check.
  if (headerLength > BigInt(MAX_HEADER_BYTES))
    throw bad(`not a safetensors file (header length ${headerLength} is implausible: more than the ${MAX_HEADER_BYTES.toLocaleString("en-US")}-byte limit)`);
  if (headerLength > BigInt(bytes.length - 8))
    throw bad(`truncated: the header claims ${headerLength} bytes but only ${bytes.length - 8} follow`);
  const n = Number(headerLength);
  if (n < 2) throw bad(`corrupt header (length ${n})`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw bad("corrupt header (not valid UTF-8)");
  }
  if (!text.startsWith("{")) throw bad("not a safetensors file (the header does not start with '{')");
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    throw bad(`corrupt header (invalid JSON: ${(error as Error).message.split("\n")[0]})`);
  }
  if (!isPlainObject(header)) throw bad("corrupt header (expected a JSON object)");

  const metadata: Record<string, string> = {};
  const rawMeta = header.__metadata__;
  if (rawMeta !== undefined) {
    if (!isPlainObject(rawMeta)) throw bad("corrupt header (__metadata__ must be an object of strings)");
    for (const [k, v] of Object.entries(rawMeta)) {
      if (typeof v !== "string") throw bad(`corrupt header (__metadata__.${k} must be a string, got ${typeof v})`);
      metadata[k] = v;
    }
  }

  const bufferStart = 8 + n;
  const bufferLength = bytes.length - bufferStart;
  const spans: { name: string; begin: number; end: number; dtype: SafetensorsDType; shape: number[] }[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (!isPlainObject(info)) throw bad(`corrupt header (tensor ${name} is not an object)`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== "string") throw bad(`corrupt header (tensor ${name} has no dtype)`);
    if (dtype !== "F32" && dtype !== "F64") {
      if (OTHER_DTYPES.has(dtype)) throw bad(`tensor ${name} has dtype ${dtype}; this library reads F32 and F64 only`);
      throw bad(`corrupt header (tensor ${name} has unknown dtype ${JSON.stringify(dtype)})`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0))
      throw bad(`corrupt header (tensor ${name} has an invalid shape ${JSON.stringify(shape)})`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0) ||
      (offsets[0] as number) > (offsets[1] as number)
    )
      throw bad(`corrupt header (tensor ${name} has invalid data_offsets ${JSON.stringify(offsets)})`);
    const [begin, end] = offsets as [number, number];
    const expected = product(shape as number[]) * ITEM_SIZE[dtype];
    if (end - begin !== expected)
      throw bad(`corrupt header (tensor ${name}: shape [${shape.join(", ")}] of ${dtype} needs ${expected} bytes, data_offsets give ${end - begin})`);
    if (end > bufferLength)
      throw bad(`truncated: tensor ${name} ends at byte ${end} of the data but only ${bufferLength} bytes are present`);
    spans.push({ name, begin, end, dtype, shape: shape as number[] });
  }
  const sorted = [...spans].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const s of sorted) {
    if (s.begin < cursor) throw bad(`corrupt header (tensor ${s.name} overlaps the previous tensor)`);
    if (s.begin > cursor) throw bad(`corrupt header (a gap of ${s.begin - cursor} bytes before tensor ${s.name})`);
    cursor = s.end;
  }
  if (cursor !== bufferLength) throw bad(`corrupt: ${bufferLength - cursor} unexpected bytes after the last tensor`);

  const tensors = new Map<string, SafeTensor>();
  for (const s of sorted) {
    tensors.set(s.name, {
      dtype: s.dtype,
      shape: s.shape.slice(),
      data: readLittleEndian(bytes, bufferStart + s.begin, bufferStart + s.end, s.dtype),
    });
  }
  return { metadata, tensors };
}
