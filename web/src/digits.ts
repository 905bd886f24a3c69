/**
 * The Images panel's logic without the DOM (unit-tested in Node, test/web/digits.test.ts): a 28×28
 * digit drawn with the mouse or taken from the shipped test digits, the hidden region painted with
 * a brush or set from one of the library's mask patterns, and the pixels the model sees.
 *
 * The digit is kept as MNIST keeps it, bytes b ∈ {0..255}; the model sees x = (b + ½)/256, the
 * centre of each dequantisation cell (as `nflow inpaint` reads test images), inside (0, 1).
 */
import { imagesFromIdx, inpaintingMask, parseIdx, type InpaintingMask } from "normalizing-flows";

export const SIDE = 28;
export const PIXELS = SIDE * SIDE;

/** A byte as the model's pixel value: the centre of its dequantisation cell, (b + ½)/256. */
export const pixelValue = (b: number): number => (b + 0.5) / 256;

/**
 * The pen: ink b = 255·clamp(1 − (d − r)/edge, 0, 1) at distance d from the stroke, so a line is
 * solid within r pixels and fades over `edge` more (MNIST's strokes are ~2–3 pixels wide with soft
 * edges); ink only adds (the brighter value wins where strokes cross).
 */
export const PEN = { radius: 1.0, edge: 1.0 };

/** Distance from the pixel centre (px, py) to the segment a → b (grid units, pixel k spans [k, k+1)). */
function segmentDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** The pixels within `reach` of a segment (a bounding box, clipped to the grid). */
function* near(ax: number, ay: number, bx: number, by: number, reach: number): Generator<[number, number]> {
  const c0 = Math.max(0, Math.floor(Math.min(ax, bx) - reach));
  const c1 = Math.min(SIDE - 1, Math.ceil(Math.max(ax, bx) + reach));
  const r0 = Math.max(0, Math.floor(Math.min(ay, by) - reach));
  const r1 = Math.min(SIDE - 1, Math.ceil(Math.max(ay, by) + reach));
  for (let r = r0; r <= r1; r++)
    for (let c = c0; c <= c1; c++) {
      const d = segmentDistance(c + 0.5, r + 0.5, ax, ay, bx, by);
      if (d <= reach) yield [r * SIDE + c, d];
    }
}

/** A 28×28 digit and the region of it to hide (1 = hidden, to be inpainted). */
export class DigitImage {
  readonly bytes = new Uint8Array(PIXELS);
  readonly hidden = new Uint8Array(PIXELS);
  /** Where the digit came from, for the page's words. */
  source = "drawn with the mouse";

  /** Ink along the segment a → b (grid units: x = column, y = row, 0..28). */
  stroke(ax: number, ay: number, bx: number, by: number, pen = PEN): void {
    for (const [k, d] of near(ax, ay, bx, by, pen.radius + pen.edge)) {
      const ink = Math.round(255 * Math.max(0, Math.min(1, 1 - (d - pen.radius) / pen.edge)));
      if (ink > this.bytes[k]!) this.bytes[k] = ink;
    }
    this.source = "drawn with the mouse";
  }

  /** Hides (or, with hide = false, reveals) the pixels whose centres lie within `radius` of the segment a → b. */
  paint(ax: number, ay: number, bx: number, by: number, radius: number, hide = true): void {
    for (const [k] of near(ax, ay, bx, by, radius)) this.hidden[k] = hide ? 1 : 0;
  }

  /** The hidden region of one of the library's masks (`inpaintingMask`: the NICE paper's ten). */
  setPattern(name: InpaintingMask, seed?: number): void {
    this.hidden.set(inpaintingMask(name, [1, SIDE, SIDE], 1, seed));
  }

  /** A digit's bytes (784 of them, row after row), e.g. one of the shipped test digits. */
  setDigit(bytes: ArrayLike<number>, source: string): void {
    if (bytes.length !== PIXELS) throw new RangeError(`digit: expected ${PIXELS} pixel bytes (28×28), got ${bytes.length}`);
    this.bytes.set(bytes);
    this.source = source;
  }

  clearDigit(): void {
    this.bytes.fill(0);
    this.source = "drawn with the mouse";
  }

  clearHidden(): void {
    this.hidden.fill(0);
  }

  get hiddenCount(): number {
    let n = 0;
    for (const h of this.hidden) n += h;
    return n;
  }

  get inkCount(): number {
    let n = 0;
    for (const b of this.bytes) if (b > 0) n++;
    return n;
  }

  /** The digit as the model sees it: 784 values (b + ½)/256 in (0, 1). */
  pixels(): Float64Array {
    return Float64Array.from(this.bytes, pixelValue);
  }
}

/** A pointer position on a canvas of `width` × `height` CSS pixels showing the grid → grid units (x = column, y = row). */
export function toGrid(offsetX: number, offsetY: number, width: number, height: number): [number, number] {
  return [(offsetX / width) * SIDE, (offsetY / height) * SIDE];
}

/** The colour of a hidden pixel in the editor: the digit's grey blended with this tint. */
export const HIDDEN_TINT: readonly [number, number, number] = [232, 120, 40];

/**
 * RGBA bytes of the editor's picture: the digit in grey (white ink on black, as MNIST), hidden
 * pixels blended half with the tint so that both the digit and the region show.
 */
export function editorRGBA(image: DigitImage): Uint8ClampedArray {
  const out = new Uint8ClampedArray(4 * PIXELS);
  for (let k = 0; k < PIXELS; k++) {
    const g = image.bytes[k]!;
    const h = image.hidden[k]!;
    for (let c = 0; c < 3; c++) out[4 * k + c] = h ? Math.round(0.5 * g + 0.5 * HIDDEN_TINT[c]!) : g;
    out[4 * k + 3] = 255;
  }
  return out;
}

/** The shipped test digits: MNIST test images 0..99 and their labels (IDX bytes, already gunzipped). */
export interface TestDigits {
  n: number;
  images: Uint8Array;
  labels: Uint8Array;
}

/** Decodes the shipped IDX files with the library's portable reader (`parseIdx`, `imagesFromIdx`). */
export function testDigits(imagesIdx: Uint8Array, labelsIdx: Uint8Array): TestDigits {
  const set = imagesFromIdx(parseIdx(imagesIdx, "t10k-0-99-images-idx3-ubyte"), parseIdx(labelsIdx, "t10k-0-99-labels-idx1-ubyte"), "MNIST test digits");
  const [C, H, W] = set.shape;
  if (C !== 1 || H !== SIDE || W !== SIDE) throw new RangeError(`test digits: expected 28×28 grey images, got [${set.shape.join(", ")}]`);
  return { n: set.n, images: set.images, labels: set.labels! };
}

/** Base64 → bytes (the digits travel inside the page's script, so they load from file:// too). */
export function fromBase64(text: string): Uint8Array {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A log-density for the page: nats, one decimal, with a proper minus sign. */
export function formatLogProb(v: number): string {
  return Number.isFinite(v) ? v.toFixed(1).replace("-", "−") : String(v);
}
