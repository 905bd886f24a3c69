// The Images panel's logic without a browser (web/src/digits.ts): the pen and the brush on the
// 28×28 grid, the library's mask patterns, the pixels the model sees, the shipped test digits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { inpaintingMask } from "normalizing-flows";
import { DigitImage, editorRGBA, fromBase64, HIDDEN_TINT, PEN, pixelValue, testDigits, toGrid } from "../../web/src/digits.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
/** Distance from pixel k's centre to the horizontal segment (x0, y) → (x1, y), x0 ≤ x1. */
const distance = (k: number, x0: number, x1: number, y: number): number => {
  const [cx, cy] = [(k % 28) + 0.5, Math.floor(k / 28) + 0.5];
  return Math.hypot(cx - Math.max(x0, Math.min(x1, cx)), cy - y);
};

test("digit pen: full ink within the pen's radius of the stroke, fading over its edge, none beyond; ink only adds", () => {
  const d = new DigitImage();
  d.stroke(5, 10.5, 20, 10.5);
  for (let k = 0; k < 784; k++) {
    const r = distance(k, 5, 20, 10.5);
    const b = d.bytes[k]!;
    if (r <= PEN.radius) assert.equal(b, 255, `pixel ${k} at ${r.toFixed(2)}: full ink`);
    else if (r >= PEN.radius + PEN.edge) assert.equal(b, 0, `pixel ${k} at ${r.toFixed(2)}: no ink`);
    else assert.equal(b, Math.round(255 * (1 - (r - PEN.radius) / PEN.edge)), `pixel ${k} at ${r.toFixed(2)}: soft edge`);
  }
  const before = Uint8Array.from(d.bytes);
  d.stroke(12.5, 0, 12.5, 28, { radius: 0.2, edge: 3 }); // a faint wide line across: never darkens the first
  for (let k = 0; k < 784; k++) assert.ok(d.bytes[k]! >= before[k]!, `pixel ${k}: ink only adds`);
  d.stroke(-10, -10, -5, -5); // off the grid: nothing, no error
  assert.equal(d.source, "drawn with the mouse");
  d.clearDigit();
  assert.equal(d.inkCount, 0);
});

test("digit brush: hides exactly the pixels whose centres lie within its radius; reveal undoes; the library's masks", () => {
  const d = new DigitImage();
  d.paint(3, 14, 24, 14, 2.5);
  for (let k = 0; k < 784; k++) assert.equal(d.hidden[k], distance(k, 3, 24, 14) <= 2.5 ? 1 : 0, `pixel ${k}`);
  const band = d.hiddenCount;
  assert.ok(band > 120 && band < 160, `a band of 6 rows (centres within 2.5 of y = 14) by ~22 columns, round ends: ${band}`);
  d.paint(10, 14, 10, 14, 1, false); // a dot of "reveal"
  assert.equal(d.hidden[14 * 28 + 10], 0);
  assert.equal(d.hiddenCount, band - 4, "the four centres within 1 of the grid point (10, 14)");
  d.setPattern("bottom");
  assert.deepEqual(d.hidden, inpaintingMask("bottom", [1, 28, 28], 1));
  d.setPattern("random75", 9);
  assert.deepEqual(d.hidden, inpaintingMask("random75", [1, 28, 28], 1, 9));
  d.clearHidden();
  assert.equal(d.hiddenCount, 0);
});

test("digit pixels: bytes as the model sees them, (b + ½)/256; pointer → grid; the editor's tint", () => {
  const d = new DigitImage();
  d.setDigit(Uint8Array.from({ length: 784 }, (_, k) => k % 256), "a ramp");
  const x = d.pixels();
  assert.equal(x[0], 0.5 / 256);
  assert.equal(x[255], 255.5 / 256);
  assert.ok(x.every((v) => v > 0 && v < 1));
  assert.equal(pixelValue(128), 128.5 / 256);
  assert.throws(() => d.setDigit(new Uint8Array(100), "short"), /expected 784 pixel bytes \(28×28\), got 100/);
  assert.deepEqual(toGrid(0, 0, 336, 336), [0, 0]);
  assert.deepEqual(toGrid(168, 84, 336, 336), [14, 7]);
  d.hidden[1] = 1;
  const rgba = editorRGBA(d);
  assert.deepEqual(Array.from(rgba.subarray(0, 4)), [0, 0, 0, 255], "observed: grey");
  assert.deepEqual(Array.from(rgba.subarray(4, 8)), [...HIDDEN_TINT.map((t) => Math.round(0.5 * 1 + 0.5 * t)), 255], "hidden: half tint");
});

test("the shipped test digits decode with the library's IDX reader; base64 round trip", () => {
  const images = gunzipSync(readFileSync(join(root, "models/t10k-0-99-images-idx3-ubyte.gz")));
  const labels = gunzipSync(readFileSync(join(root, "models/t10k-0-99-labels-idx1-ubyte.gz")));
  const t = testDigits(fromBase64(images.toString("base64")), fromBase64(labels.toString("base64")));
  assert.equal(t.n, 100);
  assert.deepEqual(Array.from(t.labels.subarray(0, 5)), [7, 2, 1, 0, 4], "MNIST's first test labels");
  assert.deepEqual(t.images.subarray(784, 2 * 784), new Uint8Array(images.subarray(16 + 784, 16 + 2 * 784)));
  assert.throws(() => testDigits(new Uint8Array([0x1f, 0x8b, 8, 0]), labels), /gzip/);
});
