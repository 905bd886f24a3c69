import { test } from "node:test";
import assert from "node:assert/strict";
import { ContextError, FlowError, NonFiniteError, ShapeError } from "../../src/engine/errors.js";
import { fromValues } from "../../src/engine/dtype.js";
import { hostRng, keyFromSeed } from "../../src/engine/random.js";
import { refTree } from "../../src/engine/tree.js";
import { build } from "../../src/flows/build.js";
import { fit } from "../../src/model/fit.js";
import { FlowModel } from "../../src/model/model.js";

/** A noisy ring far from the origin and with unequal scales: standardisation matters. */
function ring(n: number, seed: number): number[][] {
  const rng = hostRng(seed);
  return Array.from({ length: n }, () => {
    const a = rng() * 2 * Math.PI;
    return [50 + 8 * Math.cos(a) + (rng() - 0.5), -3 + 0.5 * Math.sin(a) + 0.05 * (rng() - 0.5)];
  });
}

const DATA = ring(600, 1);

test("fit: standardises on the training rows and reports log p in data units (change of variables)", async () => {
  const model = await fit({ flow: "realnvp", layers: 2, hidden: [16] }, DATA, { steps: 40, lr: 3e-3, batchSize: 128, seed: 2 });
  try {
    const pre = model.preprocessing!;
    assert.ok(pre, "standardised by default");
    assert.ok(Math.abs(pre.mean[0]! - 50) < 1 && pre.std[0]! > 4 && pre.std[1]! < 1, `fitted mean/std ${JSON.stringify(pre)}`);
    const rows = DATA.slice(0, 50);
    const lp = model.logProb(rows);
    // The same number through the functional layer: log p̃((x − μ)/σ) − Σ log σ.
    const xs = rows.flatMap((r) => r.map((v, d) => (v - pre.mean[d]!) / pre.std[d]!));
    const lpStd = model.flow.logProb(refTree(model.params), fromValues(xs, [50, 2], "float32")).dataSync();
    const shift = Math.log(pre.std[0]!) + Math.log(pre.std[1]!);
    for (let i = 0; i < 50; i++) assert.ok(Math.abs(lp[i]! - (lpStd[i]! - shift)) < 1e-9, `row ${i}`);
    // Training did something: the record is in data units and beats the untrained density.
    const t = model.training!;
    assert.equal(t.steps, 40);
    assert.equal(t.stopReason, "completed");
    assert.equal(t.nTrain + t.nValidation, 600);
    assert.ok(t.bestValidationLoss !== null && Number.isFinite(t.bestValidationLoss));
    const untrained = new FlowModel(
      ...(() => {
        const { flow, config } = build(model.config);
        return [flow, flow.init(keyFromSeed(model.config.seed), "float32"), { config, preprocessing: pre, context: null, data: null, training: null }] as const;
      })(),
    );
    const mean = (a: Float64Array): number => a.reduce((s, v) => s + v, 0) / a.length;
    assert.ok(mean(model.logProb(DATA)) > mean(untrained.logProb(DATA)), "training raised the log-likelihood");
    untrained.dispose();
  } finally {
    model.dispose();
  }
});

test("FlowModel: encode/decode round trip, sample shape and seeding, chunked evaluation", async () => {
  const model = await fit({ flow: "maf", layers: 2, hidden: [16] }, DATA, { steps: 20, seed: 3 });
  const small = new FlowModel(
    model.flow,
    refTree(model.params),
    { config: model.config, preprocessing: model.preprocessing, context: null, data: null, training: null },
    { chunkSize: 8 },
  );
  try {
    const x = DATA.slice(0, 37);
    const z = model.encode(x);
    const back = model.decode(z);
    for (let i = 0; i < x.length; i++)
      for (let d = 0; d < 2; d++) assert.ok(Math.abs(back[i]![d]! - x[i]![d]!) < 1e-3 * (1 + Math.abs(x[i]![d]!)), `row ${i}`);
    // 37 rows in chunks of 8 (the last one padded) agree with one chunk of 64.
    const a = model.logProb(x);
    const b = small.logProb(x);
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-4, `chunked row ${i}: ${a[i]} vs ${b[i]}`);
    // flat typed arrays are accepted
    assert.deepEqual(Array.from(model.logProb(Float64Array.from(x.flat()))), Array.from(a));
    // samples: n rows of D, reproducible from a seed, different across seeds and across calls
    const s1 = model.sample(25, { seed: 7 });
    assert.equal(s1.length, 25);
    assert.ok(s1.every((r) => r.length === 2 && r.every(Number.isFinite)));
    assert.deepEqual(model.sample(25, { seed: 7 }), s1);
    assert.notDeepEqual(model.sample(25, { seed: 8 }), s1);
    assert.notDeepEqual(small.sample(10), small.sample(10));
    assert.deepEqual(model.sample(0), []);
    assert.equal(model.logProb([]).length, 0);
    // layer by layer: z(0) … z(L), then x in data units
    const layers = model.forwardLayers(z.slice(0, 5));
    assert.ok(layers.length >= 3);
    const last = layers.at(-1)!;
    for (let i = 0; i < 5; i++) for (let d = 0; d < 2; d++) assert.ok(Math.abs(last[i]![d]! - x[i]![d]!) < 1e-3 * (1 + Math.abs(x[i]![d]!)));
    const info = model.info();
    assert.equal(info.flow, "maf");
    assert.ok(info.parameterCount > 0);
    assert.equal(info.sampling, "sequential");
    assert.match(info.description, /masked-autoregressive/);
  } finally {
    small.dispose();
    model.dispose();
  }
});

