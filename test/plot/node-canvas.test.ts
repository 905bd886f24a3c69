import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeCanvasFactory, savePng } from "../../src/plot/node-canvas.js";
import { newFigure } from "../../src/plot/canvas.js";
import { pngSize } from "./png.js";

test("savePng writes a PNG of the canvas size atomically (no temporary file left), creating the folder", async () => {
  const dir = mkdtempSync(join(tmpdir(), "nflow-png-"));
  try {
    const f = await nodeCanvasFactory();
    const { canvas, ctx } = newFigure(f, 123, 45);
    ctx.fillStyle = "#0072B2";
    ctx.fillRect(10, 10, 50, 20);
    const path = join(dir, "sub", "a.png");
    await savePng(canvas, path);
    assert.deepEqual(pngSize(new Uint8Array(readFileSync(path))), { width: 123, height: 45 });
    // Overwrite in place: still one file.
    await savePng(newFigure(f, 20, 30).canvas, path);
    assert.deepEqual(pngSize(new Uint8Array(readFileSync(path))), { width: 20, height: 30 });
    assert.deepEqual(readdirSync(join(dir, "sub")), ["a.png"]);
    assert.throws(() => newFigure(f, 0, 10), /positive integers/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
