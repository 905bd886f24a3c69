import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, np, type Array } from "../../src/engine/jax.js";
import { fromValues, jaxDType, type FloatDType } from "../../src/engine/dtype.js";
import { keyFromSeed, type Key } from "../../src/engine/random.js";
import { disposeTree, refTree, treeToHost, type Params } from "../../src/engine/tree.js";
import { ContextError, NonFiniteError, ShapeError, ConfigError } from "../../src/engine/errors.js";
import { Flow, type FlowParams } from "../../src/distributions/flow.js";
import { StandardNormal } from "../../src/distributions/standard-normal.js";
import { Chain } from "../../src/bijectors/chain.js";
import { AffineCoupling } from "../../src/bijectors/affine-coupling.js";
import { dropContext, type BijectionResult, type Bijector, type CallOptions } from "../../src/bijectors/bijector.js";
import { trainFlow, type ProgressEvent } from "../../src/train/fit.js";
import { makeEvaluator, meanAndStdError } from "../../src/train/evaluate.js";
import { sampleToy } from "../../src/data/toys.js";

defaultDevice("wasm");

/** A small RealNVP: `layers` affine couplings with alternating masks. */
function smallFlow(layers = 2, hidden = [16], contextDim = 0): Flow {
  const bij = layers.valueOf() === 0 ? undefined : new Chain(
    Array.from({ length: layers }, (_, l) => new AffineCoupling({ dim: 2, mask: l % 2 === 0 ? [false, true] : [true, false], hidden, contextDim })),
  );
  return new Flow(new StandardNormal(2), bij!);
}

function allFinite(p: Params): boolean {
  return Object.values(treeToHost(p)).every((leaf) => leaf.data.every(Number.isFinite));
}

function hostParams(p: Params): number[] {
  return Object.values(treeToHost(p)).flatMap((leaf) => [...leaf.data]);
}

test("training reduces the loss, keeps fixed-shape batches (N < batch uses N), reports progress in order", async () => {
  const flow = smallFlow();
  const x = sampleToy("8gaussians", 300, 1);
  const events: ProgressEvent[] = [];
  const r = await trainFlow(flow, flow.init(keyFromSeed(0)), { x, n: 300, dim: 2 }, {
    steps: 60, lr: 1e-2, batchSize: 1000, evalEvery: 20, seed: 1, onProgress: (e) => events.push(e),
  });
  assert.equal(r.stopReason, "completed");
  assert.equal(r.steps, 60);
  assert.equal(r.nValidation, 30);
  assert.equal(r.nTrain, 270);
  assert.equal(r.batchSize, 270, "batch = N_train when N_train < batchSize");
  assert.equal(r.losses.length, 60);
  assert.ok(r.losses.at(-1)! < r.losses[0]! - 0.3, `loss ${r.losses[0]} → ${r.losses.at(-1)}`);
  assert.deepEqual(r.history.map((h) => h.step), [0, 20, 40, 60], "the initial params are evaluated too");
  assert.ok(r.history.every((h) => Number.isFinite(h.valLoss!)));
  assert.equal(events[0]!.phase, "compiling");
  assert.deepEqual(events.slice(1, -1).map((e) => e.phase), ["training", "training", "training"]);
  assert.equal(events.at(-1)!.phase, "done");
  assert.equal(r.monitor, "validation");
  // the returned params are the best ones and their validation loss is bestValLoss
  const best = Math.min(...r.history.map((h) => h.valLoss!));
  assert.equal(r.bestValLoss, best);
  assert.equal(r.bestStep, r.history.find((h) => h.valLoss === best)!.step);
  disposeTree(r.params);
});

