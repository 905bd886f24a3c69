/**
 * Latent interpolation (RealNVP fig. 6) and image samples: the grid's weights are the formula's
 * and its corners are exactly z₁…z₄; on a tiny multi-scale RealNVP the corners decode to the four
 * input images; class grids pass the one-hot label; temperature scales the base noise.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { interpolate, interpolationCodes } from "../../src/tasks/interpolation.js";
import { labelClasses, labelContext, sampleImages } from "../../src/tasks/image-samples.js";
import { StandardNormal } from "../../src/distributions/standard-normal.js";
import { StandardLogistic } from "../../src/distributions/standard-logistic.js";
import { UniformBox } from "../../src/distributions/uniform-box.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { ConfigError, ContextError } from "../../src/engine/errors.js";
import { barImages, fitTinyImageModel } from "../support/tiny-images.js";

test("interpolationCodes: z(φ, φ′) = cos φ (cos φ′ z₁ + sin φ′ z₂) + sin φ (cos φ′ z₃ + sin φ′ z₄), corners exact", () => {
  const z = [[1, 0], [0, 1], [-1, 0], [0, -1]].map((c) => Float64Array.from(c));
  const g = 5;
  const grid = interpolationCodes(z, g);
  assert.equal(grid.length, g * g * 2);
  const at = (i: number, j: number): number[] => Array.from(grid.subarray((i * g + j) * 2, (i * g + j) * 2 + 2));
  assert.deepEqual(at(0, 0), [1, 0]);
  assert.deepEqual(at(0, g - 1), [0, 1]);
  assert.deepEqual(at(g - 1, 0), [-1, 0]);
  assert.deepEqual(at(g - 1, g - 1), [0, -1]);
  const [phi, phi2] = [(1 / 4) * (Math.PI / 2), (3 / 4) * (Math.PI / 2)];
  const expect = [Math.cos(phi) * Math.cos(phi2) - Math.sin(phi) * Math.cos(phi2), Math.cos(phi) * Math.sin(phi2) - Math.sin(phi) * Math.sin(phi2)];
  at(1, 3).forEach((v, d) => assert.ok(Math.abs(v - expect[d]!) < 1e-15));
  // orthonormal codes keep unit norm over the whole grid (the point of the trigonometric weights)
  const e = [0, 1, 2, 3].map((k) => Float64Array.from({ length: 4 }, (_, d) => (d === k ? 1 : 0)));
  const eg = interpolationCodes(e, g);
  for (let c = 0; c < g * g; c++) assert.ok(Math.abs(Math.hypot(...eg.subarray(c * 4, c * 4 + 4)) - 1) < 1e-12, `cell ${c}`);
  assert.throws(() => interpolationCodes(z.slice(0, 3), 5), /four latent codes/);
  assert.throws(() => interpolationCodes(z, 1), ConfigError);
});

test("interpolate: on a tiny multi-scale RealNVP the corners decode to the four input images", async () => {
  const model = await fitTinyImageModel({ flow: "realnvp", layers: 1, hidden: [4] }, 20);
  try {
    const x = barImages(4, 3).x.map((b) => (b + 0.5) / 256);
    const r = interpolate(model, { images: x }, 4);
    assert.equal(r.images.length, 16 * 16);
    [0, 3, 12, 15].forEach((cell, k) => {
      for (let d = 0; d < 16; d++) assert.ok(Math.abs(r.images[cell * 16 + d]! - x[k * 16 + d]!) < 1e-4, `corner ${k}, pixel ${d}`);
    });
    const s = interpolate(model, { seed: 1 }, 3);
    assert.equal(s.codes.length, 4);
    assert.throws(() => interpolate(model, { images: x.subarray(0, 48) }), /four images of 16 values/);
  } finally {
    model.dispose();
  }
});

test("sampleImages: a class-conditional MAF gets the one-hot label; labels are checked", async () => {
  const { x, labels } = barImages(1200);
  const context = labelContext(labels, 2);
  const model = await fitTinyImageModel({ flow: "maf", layers: 2, hidden: [32], contextDim: 2, base: { kind: "conditional-diag-normal" } }, 200, context);
  try {
    // a model fitted by the library has no context column names: not a class-conditional model to tasks
    assert.equal(labelClasses(model), 0);
    assert.throws(() => sampleImages(model, 4, { labels: [0, 1, 0, 1] }), (e: Error) => e instanceof ContextError && /not class-conditional/.test(e.message));
    const rows = sampleImages(model, 4, { context: labelContext([0, 0, 1, 1], 2), seed: 2 });
    assert.equal(rows.length, 64);
    assert.ok(rows.every(Number.isFinite));
    assert.throws(() => labelContext([2], 2), /integer class in 0..1/);
    void x;
  } finally {
    model.dispose();
  }
});

test("temperature: z = T·ε for the standard bases (log p untempered); bases without a location-scale form refuse T ≠ 1", () => {
  const n = 20000;
  const sn = new StandardNormal(2);
  const z = sn.sample({}, keyFromSeed(4), n, undefined, { temperature: 0.5 });
  const v = Array.from(z.dataSync() as Float32Array);
  const std = Math.sqrt(v.reduce((s, a) => s + a * a, 0) / v.length);
  assert.ok(Math.abs(std - 0.5) < 0.01, `std ${std}`);
  const base = sn.sample({}, keyFromSeed(4), 4, undefined).dataSync() as Float32Array;
  const half = sn.sample({}, keyFromSeed(4), 4, undefined, { temperature: 0.5 }).dataSync() as Float32Array;
  base.forEach((b, i) => assert.ok(Math.abs(half[i]! - 0.5 * b) < 1e-6, "the same noise, scaled"));
  const r = sn.sampleAndLogProb({}, keyFromSeed(4), 4, undefined, { temperature: 0.5 });
  const x = Array.from(r.x.dataSync() as Float32Array);
  const lp = r.logProb.dataSync() as Float32Array;
  for (let i = 0; i < 4; i++) {
    const expect = -0.5 * (x[2 * i]! ** 2 + x[2 * i + 1]! ** 2) - Math.log(2 * Math.PI);
    assert.ok(Math.abs(lp[i]! - expect) < 1e-5, "log p of the tempered sample under N(0, I)");
  }
  const lg = new StandardLogistic(2);
  const a = lg.sample({}, keyFromSeed(5), 3).dataSync() as Float32Array;
  const b = lg.sample({}, keyFromSeed(5), 3, undefined, { temperature: 0.7 }).dataSync() as Float32Array;
  a.forEach((v0, i) => assert.ok(Math.abs(b[i]! - 0.7 * v0) < 1e-5));
  const box = new UniformBox([0, 0], [1, 1]);
  assert.throws(() => box.sample({}, keyFromSeed(0), 2, undefined, { temperature: 0.5 }), (e: Error) => e instanceof ConfigError && /no location-scale form/.test(e.message));
  assert.throws(() => sn.sample({}, keyFromSeed(0), 2, undefined, { temperature: 0 }), /finite number > 0/);
});
