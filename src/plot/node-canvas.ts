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

/** A canvas from @napi-rs/canvas. */
export type NodeCanvas = Canvas;

let module: typeof import("@napi-rs/canvas") | undefined;

async function canvasModule(): Promise<typeof import("@napi-rs/canvas")> {
  module ??= await import("@napi-rs/canvas");
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