test("the returned best params reproduce the best validation loss (restoreBest), or are the last (restoreBest: false)", async () => {
  const flow = smallFlow();
  const x = sampleToy("moons", 400, 2);
  const validation = { x: sampleToy("moons", 123, 3), n: 123, dim: 2 }; // not a multiple of the eval batch
  // the learning rate jumps ×30 after 20 steps, so the validation loss gets worse: the best is in the middle
  const schedule = { kind: "step" as const, everySteps: 20, gamma: 30 };
  const opts = { steps: 40, lr: 1e-2, schedule, batchSize: 64, evalEvery: 5, seed: 4, validation, evalBatchSize: 50 };
  const r = await trainFlow(flow, flow.init(keyFromSeed(1)), { x, n: 400, dim: 2 }, opts);
  assert.equal(r.nTrain, 400, "an explicit validation set holds nothing out of the data");
  assert.ok(r.bestStep > 0 && r.bestStep < r.steps, `best step ${r.bestStep} of ${r.steps}`);
  assert.equal(r.history[0]!.step, 0, "the initial params are evaluated");
  const ev = makeEvaluator(flow, { batchSize: 50 });
  const lp = await ev.logProbs(r.params, validation);
  assert.ok(Math.abs(-meanAndStdError(lp).mean - r.bestValLoss) < 1e-9, `${-meanAndStdError(lp).mean} vs ${r.bestValLoss}`);
  const last = await trainFlow(flow, flow.init(keyFromSeed(1)), { x, n: 400, dim: 2 }, { ...opts, restoreBest: false });
  const lpLast = await ev.logProbs(last.params, validation);
  assert.ok(Math.abs(-meanAndStdError(lpLast).mean - last.history.at(-1)!.valLoss!) < 1e-9);
  assert.deepEqual(last.losses, r.losses, "same seed, same run");
  ev.dispose();
  disposeTree(r.params);
  disposeTree(last.params);
});

test("exact evaluation: padded chunks give the same log-probs as one big call", async () => {
  const flow = smallFlow();
  const p = flow.init(keyFromSeed(5));
  const rows = { x: sampleToy("circles", 77, 1), n: 77, dim: 2 };
  const a = await makeEvaluator(flow, { batchSize: 10 }).logProbs(p, rows);
  const b = await makeEvaluator(flow, { batchSize: 1000 }).logProbs(p, rows);
  const direct = flow.logProb(refTree(p), fromValues(rows.x, [77, 2], "float32")).dataSync();
  for (let i = 0; i < 77; i++) {
    assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5 && Math.abs(a[i]! - direct[i]!) < 1e-5, `row ${i}`);
  }
  disposeTree(p);
});

test("determinism: the same seed gives identical losses; another seed does not", async () => {
  const flow = smallFlow();
  const x = sampleToy("8gaussians", 512, 1);
  const run = async (seed: number) =>
    (await trainFlow(flow, flow.init(keyFromSeed(0)), { x, n: 512, dim: 2 }, { steps: 25, batchSize: 64, lr: 5e-3, seed }));
  const a = await run(3);
  const b = await run(3);
  const c = await run(4);
  assert.deepEqual(a.losses, b.losses);
  assert.deepEqual(hostParams(a.params), hostParams(b.params));
  assert.notDeepEqual(a.losses, c.losses, "the seed drives the shuffle and the split");
  for (const r of [a, b, c]) disposeTree(r.params);
});

