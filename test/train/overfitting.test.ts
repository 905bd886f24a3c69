// Overfitting is not divergence (train/divergence.ts): a validation loss that runs away while the
// training loss stays near its best stops the run EARLY with the best params kept; a blow-up that
// moves the training loss too is still a divergence.
import { test } from "node:test";
import assert from "node:assert/strict";
import { divergenceMonitor } from "../../src/train/divergence.js";
import { fit } from "../../src/model/fit.js";
import { sampleToy } from "../../src/data/toys.js";

test("check: a validation blow-up with the training loss near its best is overfitting, not divergence", () => {
  // D = 2, best validation 4: threshold 4 + 6 = 10; best training 2: near means ≤ 2 + (2 + 2)/4 = 3
  const m = divergenceMonitor(undefined, 2);
  assert.deepEqual(m.check(12, 4, 100, 1e-3, "validation", { loss: 1.5, best: 1.5 }), {});
  assert.deepEqual(m.check(13, 4, 200, 1e-3, "validation", { loss: 1.2, best: 1.2 }), {});
  assert.deepEqual(m.check(14, 4, 300, 1e-3, "validation", { loss: 1.1, best: 1.1 }), {
    overfitting: { step: 300, loss: 14, bestLoss: 4, evaluations: 3, trainLoss: 1.1, bestTrainLoss: 1.1 },
  });
  // the training loss far above its best (3.1 > 3): the same validation losses are a divergence
  const d = divergenceMonitor(undefined, 2);
  for (const s of [100, 200]) d.check(12, 4, s, 1e-3, "validation", { loss: 2.5, best: 2 });
  assert.equal(d.check(12, 4, 300, 1e-3, "validation", { loss: 3.1, best: 2 }).divergence?.kind, "blow-up");
  // without a validation set the monitored loss IS the training loss: a blow-up is a divergence
  const t = divergenceMonitor(undefined, 2);
  for (const s of [100, 200]) t.check(12, 4, s, 1e-3, "train", { loss: 12, best: 4 });
  assert.equal(t.check(12, 4, 300, 1e-3, "train", { loss: 12, best: 4 }).divergence?.of, "training");
});

test("fit: 24 rows and a 4 × 64 × 64 realnvp overfit — stopped early, not diverged, best params kept", async () => {
  const all = sampleToy("moons", 32, 3);
  const x = all.slice(0, 48);
  const v = all.slice(48);
  const model = await fit(
    { flow: "realnvp", layers: 4, hidden: [64, 64] },
    { x, n: 24, dim: 2 },
    { steps: 3000, lr: 3e-3, batchSize: 24, evalEvery: 20, validation: { x: v, n: 8, dim: 2 }, seed: 1 },
  );
  const t = model.training!;
  assert.equal(t.stopReason, "early-stopped", t.message);
  assert.ok(t.steps < 3000 && t.bestStep > 0 && t.bestStep < t.steps, `stopped at ${t.steps}, best ${t.bestStep}`);
  assert.match(t.message, new RegExp(`^stopped early at step ${t.steps}: the validation loss rose after step ${t.bestStep} .*the flow overfits its training rows; returned the parameters of step ${t.bestStep}`));
  assert.equal(t.divergence, undefined);
  // the model returned is the best one: its validation NLL is the recorded best, below the untrained one
  const lp = model.logProb(v);
  const nll = -lp.reduce((s, a) => s + a, 0) / lp.length;
  assert.ok(Math.abs(nll - t.bestValidationLoss!) < 1e-3, `validation NLL ${nll} vs recorded best ${t.bestValidationLoss}`);
  assert.ok(t.bestValidationLoss! < t.history.valLoss[0]!, "better than the initial params");
  model.dispose();
});

test("fit: a blow-up of the training loss on the same tiny table still diverges", async () => {
  const x = sampleToy("moons", 24, 3);
  const v = sampleToy("moons", 8, 4);
  const model = await fit(
    { flow: "realnvp", layers: 2, hidden: [16] },
    { x, n: 24, dim: 2 },
    { steps: 300, lr: 1e-2, batchSize: 24, evalEvery: 10, schedule: { kind: "step", everySteps: 30, gamma: 1e7 }, validation: { x: v, n: 8, dim: 2 }, seed: 1 },
  );
  assert.equal(model.training!.stopReason, "diverged", model.training!.message);
  model.dispose();
});
