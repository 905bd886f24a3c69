/**
 * The IDX format of MNIST and its relatives (Fashion-MNIST, KMNIST, EMNIST): bytes 0–1 are
 * zero, byte 2 is the element type, byte 3 the number of dimensions n, then n big-endian
 * uint32 sizes, then the elements row-major, big-endian when wider than a byte.
 *
 * Portable (no Node built-ins): it works on bytes, so a browser can parse files it fetched;
 * reading files and gunzipping them is in image-files.ts. Images become an {@link ImageSet}:
 * n images of C×H×W bytes, channels first like the models' NCHW layout, with optional labels.
 *
 * Errors are FileFormatError (bad bytes) or ConfigError (bad row selection), with a one-line
 * message that starts with the name of the file (`what`).
 */
import { ConfigError, FileFormatError } from "../engine/errors.js";

/** Element types of IDX files, by their names in typed-array terms. */
export type IdxDType = "uint8" | "int8" | "int16" | "int32" | "float32" | "float64";

/** A decoded IDX file: its element type, its sizes and its elements (row-major, native byte order). */
export interface IdxArray {
  dtype: IdxDType;
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

/** Type byte → element type and width in bytes. */
const IDX_TYPES: Record<number, [IdxDType, number]> = {
  0x08: ["uint8", 1],
  0x09: ["int8", 1],
  0x0b: ["int16", 2],
  0x0c: ["int32", 4],
  0x0d: ["float32", 4],
  0x0e: ["float64", 8],
};

/**
 * The most elements an IDX file may claim. Typed arrays and Node buffers stop near 2^31 (and
 * 2^32 bytes), so a larger product of sizes is a corrupt header, not a data set we could hold.
 */
const MAX_ELEMENTS = 2 ** 31;

const fmt = (n: number): string => n.toLocaleString("en-US");
const shapeText = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

/**
 * Decodes an IDX file. The elements are copied out of `bytes` (into a fresh typed array, in
 * native byte order), so the result does not keep the file's buffer alive or alias it.
 * `what` (usually the file name) starts every error message.
 */
export function parseIdx(bytes: Uint8Array, what: string): IdxArray {
  if (bytes.byteLength >= 2 && (bytes[0] !== 0 || bytes[1] !== 0)) {
    // A gzip stream starts 0x1f 0x8b: the .gz files MNIST is distributed as, not yet inflated.
    const gz = bytes[0] === 0x1f && bytes[1] === 0x8b;
    throw new FileFormatError(
      `${what}: not an IDX file (the first two bytes must be zero)` +
        (gz ? "; it looks gzip-compressed: gunzip it first (readIdxFile does that)" : ""),
    );
  }
  if (bytes.byteLength < 4) throw new FileFormatError(`${what}: truncated header (${bytes.byteLength} bytes; an IDX header needs at least 4)`);
  const type = IDX_TYPES[bytes[2]!];
  if (!type)
    throw new FileFormatError(
      `${what}: unknown IDX type byte 0x${bytes[2]!.toString(16).padStart(2, "0")} ` +
        "(expected 0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, 0x0d float32 or 0x0e float64)",
    );
  const [dtype, width] = type;
  const ndim = bytes[3]!;
  if (ndim < 1 || ndim > 4) throw new FileFormatError(`${what}: ${ndim} dimensions in the IDX header (expected 1 to 4)`);
  const headerBytes = 4 + 4 * ndim;
  if (bytes.byteLength < headerBytes)
    throw new FileFormatError(`${what}: truncated header (${ndim} dimensions need ${headerBytes} header bytes, the file has ${bytes.byteLength})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let size = 1;
  for (let k = 0; k < ndim; k++) {
    const s = view.getUint32(4 + 4 * k, false);
    shape.push(s);
    if (s === 0) throw new FileFormatError(`${what}: dimension ${k} has size 0 in the IDX header (shape ${shapeText(shape)}…)`);
    size *= s; // exact: the check below stops it before it could leave the safe integers
    if (size > MAX_ELEMENTS)
      throw new FileFormatError(`${what}: the IDX header claims more than 2^31 elements (shape ${shapeText(shape)}…): a corrupt header?`);
  }
  const expected = size * width;
  const got = bytes.byteLength - headerBytes;
  if (got !== expected)
    throw new FileFormatError(
      `${what}: expected ${fmt(expected)} bytes of data for shape ${shapeText(shape)} ${dtype}, got ${fmt(got)}` +
        (got < expected ? " (truncated)" : ` (${fmt(got - expected)} trailing bytes)`),
    );
  const body = bytes.subarray(headerBytes);
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let data: IdxArray["data"];
  switch (dtype) {
    case "uint8":
      data = new Uint8Array(body); // copies
      break;
    case "int8":
      data = new Int8Array(body.length);
      data.set(new Int8Array(body.buffer, body.byteOffset, body.length));
      break;
    case "int16": {
      const a = new Int16Array(size);
      for (let i = 0; i < size; i++) a[i] = dv.getInt16(2 * i, false);
      data = a;
      break;
    }
    case "int32": {
      const a = new Int32Array(size);
      for (let i = 0; i < size; i++) a[i] = dv.getInt32(4 * i, false);
      data = a;
      break;
    }
    case "float32": {
      const a = new Float32Array(size);
      for (let i = 0; i < size; i++) a[i] = dv.getFloat32(4 * i, false);
      data = a;
      break;
    }
    case "float64": {
      const a = new Float64Array(size);
      for (let i = 0; i < size; i++) a[i] = dv.getFloat64(8 * i, false);
      data = a;
      break;
    }
  }
  return { dtype, shape, data };
}

// ------------------------------------------------------------------------------------ images

/** n images of C×H×W bytes, with optional class labels. */
export interface ImageSet {
  /** n×C×H×W bytes (0..255), row-major: image i, channel c, row r, column q at ((i·C + c)·H + r)·W + q. */
  images: Uint8Array;
  n: number;
  /** [C, H, W]. A 3-d IDX file [n, H, W] has C = 1; a 4-d one [n, H, W, C] is transposed to channels first. */
  shape: [number, number, number];
  /** One label per image (0..classes − 1), when the labels file was read. */
  labels?: Uint8Array;
  /** max label + 1 of the whole file, kept by subsets (so a one-hot width does not depend on the subset). */
  classes?: number;
  /** Where the images came from (the file, or the data set and its part), for messages and reports. */
  source: string;
}

/**
 * Builds an image set from a decoded images file (uint8, [n, H, W] or [n, H, W, C]) and an
 * optional labels file (uint8, [n]). A 3-d file's bytes are used as they are (no copy); a 4-d
 * one is transposed from channels last (the IDX convention of colour sets) to channels first.
 */
export function imagesFromIdx(images: IdxArray, labels: IdxArray | undefined, what: string): ImageSet {
  if (images.dtype !== "uint8") throw new FileFormatError(`${what}: images must be uint8 pixel bytes, the file holds ${images.dtype}`);
  const s = images.shape;
  if (s.length !== 3 && s.length !== 4)
    throw new FileFormatError(`${what}: images must be 3-d [n, H, W] or 4-d [n, H, W, C], the file has shape ${shapeText(s)}`);
  const [n, H, W] = [s[0]!, s[1]!, s[2]!];
  const C = s.length === 4 ? s[3]! : 1;
  const src = images.data as Uint8Array;
  let bytes = src;
  if (C > 1) {
    bytes = new Uint8Array(src.length);
    const HW = H * W;
    for (let i = 0; i < n; i++) {
      const base = i * HW * C;
      for (let p = 0; p < HW; p++) for (let c = 0; c < C; c++) bytes[base + c * HW + p] = src[base + p * C + c]!;
    }
  }
  const set: ImageSet = { images: bytes, n, shape: [C, H, W], source: what };
  if (labels !== undefined) {
    if (labels.dtype !== "uint8") throw new FileFormatError(`${what}: labels must be uint8, the labels file holds ${labels.dtype}`);
    if (labels.shape.length !== 1)
      throw new FileFormatError(`${what}: labels must be 1-d [n], the labels file has shape ${shapeText(labels.shape)}`);
    if (labels.shape[0] !== n)
      throw new FileFormatError(`${what}: ${fmt(labels.shape[0]!)} labels for ${fmt(n)} images (the counts must match)`);
    const l = labels.data as Uint8Array;
    let max = 0;
    for (let i = 0; i < l.length; i++) if (l[i]! > max) max = l[i]!;
    set.labels = l;
    set.classes = max + 1;
  }
  return set;
}

/**
 * A subset of an image set: the listed rows in that order, or the range start ≤ i < end.
 * The bytes are copied, so a subset does not keep a large parent alive; `classes` and
 * `source` are kept.
 */
export function takeImages(set: ImageSet, rows: readonly number[] | { start: number; end: number }): ImageSet {
  const [C, H, W] = set.shape;
  const D = C * H * W;
  let out: ImageSet;
  if (Array.isArray(rows)) {
    const idx = rows as readonly number[];
    for (const r of idx)
      if (!Number.isInteger(r) || r < 0 || r >= set.n)
        throw new ConfigError(`${set.source}: row ${r} is out of range (the set has ${fmt(set.n)} images)`);
    const images = new Uint8Array(idx.length * D);
    idx.forEach((r, i) => images.set(set.images.subarray(r * D, (r + 1) * D), i * D));
    out = { images, n: idx.length, shape: [C, H, W], source: set.source };
    if (set.labels !== undefined) out.labels = Uint8Array.from(idx, (r) => set.labels![r]!);
  } else {
    const { start, end } = rows as { start: number; end: number };
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > set.n)
      throw new ConfigError(`${set.source}: rows ${start}..${end} are not a range within the ${fmt(set.n)} images (need 0 ≤ start ≤ end ≤ n)`);
    out = { images: set.images.slice(start * D, end * D), n: end - start, shape: [C, H, W], source: set.source };
    if (set.labels !== undefined) out.labels = set.labels.slice(start, end);
  }
  if (set.classes !== undefined) out.classes = set.classes;
  return out;
}