test("a diverging run stops cleanly: stopReason diverged, finite best params, a message saying what to try", async () => {
  const flow = smallFlow();
  const n = 1024;
  const x = sampleToy("8gaussians", n, 1);
  x[2 * 700] = 1e30; // one absurd row: its batch has an infinite loss
  const r = await trainFlow(flow, flow.init(keyFromSeed(0)), { x, n, dim: 2 }, { steps: 200, batchSize: 64, evalEvery: 2, lr: 1e-2, validationFraction: 0, seed: 2 });
  assert.equal(r.stopReason, "diverged");
  assert.ok(r.steps <= 16, "the bad row is met within the first epoch");
  assert.ok(!Number.isFinite(r.losses.at(-1)!));
  assert.ok(allFinite(r.params), "best params are finite");
  assert.ok(r.bestStep < r.steps);
  assert.match(r.message, new RegExp(`diverged at step ${r.steps}`));
  assert.match(r.message, /lower learning rate/);
  assert.match(r.message, /scaleBound/);
  assert.match(r.message, /clipNorm/);
  // the returned model still works
  const lp = flow.logProb(r.params, fromValues(sampleToy("8gaussians", 200, 9), [200, 2], "float32")).dataSync();
  assert.ok(lp.every(Number.isFinite));

  // a learning rate that jumps ×1e7 after 30 good steps: the best params are a trained checkpoint
  const jump = await trainFlow(flow, flow.init(keyFromSeed(0)), { x: sampleToy("8gaussians", n, 1), n, dim: 2 }, {
    steps: 200, batchSize: 64, evalEvery: 5, lr: 1e-2, schedule: { kind: "step", everySteps: 30, gamma: 1e7 }, validationFraction: 0, seed: 2,
  });
  assert.equal(jump.stopReason, "diverged");
  assert.ok(jump.steps > 30 && jump.bestStep > 0 && jump.bestStep <= 30, `diverged at ${jump.steps}, best ${jump.bestStep}`);
  assert.ok(jump.bestValLoss < jump.losses[0]!, "the checkpoint is better than the initial params");
  assert.ok(allFinite(jump.params));
  disposeTree(jump.params);
});

test("early stopping after `patience` evaluations without improvement; abort via AbortSignal", async () => {
  const flow = smallFlow();
  const x = sampleToy("moons", 256, 1);
  // lr so small that nothing changes in float32: the validation loss never improves after the first evaluation
  const r = await trainFlow(flow, flow.init(keyFromSeed(0)), { x, n: 256, dim: 2 }, { steps: 100, lr: 1e-30, batchSize: 64, evalEvery: 5, patience: 3 });
  assert.equal(r.stopReason, "early-stopped");
  assert.equal(r.steps, 15, "the initial params are the best; three evaluations without improvement stop it");
  assert.equal(r.bestStep, 0);
  assert.match(r.message, /no improvement/);
  disposeTree(r.params);

  const ac = new AbortController();
  const a = await trainFlow(flow, flow.init(keyFromSeed(0)), { x, n: 256, dim: 2 }, {
    steps: 1000, batchSize: 64, evalEvery: 10, signal: ac.signal,
    onProgress: (e) => { if (e.step >= 30) ac.abort(); },
  });
  assert.equal(a.stopReason, "aborted");
  assert.equal(a.steps, 30);
  assert.ok(allFinite(a.params));
  disposeTree(a.params);
});

test("boundary checks: wrong width, NaN rows, missing or unexpected context, bad options; params are freed on error", async () => {
  const flow = smallFlow();
  const x = sampleToy("moons", 64, 1);
  await assert.rejects(trainFlow(flow, flow.init(keyFromSeed(0)), { x, n: 32, dim: 4 }, {}), ShapeError);
  const bad = x.slice();
  bad[11] = NaN;
  await assert.rejects(trainFlow(flow, flow.init(keyFromSeed(0)), { x: bad, n: 64, dim: 2 }, {}), (e: Error) => e instanceof NonFiniteError && /row 5, column 1/.test(e.message));
  await assert.rejects(trainFlow(flow, flow.init(keyFromSeed(0)), { x, n: 64, dim: 2, context: new Float64Array(64) }, {}), ContextError);
  await assert.rejects(trainFlow(flow, flow.init(keyFromSeed(0)), { x, n: 64, dim: 2 }, { lr: -1 }), ConfigError);
  await assert.rejects(trainFlow(flow, flow.init(keyFromSeed(0)), { x, n: 64, dim: 2 }, { dtype: "float64" }), ConfigError);
  const cflow = smallFlow(2, [8], 1);
  await assert.rejects(trainFlow(cflow, cflow.init(keyFromSeed(0)), { x, n: 64, dim: 2 }, {}), ContextError);
});

