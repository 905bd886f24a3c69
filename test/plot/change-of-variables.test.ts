import { test } from "node:test";
import assert from "node:assert/strict";
import type { Axes } from "../../src/plot/axes.js";
import { changeOfVariablesFigure, changeOfVariablesNumbers, mapRect, polygonArea } from "../../src/plot/change-of-variables.js";
import { colormap } from "../../src/plot/colormap.js";
import { nodeCanvasFactory } from "../../src/plot/node-canvas.js";
import { assertNonTrivial, checkedPixels, rgbAt } from "./png.js";

test("the lecture's numbers: densities 1/4 and 1/16, p(S) = p(S′) = 1/8, wrong p(S′) = 1/2 and mass 4", () => {
  const N = changeOfVariablesNumbers();
  assert.equal(N.det, 4);
  assert.equal(N.baseDensity, 1 / 4);
  assert.equal(N.imageDensity, 1 / 16);
  assert.equal(N.regionArea, 1 / 2);
  assert.equal(N.regionProb, 1 / 8);
  assert.equal(N.regionImageArea, 2);
  assert.equal(N.regionImageProb, 1 / 8);
  assert.equal(N.imageArea, 16);
  assert.equal(N.baseMass, 1);
  assert.equal(N.imageMass, 1);
  assert.equal(N.wrongRegionImageProb, 1 / 2);
  assert.equal(N.wrongImageMass, 4);
  // The determinant's areas agree with the geometry of the mapped polygons (shoelace).
  assert.equal(polygonArea(mapRect(N.matrix, [[0, 2], [0, 2]])), N.imageArea);
  assert.equal(polygonArea(mapRect(N.matrix, N.region)), N.regionImageArea);
});

test("any invertible matrix conserves probability; a singular one is refused", () => {
  const N = changeOfVariablesNumbers({ matrix: [[0.5, 3], [-1, 0.25]], side: 3, region: [[1, 2.5], [0, 2]] });
  assert.ok(Math.abs(N.regionImageProb - N.regionProb) < 1e-15);
  assert.ok(Math.abs(N.imageMass - 1) < 1e-15);
  assert.ok(Math.abs(polygonArea(mapRect(N.matrix, N.region)) - N.regionImageArea) < 1e-12);
  assert.throws(() => changeOfVariablesNumbers({ matrix: [[1, 2], [2, 4]] }), /invertible/);
  assert.throws(() => changeOfVariablesNumbers({ region: [[0, 3], [0, 1]] }), /inside/);
});

test("the figure paints the right densities: 1/4 on the square, 1/16 (b) and the wrong 1/4 (c) on the parallelogram", async () => {
  let axes: readonly Axes[] = [];
  const canvas = changeOfVariablesFigure(await nodeCanvasFactory(), { onAxes: (a) => (axes = a) });
  const px = await checkedPixels(canvas, 1000, 560);
  assertNonTrivial(px, "change of variables");
  assert.equal(axes.length, 3);
  const cmap = colormap("viridis");
  const near = (got: number[], want: readonly number[], what: string): void =>
    assert.ok(got.every((c, i) => Math.abs(c - want[i]!) <= 4), `${what}: pixel ${got} expected ≈ ${want}`);
  // z = (1.25, 1.25) is inside Ω and outside S, off the drawn grid lines; f(z) = (1.25, 3.75).
  near(rgbAt(px, axes[0]!.px(1.25), axes[0]!.py(1.25)), cmap.rgb(1), "(a) p(z) = 1/4");
  near(rgbAt(px, axes[1]!.px(1.25), axes[1]!.py(3.75)), cmap.rgb(0.25), "(b) p(x) = 1/16");
  near(rgbAt(px, axes[2]!.px(1.25), axes[2]!.py(3.75)), cmap.rgb(1), "(c) wrong p(x) = 1/4");
  // Outside the support the page stays white.
  near(rgbAt(px, axes[1]!.px(-1.3), axes[1]!.py(5.3)), [255, 255, 255], "(b) outside Ω′");
});
