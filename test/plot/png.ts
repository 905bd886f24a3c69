/**
 * Test helpers for pictures: PNG header parsing, pixel decoding and simple image statistics.
 */
import assert from "node:assert/strict";
import { decodePng, encodePng, type NodeCanvas } from "../../src/plot/node-canvas.js";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from a PNG's IHDR chunk; fails when the bytes are not a PNG. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  assert.ok(bytes.length > 33, `PNG: expected more than 33 bytes, got ${bytes.length}`);
  assert.deepEqual(Array.from(bytes.subarray(0, 8)), SIGNATURE, "PNG signature");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(view.getUint32(8), 13, "IHDR length");
  assert.equal(String.fromCharCode(...bytes.subarray(12, 16)), "IHDR", "first chunk is IHDR");
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

export interface Pixels {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/** Encodes the canvas, checks it is a PNG of the expected size, and decodes its pixels. */
export async function checkedPixels(canvas: NodeCanvas, width?: number, height?: number): Promise<Pixels> {
  const bytes = await encodePng(canvas);
  const size = pngSize(bytes);
  if (width !== undefined) assert.equal(size.width, width, "PNG width");
  if (height !== undefined) assert.equal(size.height, height, "PNG height");
  const px = await decodePng(bytes);
  assert.equal(px.width, size.width);
  assert.equal(px.height, size.height);
  return px;
}

/** Luminance (0..255) of the pixel at (x, y). */
export function luminance(p: Pixels, x: number, y: number): number {
  const k = 4 * (Math.round(y) * p.width + Math.round(x));
  return 0.2126 * p.data[k]! + 0.7152 * p.data[k + 1]! + 0.0722 * p.data[k + 2]!;
}

/** RGB of the pixel at (x, y). */
export function rgbAt(p: Pixels, x: number, y: number): [number, number, number] {
  const k = 4 * (Math.round(y) * p.width + Math.round(x));
  return [p.data[k]!, p.data[k + 1]!, p.data[k + 2]!];
}

/** Variance of the luminance over all pixels (0 for a blank picture). */
export function luminanceVariance(p: Pixels): number {
  let s = 0;
  let s2 = 0;
  const n = p.width * p.height;
  for (let i = 0; i < n; i++) {
    const l = 0.2126 * p.data[4 * i]! + 0.7152 * p.data[4 * i + 1]! + 0.0722 * p.data[4 * i + 2]!;
    s += l;
    s2 += l * l;
  }
  return s2 / n - (s / n) ** 2;
}

/** Share of pixels that are not (near) white. */
export function inkFraction(p: Pixels): number {
  let ink = 0;
  const n = p.width * p.height;
  for (let i = 0; i < n; i++) if (p.data[4 * i]! < 235 || p.data[4 * i + 1]! < 235 || p.data[4 * i + 2]! < 235) ink++;
  return ink / n;
}

/** Asserts that a picture has real content: varied pixels and some ink, not a blank page. */
export function assertNonTrivial(p: Pixels, what: string): void {
  const v = luminanceVariance(p);
  const ink = inkFraction(p);
  assert.ok(v > 200, `${what}: luminance variance ${v.toFixed(1)} is too low (blank picture?)`);
  assert.ok(ink > 0.02, `${what}: only ${(ink * 100).toFixed(2)}% of the pixels carry ink`);
}