test("conditional flow: trains on (x, context) rows and learns the dependence on the context", async () => {
  const flow = smallFlow(2, [16], 1);
  const n = 512;
  const base = sampleToy("8gaussians", n, 1);
  const context = new Float64Array(n);
  const x = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    context[i] = i % 2 === 0 ? -1 : 1;
    x[2 * i] = 0.1 * base[2 * i]! + 2 * context[i]!;
    x[2 * i + 1] = 0.1 * base[2 * i + 1]!;
  }
  const r = await trainFlow(flow, flow.init(keyFromSeed(0)), { x, n, dim: 2, context }, { steps: 150, lr: 1e-2, batchSize: 128, seed: 1 });
  assert.equal(r.stopReason, "completed");
  // log p(x | c) must prefer the right context: x = (2, 0) is likely under c = +1, not under c = −1
  const pt = fromValues([2, 0, 2, 0], [2, 2], "float32");
  const lp = flow.logProb(r.params, pt, fromValues([1, -1], [2, 1], "float32")).dataSync();
  assert.ok(lp[0]! > lp[1]! + 5, `log p(x | +1) = ${lp[0]}, log p(x | −1) = ${lp[1]}`);
});

/**
 * A stateful test layer (what batch norm does): z = x − shift (trainable shift), and in training
 * mode it reports running ← 0.5·running + 0.5·mean(x) for its non-trainable leaf `running`.
 */
class RunningMeanShift implements Bijector<{ shift: Array; running: Array }> {
  readonly kind = "running-mean-shift";
  readonly contextDim = 0;
  readonly forwardPass = "parallel" as const;
  readonly inversePass = "parallel" as const;
  readonly stateLeaves = ["running"];
  constructor(readonly dim: number) {}
  init(key: Key, dtype: FloatDType = "float32") {
    key.dispose();
    return { shift: np.zeros([this.dim], { dtype: jaxDType(dtype) }), running: np.zeros([this.dim], { dtype: jaxDType(dtype) }) };
  }
  forward(p: { shift: Array; running: Array }, z: Array, context?: Array): BijectionResult {
    dropContext(context);
    p.running.dispose();
    const n = z.shape[0]!;
    return { y: z.add(p.shift), logDet: np.zeros([n], { dtype: z.dtype }) };
  }
  inverse(p: { shift: Array; running: Array }, x: Array, context?: Array, opts?: CallOptions): BijectionResult {
    dropContext(context);
    const n = x.shape[0]!;
    const logDet = np.zeros([n], { dtype: x.dtype });
    if (opts?.training) {
      const half = np.full([], 0.5, { dtype: x.dtype });
      const running = p.running.mul(half.ref).add(x.ref.mean(0).mul(half));
      return { y: x.sub(p.shift), logDet, state: { running } };
    }
    p.running.dispose();
    return { y: x.sub(p.shift), logDet };
  }
}

test("running statistics reported in training mode are written back into the params by the jitted step", async () => {
  const flow = new Flow(new StandardNormal(2), new Chain([new RunningMeanShift(2), new FixedShiftFree()]));
  const n = 64;
  const x = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) { x[2 * i] = 3 + (i % 8) / 8; x[2 * i + 1] = -1 + (i % 4) / 4; }
  const mean = [3 + 3.5 / 8, -1 + 1.5 / 4];
  const S = 6;
  const r = await trainFlow(flow, flow.init(keyFromSeed(0)), { x, n, dim: 2 }, { steps: S, batchSize: n, validationFraction: 0, restoreBest: false, lr: 1e-3 });
  const host = treeToHost(r.params);
  const running = [...host["bijector.layers.0.running"]!.data];
  // running_S = (1 − 0.5^S) · mean, the batch is the whole data set every step
  running.forEach((v, d) => assert.ok(Math.abs(v - (1 - 0.5 ** S) * mean[d]!) < 1e-5, `running[${d}] = ${v}`));
  // the trainable shift moved towards the data mean (gradient −(x − shift) averaged)
  assert.ok(host["bijector.layers.0.shift"]!.data.every((v) => v !== 0));
  disposeTree(r.params as FlowParams);
});

