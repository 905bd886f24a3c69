// The async forms of FlowModel (logProbAsync, sampleAsync, …) run the same kernels as the sync
// forms and read with `await data()` instead of `dataSync()`: on wasm both must agree bit for bit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { hostRng } from "../../src/engine/random.js";
import { ShapeError } from "../../src/engine/errors.js";
import { fit } from "../../src/model/fit.js";
import { FlowModel } from "../../src/model/model.js";
import { decodeModelFile } from "../../src/io/model-format.js";
import { treeToHost } from "../../src/engine/tree.js";

function blob(n: number, seed: number): number[][] {
  const rng = hostRng(seed);
  return Array.from({ length: n }, () => {
    const a = rng() * 2 * Math.PI;
    return [3 + 2 * Math.cos(a) + 0.2 * rng(), -1 + Math.sin(a) + 0.2 * rng()];
  });
}

const DATA = blob(300, 3);
/** More rows than one chunk (chunkSize 64 below), so the chunked path with padding is exercised. */
const POINTS = blob(150, 4);

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  for (let i = 0; i < a.length; i++) assert.ok(Object.is(a[i], b[i]), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

for (const flow of ["realnvp", "maf", "iaf"] as const) {
  test(`FlowModel async forms equal the sync forms bit for bit on wasm (${flow})`, async () => {
    const trained = await fit({ flow, layers: 2, hidden: [8] }, DATA, { steps: 10, lr: 3e-3, batchSize: 64, seed: 1, evalEvery: 5 });
    const model = FlowModel.fromBytes(trained.toBytes(), "trained", { chunkSize: 64 });
    trained.dispose();
    try {
      sameBits(await model.logProbAsync(POINTS), model.logProb(POINTS), "logProb");
      sameBits((await model.encodeAsync(POINTS)).flat(), model.encode(POINTS).flat(), "encode");
      const z = model.encode(POINTS);
      sameBits((await model.decodeAsync(z)).flat(), model.decode(z).flat(), "decode");
      sameBits((await model.sampleAsync(130, { seed: 7 })).flat(), model.sample(130, { seed: 7 }).flat(), "sample");
      const a = await model.sampleAndLogProbAsync(70, { seed: 5 });
      const s = model.sampleAndLogProb(70, { seed: 5 });
      sameBits(a.x.flat(), s.x.flat(), "sampleAndLogProb x");
      sameBits(a.logProb, s.logProb, "sampleAndLogProb logProb");
      const fl = await model.forwardLayersAsync(z.slice(0, 20));
      sameBits(fl.flat(2), model.forwardLayers(z.slice(0, 20)).flat(2), "forwardLayers");
      const il = await model.inverseLayersAsync(POINTS.slice(0, 20));
      sameBits(il.flat(2), model.inverseLayers(POINTS.slice(0, 20)).flat(2), "inverseLayers");
      // the inverse stages are the forward stages of the codes, reversed: x, x̃ = z(L), …, z(0)
      const back = model.forwardLayers(model.encode(POINTS.slice(0, 20)));
      assert.equal(il.length, back.length);
      for (let l = 0; l < il.length; l++) {
        const u = il[l]!.flat();
        const v = back[back.length - 1 - l]!.flat();
        for (let i = 0; i < u.length; i++) assert.ok(Math.abs(u[i]! - v[i]!) < 1e-4, `stage ${l}[${i}]: ${u[i]} vs ${v[i]}`);
      }
      // the model file: the same params and metadata (except the save time) either way
      const fa = decodeModelFile(await model.toBytesAsync(), "async");
      const fs = decodeModelFile(model.toBytes(), "sync");
      const ha = treeToHost(fa.params);
      const hs = treeToHost(fs.params);
      assert.deepEqual(Object.keys(ha), Object.keys(hs));
      for (const k of Object.keys(ha)) sameBits(ha[k]!.data, hs[k]!.data, `param ${k}`);
      assert.deepEqual({ ...fa.metadata, savedAt: null }, { ...fs.metadata, savedAt: null });
    } finally {
      model.dispose();
    }
  });
}

test("FlowModel async forms: the default seed follows the call order of sync and async draws alike", async () => {
  const model = await fit({ flow: "realnvp", layers: 2, hidden: [8] }, DATA, { steps: 5, batchSize: 64, seed: 1 });
  const again = FlowModel.fromBytes(model.toBytes());
  try {
    const first = model.sampleAsync(5); // seed 0, taken at the call
    const second = model.sample(5); // seed 1
    assert.deepEqual(await first, again.sample(5, { seed: 0 }));
    assert.deepEqual(second, again.sample(5, { seed: 1 }));
    // bad input rejects with the sync form's error
    await assert.rejects(model.logProbAsync([[1, 2, 3]]), ShapeError);
    await assert.rejects(model.sampleAsync(-1), ShapeError);
  } finally {
    model.dispose();
    again.dispose();
  }
});

test("fit onCheckpoint: the model at every evaluation, awaited (training waits), the last one equal to the returned model", async () => {
  const seen: { step: number; lp: Float64Array; valLoss: number | undefined }[] = [];
  let lastView: FlowModel | undefined;
  let waiting = false;
  const model = await fit({ flow: "realnvp", layers: 2, hidden: [8] }, DATA, {
    steps: 30,
    evalEvery: 10,
    batchSize: 64,
    lr: 5e-3,
    seed: 2,
    restoreBest: false,
    onCheckpoint: async (view, event) => {
      assert.equal(waiting, false, "the next evaluation came before this one settled");
      waiting = true;
      // a page pausing: training goes on only when this settles
      await new Promise((resolve) => setTimeout(resolve, 20));
      seen.push({ step: event.step, lp: await view.logProbAsync(POINTS), valLoss: event.valLoss });
      assert.equal(view.training, null);
      lastView = view;
      waiting = false;
    },
  });
  try {
    assert.deepEqual(seen.map((s) => s.step), [10, 20, 30]);
    assert.notDeepEqual(seen[0]!.lp, seen[2]!.lp, "the view follows the params");
    // in data units like the returned model: the last view is the returned (last) params
    sameBits(seen[2]!.lp, model.logProb(POINTS), "last checkpoint vs returned model");
    const record = model.training!.history;
    assert.equal(record.valLoss.at(-1), seen[2]!.valLoss, "the event's validation loss is the record's (data units)");
    assert.throws(() => lastView!.logProb(POINTS), /disposed/, "the view ends with fit");
  } finally {
    model.dispose();
  }
});
