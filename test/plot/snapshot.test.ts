/**
 * A snapshot of one small picture, compared pixel by pixel with a tolerance: font rasterisation
 * may differ slightly between machines, a changed layout or colour map may not.
 * Regenerate the reference with NFLOW_UPDATE_SNAPSHOTS=1 npm test -- test/plot/snapshot.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../../src/io/atomic.js";
import { densityFigure } from "../../src/plot/density.js";
import { decodePng, encodePng, nodeCanvasFactory } from "../../src/plot/node-canvas.js";

const REFERENCE = fileURLToPath(new URL("./__snapshots__/density-small.png", import.meta.url));
/** Mean absolute difference per channel (0..255) allowed between the picture and the reference. */
const TOLERANCE = 1.5;

async function render(): Promise<Uint8Array> {
  const f = await nodeCanvasFactory();
  const banana = (p: Float64Array): Float64Array =>
    Float64Array.from({ length: p.length / 2 }, (_, i) => {
      const [x, y] = [p[2 * i]!, p[2 * i + 1]!];
      return -(x * x) / 2 - ((y - 0.5 * x * x + 1) ** 2) / 0.5;
    });
  const canvas = await densityFigure(f, { panels: [{ logDensity: banana }], bounds: [[-3, 3], [-2.5, 3.5]], width: 360, height: 300, resolution: 80, note: "" });
  return encodePng(canvas);
}

function meanAbsDiff(a: Uint8ClampedArray, b: Uint8ClampedArray): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) if (i % 4 !== 3) s += Math.abs(a[i]! - b[i]!);
  return s / ((a.length / 4) * 3);
}

test("snapshot: a small density picture matches the reference within the tolerance", async () => {
  const bytes = await render();
  if (process.env.NFLOW_UPDATE_SNAPSHOTS === "1" || !existsSync(REFERENCE)) {
    await writeFileAtomic(REFERENCE, bytes);
    if (process.env.NFLOW_UPDATE_SNAPSHOTS !== "1") assert.fail(`no reference snapshot: wrote ${REFERENCE}; check it and commit it`);
    return;
  }
  const got = await decodePng(bytes);
  const want = await decodePng(new Uint8Array(readFileSync(REFERENCE)));
  assert.equal(got.width, want.width, "width");
  assert.equal(got.height, want.height, "height");
  const d = meanAbsDiff(got.data, want.data);
  assert.ok(d < TOLERANCE, `mean absolute difference ${d.toFixed(3)} ≥ ${TOLERANCE} (regenerate with NFLOW_UPDATE_SNAPSHOTS=1 if the change is intended)`);
});

test("snapshot comparison can fail: a changed picture is far from the reference", async () => {
  const f = await nodeCanvasFactory();
  const canvas = await densityFigure(f, {
    panels: [{ logDensity: (p) => Float64Array.from({ length: p.length / 2 }, (_, i) => -(p[2 * i]! ** 2 + p[2 * i + 1]! ** 2)) }],
    bounds: [[-3, 3], [-2.5, 3.5]],
    width: 360,
    height: 300,
    resolution: 80,
  });
  const other = await decodePng(await encodePng(canvas));
  const want = await decodePng(existsSync(REFERENCE) ? new Uint8Array(readFileSync(REFERENCE)) : await render());
  assert.ok(meanAbsDiff(other.data, want.data) > 4 * TOLERANCE);
});
