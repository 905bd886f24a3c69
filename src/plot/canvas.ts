/**
 * The drawing surface: the subset of the standard Canvas 2D API (CanvasRenderingContext2D) that
 * the plots use, so that the same code draws in the browser (a real <canvas>) and in Node (through
 * @napi-rs/canvas, see node-canvas.ts). Nothing here imports a canvas implementation: figures take
 * a `CanvasFactory` and return the canvas it made.
 *
 * Coordinates are canvas pixels with no transform: heat maps and image grids write pixels with
 * `putImageData`, which ignores the current transform.
 */

/** Pixels as `createImageData` returns them: RGBA bytes, row-major. */
export interface ImageDataLike {
  readonly data: { [index: number]: number; readonly length: number };
  readonly width: number;
  readonly height: number;
}

/** The part of CanvasRenderingContext2D the plots use (a browser or @napi-rs/canvas context fits it). */
export interface Ctx2D {
  fillStyle: string | object;
  strokeStyle: string | object;
  font: string;
  textAlign: "center" | "end" | "left" | "right" | "start";
  textBaseline: "alphabetic" | "bottom" | "hanging" | "ideographic" | "middle" | "top";
  lineWidth: number;
  lineJoin: "bevel" | "miter" | "round";
  lineCap: "butt" | "round" | "square";
  globalAlpha: number;
  save(): void;
  restore(): void;
  beginPath(): void;
  closePath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  arc(x: number, y: number, radius: number, startAngle: number, endAngle: number): void;
  rect(x: number, y: number, w: number, h: number): void;
  fill(): void;
  stroke(): void;
  clip(): void;
  fillRect(x: number, y: number, w: number, h: number): void;
  strokeRect(x: number, y: number, w: number, h: number): void;
  fillText(text: string, x: number, y: number): void;
  strokeText(text: string, x: number, y: number): void;
  measureText(text: string): { width: number };
  translate(x: number, y: number): void;
  rotate(angle: number): void;
  setLineDash(segments: number[]): void;
  createImageData(width: number, height: number): ImageDataLike;
  putImageData(image: ImageDataLike, dx: number, dy: number): void;
}

/** Anything with a size: an HTMLCanvasElement, an OffscreenCanvas, a @napi-rs/canvas Canvas. */
export interface CanvasLike {
  readonly width: number;
  readonly height: number;
}

/** Makes canvases: `browserCanvasFactory` in the browser, `nodeCanvasFactory()` in Node. */
export interface CanvasFactory<C extends CanvasLike = CanvasLike> {
  create(width: number, height: number): { canvas: C; ctx: Ctx2D };
}

/** A rectangle in canvas pixels. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Font family: DejaVu Sans where installed (most Linux), then the platform's sans-serif. */
export const FONT_FAMILY = '"DejaVu Sans", "Helvetica Neue", Arial, sans-serif';

/** Font sizes in px, chosen to stay legible when a figure is shown 800 px wide (all ≥ 13). */
export const FONT_SIZE = { title: 18, panelTitle: 16, label: 15, tick: 13, note: 14 } as const;

/** Colours of the non-data ink. */
export const INK = { text: "#1f1f1f", muted: "#555555", frame: "#333333", grid: "#e6e6e6", background: "#ffffff" } as const;

/** A CSS font string, e.g. font(14, "bold"). */
export function font(px: number, weight: "normal" | "bold" = "normal"): string {
  return `${weight === "bold" ? "bold " : ""}${px}px ${FONT_FAMILY}`;
}

/** Creates a canvas from the factory and paints it white. */
export function newFigure<C extends CanvasLike>(factory: CanvasFactory<C>, width: number, height: number): { canvas: C; ctx: Ctx2D } {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0))
    throw new RangeError(`figure size: expected positive integers, got ${width} × ${height}`);
  const made = factory.create(width, height);
  made.ctx.fillStyle = INK.background;
  made.ctx.fillRect(0, 0, width, height);
  return made;
}

/** Writes text with the given font, colour and alignment (state restored afterwards). */
export function text(
  ctx: Ctx2D,
  s: string,
  x: number,
  y: number,
  opts: {
    size?: number;
    weight?: "normal" | "bold";
    color?: string;
    align?: Ctx2D["textAlign"];
    baseline?: Ctx2D["textBaseline"];
    rotate?: number;
    /** A white outline behind the glyphs, so the text reads on any background. */
    halo?: boolean;
  } = {},
): void {
  ctx.save();
  ctx.font = font(opts.size ?? FONT_SIZE.note, opts.weight ?? "normal");
  ctx.fillStyle = opts.color ?? INK.text;
  ctx.textAlign = opts.align ?? "left";
  ctx.textBaseline = opts.baseline ?? "alphabetic";
  ctx.translate(x, y);
  if (opts.rotate) ctx.rotate(opts.rotate);
  if (opts.halo) {
    ctx.strokeStyle = "rgba(255, 255, 255, 0.9)";
    ctx.lineWidth = 4;
    ctx.lineJoin = "round";
    ctx.strokeText(s, 0, 0);
  }
  ctx.fillText(s, 0, 0);
  ctx.restore();
}

/** Draws the figure's title centred at the top. */
export function figureTitle(ctx: Ctx2D, title: string, width: number, y = 28): void {
  text(ctx, title, width / 2, y, { size: FONT_SIZE.title, weight: "bold", align: "center" });
}

/** The browser's factory: an offscreen <canvas> from `document` (no Node import). */
export const browserCanvasFactory: CanvasFactory = {
  create(width, height) {
    const doc = (globalThis as { document?: { createElement(tag: "canvas"): unknown } }).document;
    if (!doc) throw new Error("browserCanvasFactory: no document here (in Node use nodeCanvasFactory() from plot/node-canvas.js)");
    const canvas = doc.createElement("canvas") as { width: number; height: number; getContext(id: "2d"): Ctx2D | null };
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("browserCanvasFactory: this browser gave no 2d context");
    return { canvas, ctx };
  },
};
