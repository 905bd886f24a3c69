/**
 * inpaint as a page runs it (the playground's Images panel): its loop lets the event loop run
 * while it works (a timer set before the call fires before it ends, mid-ascent), and `signal`
 * stops it at the next step with the signal's reason; an Inpainter (compiled steps kept between
 * calls) gives inpaint's results bit for bit.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { inpaintingMask } from "../../src/tasks/inpainting-masks.js";
import { inpaint, Inpainter } from "../../src/tasks/inpainting.js";
import type { FlowModel } from "../../src/model/model.js";
import { barImages, fitTinyImageModel } from "../support/tiny-images.js";

let model: FlowModel;
const images = barImages(4).x.map((b) => (b + 0.5) / 256);
const mask = inpaintingMask("top", [1, 4, 4], 4);

before(async () => {
  model = await fitTinyImageModel({ flow: "nice", layers: 2, hidden: [16] }, 50);
});
after(() => model.dispose());

test("inpaint yields to the event loop while it ascends (a page keeps drawing)", async () => {
  const steps = 1000; // far more than one ~50 ms slice of compiled steps
  let done = 0;
  let seenAt: number | undefined;
  setTimeout(() => (seenAt = done), 0);
  const r = await inpaint(model, images, mask, { steps, onProgress: (d) => (done = d) });
  assert.equal(done, steps);
  assert.ok(seenAt !== undefined && seenAt < steps, `a timer set before the call ran mid-ascent (at step ${seenAt} of ${steps})`);
  for (let i = 0; i < 4; i++) assert.ok(r.logProbEnd[i]! > r.logProbStart[i]!);
});

test("inpaint stops at the next step when its signal aborts, rejecting with the signal's reason", async () => {
  const stop = new AbortController();
  let calls = 0;
  await assert.rejects(
    inpaint(model, images, mask, {
      steps: 500,
      signal: stop.signal,
      onProgress: (d) => {
        calls++;
        if (d === 5) stop.abort();
      },
    }),
    (e: unknown) => e instanceof Error && e.name === "AbortError",
  );
  assert.equal(calls, 5, "no step after the abort");
  const mean = await inpaint(model, images, mask, { method: "mean", steps: 3, burnIn: 5, samples: 5, signal: AbortSignal.abort(new Error("page closed")) }).catch((e: Error) => e.message);
  assert.equal(mean, "page closed", "an aborted signal stops the first step, with its reason");
});

test("Inpainter: the compiled steps kept between runs give inpaint's results bit for bit", async () => {
  const ref = await inpaint(model, images, mask, { steps: 20 });
  const refMean = await inpaint(model, images, mask, { method: "mean", steps: 5, burnIn: 5, samples: 5, seed: 3 });
  const p = new Inpainter(model);
  assert.deepEqual(p.domain, [0, 1], "the default domain: dequantised pixels");
  try {
    for (let k = 0; k < 2; k++) {
      const r = await p.run(images, mask, { steps: 20 });
      assert.deepEqual([r.x, r.logProbStart, r.logProbEnd], [ref.x, ref.logProbStart, ref.logProbEnd], `run ${k}`);
    }
    const m = await p.run(images, mask, { method: "mean", steps: 5, burnIn: 5, samples: 5, seed: 3 });
    assert.deepEqual([m.x, m.map, m.acceptance], [refMean.x, refMean.map, refMean.acceptance], "the posterior mean too");
    p.dispose();
    assert.deepEqual((await p.run(images, mask, { steps: 20 })).x, ref.x, "after dispose it compiles again");
  } finally {
    p.dispose();
  }
  assert.throws(() => new Inpainter(model, [1, 0]), /domain must be \[lo, hi\] with finite lo < hi/);
});