test("FlowModel: boundary checks give typed errors naming the problem", async () => {
  const model = await fit({ flow: "nice", layers: 2, hidden: [8] }, DATA, { steps: 2 });
  try {
    assert.throws(() => model.logProb([[1, 2, 3]]), (e: unknown) => e instanceof ShapeError && /expected 2 values per row, row 0 has 3/.test(e.message));
    assert.throws(() => model.logProb(new Float64Array(5)), ShapeError);
    assert.throws(() => model.logProb([[1, NaN]]), (e: unknown) => e instanceof NonFiniteError && /NaN at row 0, column 1/.test(e.message));
    assert.throws(() => model.encode([[Infinity, 0]]), NonFiniteError);
    assert.throws(() => model.logProb([[1, 2]], [[0]]), ContextError);
    assert.throws(() => model.sample(-1), ShapeError);
    assert.throws(() => model.sample(2.5), ShapeError);
  } finally {
    model.dispose();
  }
  assert.throws(() => model.logProb([[1, 2]]), (e: unknown) => e instanceof FlowError && /disposed/.test(e.message));
  await assert.rejects(fit({ flow: "realnvp", dim: 3, layers: 1, hidden: [4] }, DATA, { steps: 1 }), /the config says dim 3, the data has 2/);
  await assert.rejects(fit({ flow: "realnvp", layers: 1, hidden: [4] }, [[1, 2]], { steps: 1 }), ShapeError);
});

test("fit: a conditional flow p(x | context) needs its context everywhere", async () => {
  const rng = hostRng(9);
  const context = DATA.map(() => [rng() < 0.5 ? 0 : 10]);
  const x = DATA.map((r, i) => [r[0]! + context[i]![0]!, r[1]!]);
  const model = await fit({ flow: "realnvp", layers: 2, hidden: [16] }, x, { context, steps: 30, lr: 3e-3, seed: 4 });
  try {
    assert.equal(model.contextDim, 1);
    assert.ok(model.contextInfo?.mean && model.contextInfo.std, "the context is standardised");
    assert.throws(() => model.logProb(x.slice(0, 3)), ContextError);
    assert.throws(() => model.logProb(x.slice(0, 3), [[0], [1]]), ContextError);
    assert.throws(() => model.sample(3), ContextError);
    assert.throws(() => model.logProb(x.slice(0, 3), [[0, 1], [0, 1], [0, 1]]), ContextError);
    const lp = model.logProb(x.slice(0, 3), context.slice(0, 3));
    assert.ok(lp.every(Number.isFinite));
    // one context row is shared by every sample; different contexts give different samples
    const s0 = model.sample(200, { seed: 1, context: [0] });
    const s10 = model.sample(200, { seed: 1, context: [10] });
    const meanX = (s: number[][]): number => s.reduce((a, r) => a + r[0]!, 0) / s.length;
    assert.ok(meanX(s10) > meanX(s0), `the context moves the samples: ${meanX(s0)} vs ${meanX(s10)}`);
  } finally {
    model.dispose();
  }
  await assert.rejects(fit({ flow: "realnvp", layers: 1, hidden: [4], contextDim: 2 }, DATA, { steps: 1 }), ContextError);
});

test("FlowModel.sampleAndLogProb: the samples of sample(seed), with logProb(x) of them, in data units", async () => {
  const u = hostRng(3);
  const n = 600;
  const c = Float64Array.from({ length: n }, () => u() * 2 - 1);
  const x = Float64Array.from({ length: 2 * n }, (_, k) => 10 + 5 * (k % 2 === 0 ? c[k >> 1]! : u() - 0.5));
  for (const flow of ["realnvp", "iaf", "maf"] as const) {
    const model = await fit({ flow, layers: 2, hidden: [8] }, { x, n, dim: 2, context: c }, { steps: 20, seed: 1 });
    const context = [0.25];
    const draw = model.sampleAndLogProb(1500, { seed: 9, context }); // 1500 > one chunk of 1024
    const same = model.sample(1500, { seed: 9, context });
    assert.equal(draw.x.length, 1500);
    const worst = Math.max(...draw.x.flatMap((r, i) => r.map((v, d) => Math.abs(v - same[i]![d]!) / Math.max(1, Math.abs(v)))));
    assert.ok(worst < 1e-6, `${flow}: the same samples as sample() (${worst})`);
    const lp = model.logProb(draw.x, context);
    const err = Math.max(...Array.from(draw.logProb, (v, i) => Math.abs(v - lp[i]!)));
    assert.ok(err < 2e-3, `${flow}: logProb of the samples from the generative pass equals logProb(x) (${err})`);
    // (logProb is in data units, so the match also checks the standardisation's −Σ log σ_d)
    model.dispose();
  }
});
