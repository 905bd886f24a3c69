/**
 * Inpainting (tasks/inpainting.ts) and its masks: the ten corruptions hide exactly the pixels
 * their definitions say; on a tiny NICE fitted to 4×4 bar images, MAP ascent raises log p, keeps
 * every observed pixel bit for bit and the hidden ones in [0, 1]; the MALA posterior mean is a
 * proper chain (acceptance in (0, 1)) that stays in (0, 1); bad input fails with one line.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, ContextError, ShapeError } from "../../src/engine/errors.js";
import { INPAINTING_MASKS, inpaintingMask, parseMaskName } from "../../src/tasks/inpainting-masks.js";
import { inpaint, inpaintingReport, psnrHidden } from "../../src/tasks/inpainting.js";
import type { FlowModel } from "../../src/model/model.js";
import { barImages, fitTinyImageModel } from "../support/tiny-images.js";

test("masks: the ten corruptions of a 28×28 image hide exactly the pixels of their definitions", () => {
  const rule: Record<string, (r: number, q: number) => boolean> = {
    top: (r) => r <= 13,
    bottom: (r) => r >= 14,
    odd: (r, q) => (28 * r + q) % 2 === 1,
    even: (r, q) => (28 * r + q) % 2 === 0,
    left: (_r, q) => q <= 13,
    right: (_r, q) => q >= 14,
    vband: (_r, q) => q >= 7 && q <= 20,
    hband: (r) => r >= 7 && r <= 20,
  };
  for (const name of INPAINTING_MASKS.filter((m) => !m.startsWith("random"))) {
    const m = inpaintingMask(name, [1, 28, 28], 3);
    assert.equal(m.length, 3 * 784);
    for (let i = 0; i < 3; i++)
      for (let k = 0; k < 784; k++) assert.equal(m[i * 784 + k], rule[name]!(Math.floor(k / 28), k % 28) ? 1 : 0, `${name}: pixel ${k} of image ${i}`);
    assert.equal(m.subarray(0, 784).reduce((s, v) => s + v, 0), 392, `${name} hides half the pixels`);
  }
  const r75 = inpaintingMask("random75", [1, 28, 28], 100);
  const r90 = inpaintingMask("random90", [1, 28, 28], 100);
  const share = (m: Uint8Array): number => m.reduce((s, v) => s + v, 0) / m.length;
  assert.ok(Math.abs(share(r75) - 0.75) < 0.01 && Math.abs(share(r90) - 0.9) < 0.01, `${share(r75)} ${share(r90)}`);
  for (let i = 0; i < r75.length; i++) if (r75[i]) assert.equal(r90[i], 1, "random90 contains random75 (one U per pixel)");
  assert.notDeepEqual(r75.subarray(0, 784), r75.subarray(784, 1568), "random masks differ per image");
  assert.deepEqual(inpaintingMask("random75", [1, 28, 28], 100), r75, "seeded: the same masks every time");
  assert.notDeepEqual(inpaintingMask("random75", [1, 28, 28], 100, 6), r75);
  // channels: every channel loses the same rows
  const c = inpaintingMask("top", [2, 4, 4], 1);
  assert.deepEqual(Array.from(c), [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.throws(() => parseMaskName("topp"), (e: Error) => e instanceof ConfigError && /unknown mask "topp"; expected one of top, bottom/.test(e.message));
});

test("psnrHidden: 10·log10(1/MSE) over the hidden pixels only", () => {
  // hidden errors 0.1 and 0.3: MSE 0.05 → 13.0103 dB; the visible pixel's error is ignored
  assert.ok(Math.abs(psnrHidden([0.1, 0.3, 9], [0, 0, 0], [1, 1, 0]) - 10 * Math.log10(1 / 0.05)) < 1e-12);
  assert.throws(() => psnrHidden([1], [1], [0]), /hides no pixel/);
});

let model: FlowModel;
const { x: bars } = barImages(12, 7);
const truth = bars.map((b) => (b + 0.5) / 256);

before(async () => {
  model = await fitTinyImageModel({ flow: "nice", layers: 4, hidden: [32, 32] }, 300);
});
after(() => model.dispose());

test("inpaint (MAP): raises log p of every image, keeps the observed pixels bit for bit, hidden pixels in [0, 1]", async () => {
  const mask = inpaintingMask("top", [1, 4, 4], 12);
  const images = truth.slice();
  const r = await inpaint(model, images, mask, { steps: 150 });
  assert.deepEqual(images, truth, "the input is not modified");
  for (let i = 0; i < 12; i++) assert.ok(r.logProbEnd[i]! > r.logProbStart[i]!, `image ${i}: log p ${r.logProbStart[i]} → ${r.logProbEnd[i]}`);
  for (let k = 0; k < truth.length; k++) {
    if (mask[k]) assert.ok(r.x[k]! >= 0 && r.x[k]! <= 1, `hidden pixel ${k} = ${r.x[k]}`);
    else assert.ok(Object.is(r.x[k], truth[k]), `observed pixel ${k} changed: ${truth[k]} → ${r.x[k]}`);
  }
  // the start is the 0.5 fill, and its log p is what logProbStart reports
  const start = truth.map((v, k) => (mask[k] ? 0.5 : v));
  assert.deepEqual(Array.from(r.logProbStart), Array.from(model.logProb(start)));
  // more steps do not lose ground (ascent, not a random walk)
  const longer = await inpaint(model, images, mask, { steps: 400 });
  const mean = (a: Float64Array): number => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(mean(longer.logProbEnd) >= mean(r.logProbEnd) - 0.05, `${mean(r.logProbEnd)} → ${mean(longer.logProbEnd)}`);
});

test("inpaint (mean): MALA chains from the MAP estimate; values in (0, 1), observed pixels exact, acceptance in (0, 1)", async () => {
  const mask = inpaintingMask("odd", [1, 4, 4], 12);
  const r = await inpaint(model, truth, mask, { method: "mean", steps: 100, burnIn: 60, samples: 60, seed: 3 });
  assert.ok(r.map && r.acceptance);
  for (let k = 0; k < truth.length; k++) {
    if (mask[k]) assert.ok(r.x[k]! > 0 && r.x[k]! < 1, `hidden pixel ${k} = ${r.x[k]}`);
    else {
      assert.ok(Object.is(r.x[k], truth[k]));
      assert.ok(Object.is(r.map[k], truth[k]));
    }
  }
  for (const a of r.acceptance) assert.ok(a > 0.05 && a < 1, `acceptance ${a}`);
  // a posterior mean is an average: it differs from the MAP estimate, and a new seed gives a new chain
  assert.notDeepEqual(Array.from(r.x), Array.from(r.map));
  const again = await inpaint(model, truth, mask, { method: "mean", steps: 100, burnIn: 60, samples: 60, seed: 3 });
  assert.deepEqual(Array.from(again.x), Array.from(r.x), "seeded: the same chains");
});

test("inpaintingReport: per mask PSNR and log p, for MAP and the mean, next to the mean-image fill", async () => {
  const meanImage = new Float64Array(16);
  const all = barImages(1200).x;
  for (let i = 0; i < 1200; i++) for (let d = 0; d < 16; d++) meanImage[d]! += (all[i * 16 + d]! + 0.5) / 256 / 1200;
  const masks = (["top", "odd"] as const).map((name) => ({ name, hidden: inpaintingMask(name, [1, 4, 4], 12) }));
  const reports = await inpaintingReport(model, truth, masks, meanImage, { withMean: true, steps: 100, burnIn: 30, samples: 30 });
  assert.deepEqual(reports.map((r) => r.report.mask), ["top", "odd"]);
  for (const { report: r, map } of reports) {
    assert.equal(r.hiddenShare, 0.5);
    for (const v of [r.psnrMap, r.psnrMean!, r.psnrMeanFill, r.psnrStart, r.logProbMap, r.logProbMean!, r.logProbOriginal]) assert.ok(Number.isFinite(v));
    assert.ok(r.logProbMap > r.logProbStart, `${r.mask}: MAP log p ${r.logProbMap} above the 0.5 fill's ${r.logProbStart}`);
    assert.ok(r.psnrMap > r.psnrStart, `${r.mask}: MAP beats the grey start (${r.psnrMap} vs ${r.psnrStart} dB)`);
    assert.equal(map.length, 12 * 16);
  }
  assert.deepEqual(Array.from(reports[0]!.corrupted.subarray(0, 16)), Array.from(truth.subarray(0, 16).map((v, k) => (k < 8 ? 0.5 : v))));
});

test("inpaint: bad input fails with one line naming the problem", async () => {
  const mask = inpaintingMask("top", [1, 4, 4], 1);
  const one = truth.subarray(0, 16);
  await assert.rejects(inpaint(model, one.subarray(0, 15), mask), (e: Error) => e instanceof ShapeError && /n·16 pixel values/.test(e.message));
  await assert.rejects(inpaint(model, one, mask.subarray(0, 8)), (e: Error) => e instanceof ShapeError && /mask of 16 values/.test(e.message));
  await assert.rejects(inpaint(model, one.map((v, k) => (k === 12 ? NaN : v)), mask), /pixel 12 of image 0 is not finite/);
  await assert.rejects(inpaint(model, one.map((v, k) => (k === 12 ? 3 : v)), mask), /observed pixel 12 of image 0 is 3, outside the model's domain \[0, 1\]/);
  await assert.rejects(inpaint(model, one, mask, { method: "best" as never }), ConfigError);
  await assert.rejects(inpaint(model, one, mask, { steps: -1 }), /steps must be an integer ≥ 0/);
  const conditional = await fitTinyImageModel({ flow: "maf", layers: 1, hidden: [8], contextDim: 2 }, 2, new Float64Array(2400).map((_, i) => (i % 2 === 0 ? 1 : 0)));
  try {
    await assert.rejects(inpaint(conditional, one, mask), (e: Error) => e instanceof ContextError && /conditional/.test(e.message));
  } finally {
    conditional.dispose();
  }
});
