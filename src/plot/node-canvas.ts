/**
 * Node's canvas: a CanvasFactory backed by @napi-rs/canvas (Skia, prebuilt, installs from npm
 * alone), PNG encoding and an atomic PNG writer. The package is imported lazily here and only here,
 * so the rest of plot/ runs in the browser unchanged.
 */
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { Canvas } from "@napi-rs/canvas";
import { writeFileAtomic } from "../io/atomic.js";
import type { CanvasFactory, Ctx2D } from "./canvas.js";
import { FlowError } from "../engine/errors.js";

/** A canvas from @napi-rs/canvas. */
export type NodeCanvas = Canvas;

let module: typeof import("@napi-rs/canvas") | undefined;

/** The one-line error when the optional peer dependency @napi-rs/canvas is not installed. */
export const CANVAS_MISSING = "PNG output needs @napi-rs/canvas: npm install @napi-rs/canvas";

/**
 * Loads @napi-rs/canvas: an optional peer dependency (a 35 MB native binary that browser apps
 * never need), so a missing package is a one-line FlowError saying how to install it.
 */
async function canvasModule(): Promise<typeof import("@napi-rs/canvas")> {
  if (!module) {
    try {
      module = await import("@napi-rs/canvas");
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      const message = String((error as { message?: unknown } | null)?.message ?? "");
      // ERR_MODULE_NOT_FOUND: the package is absent; a failed native binding load names it too
      if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND" || message.includes("@napi-rs/canvas"))
        throw new FlowError(CANVAS_MISSING);
      throw error;
    }
  }
  return module;
}

/** The Node canvas factory (loads @napi-rs/canvas on first use). */
export async function nodeCanvasFactory(): Promise<CanvasFactory<NodeCanvas>> {
  const { createCanvas } = await canvasModule();
  return {
    create(width, height) {
      const canvas = createCanvas(width, height);
      const ctx: Ctx2D = canvas.getContext("2d");
      return { canvas, ctx };
    },
  };
}

/** PNG bytes of a canvas. */
export async function encodePng(canvas: NodeCanvas): Promise<Uint8Array> {
  return new Uint8Array(await canvas.encode("png"));
}

/**
 * Writes the canvas as a PNG file atomically (temporary file in the same folder, fsync, rename), so
 * a reader never sees half a picture. Creates the folder if needed.
 */
export async function savePng(canvas: NodeCanvas, path: string): Promise<void> {
  const bytes = await encodePng(canvas);
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, bytes);
}

/** Decoded RGBA pixels of PNG bytes (for tests and checks). */
export async function decodePng(bytes: Uint8Array): Promise<{ width: number; height: number; data: Uint8ClampedArray }> {
  const { createCanvas, loadImage } = await canvasModule();
  const img = await loadImage(Buffer.from(bytes));
  const canvas = createCanvas(img.width, img.height);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, img.width, img.height).data as Uint8ClampedArray;
  return { width: img.width, height: img.height, data };
}