/** Identity layer without params, so the chain has two layers (the state path is layers.0.*). */
class FixedShiftFree implements Bijector<Record<string, never>> {
  readonly kind = "identity";
  readonly dim = 2;
  readonly contextDim = 0;
  readonly forwardPass = "parallel" as const;
  readonly inversePass = "parallel" as const;
  init(key: Key) { key.dispose(); return {}; }
  forward(_p: Record<string, never>, z: Array, c?: Array): BijectionResult { dropContext(c); return { y: z, logDet: np.zeros([z.shape[0]!], { dtype: z.dtype }) }; }
  inverse(_p: Record<string, never>, x: Array, c?: Array): BijectionResult { dropContext(c); return { y: x, logDet: np.zeros([x.shape[0]!], { dtype: x.dtype }) }; }
}

test("realnvp with batch norm from build(): running statistics move during training and eval mode uses them", async () => {
  const { build } = await import("../../src/flows/build.js");
  const { flow } = build({ flow: "realnvp", dim: 2, layers: 3, hidden: [16], batchNorm: true, seed: 0 });
  assert.ok(flow.stateLeaves.length > 0, "the built flow has batch-norm state leaves");
  const n = 512;
  const x = sampleToy("moons", n, 1).map((v) => 3 * v + 5); // far from the N(0, 1) the running stats start at
  const r = await trainFlow(flow, flow.init(keyFromSeed(0)), { x, n, dim: 2 }, { steps: 40, lr: 5e-3, batchSize: 128, evalEvery: 20, seed: 1 });
  assert.equal(r.stopReason, "completed");
  const host = treeToHost(r.params);
  const means = flow.stateLeaves.filter((s) => s.endsWith("runningMean")).map((s) => [...host[s]!.data]);
  assert.ok(means.length > 0);
  // the first batch norm in the density direction sees data of mean ≈ 5 (it is applied after couplings
  // that start as the identity), so its running mean has moved well away from 0
  assert.ok(means.some((m) => m.some((v) => Math.abs(v) > 1)), `running means ${JSON.stringify(means)}`);
  assert.ok(r.history.every((h) => h.step === 0 || Number.isFinite(h.valLoss!)), "eval-mode validation loss is finite");
  disposeTree(r.params);
});

test("float64 params train in float64 (batches cast to the params' dtype)", async () => {
  const flow = smallFlow(2, [8]);
  const x = sampleToy("moons", 256, 1);
  const r = await trainFlow(flow, flow.init(keyFromSeed(0), "float64"), { x, n: 256, dim: 2 }, { steps: 10, batchSize: 64, lr: 1e-2 });
  assert.equal(r.stopReason, "completed");
  assert.ok(Object.values(treeToHost(r.params)).every((leaf) => leaf.dtype === "float64" && leaf.data instanceof Float64Array));
  assert.ok(r.losses.every(Number.isFinite));
  disposeTree(r.params);
});

test("microBatchSize: gradients summed over slices give the same losses and params as the whole batch in one pass", async () => {
  defaultDevice("cpu");
  const flow = smallFlow(2, [8], 2);
  const n = 64;
  const x = sampleToy("moons", n, 3);
  const context = Float64Array.from({ length: n * 2 }, (_, i) => Math.sin(i));
  const run = (micro?: number) =>
    trainFlow(flow, flow.init(keyFromSeed(0), "float64"), { x, n, dim: 2, context }, {
      steps: 4, batchSize: 32, lr: 1e-2, validationFraction: 0, restoreBest: false, ...(micro ? { microBatchSize: micro } : {}),
    });
  const whole = await run();
  const sliced = await run(8);
  whole.losses.forEach((l, i) => assert.ok(Math.abs(l - sliced.losses[i]!) < 1e-10, `step ${i}: ${l} vs ${sliced.losses[i]}`));
  const a = hostParams(whole.params);
  const b = hostParams(sliced.params);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-10, `param ${i}: ${v} vs ${b[i]}`));
  disposeTree(whole.params);
  disposeTree(sliced.params);
  await assert.rejects(run(5), (e: Error) => e instanceof ConfigError && /divides the batch size 32/.test(e.message));
  defaultDevice("wasm");
});
