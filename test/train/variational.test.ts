// Variational inference: the importance-sampling estimators (exact when q is the target), a short
// reverse-KL fit on `mixture` whose log Z estimate lands within a few standard errors of the truth,
// and the shared loop's behaviour (progress, abort, boundary checks) through fitVariational.
import { test } from "node:test";
import assert from "node:assert/strict";
import { np, type Array } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { countParams, disposeTree } from "../../src/engine/tree.js";
import { ConfigError, NonFiniteError, ShapeError } from "../../src/engine/errors.js";
import { Flow, type FlowParams } from "../../src/distributions/flow.js";
import { StandardNormal } from "../../src/distributions/standard-normal.js";
import { ElementwiseAffine } from "../../src/bijectors/elementwise-affine.js";
import { build } from "../../src/flows/build.js";
import { columns, hostTarget, hostValuesAndGradients, type Target } from "../../src/targets/target.js";
import { builtinTarget } from "../../src/targets/builtin.js";
import { estimateVariational, fitVariational, importanceEstimates, type VariationalResult } from "../../src/train/variational.js";
import type { ProgressEvent } from "../../src/train/loop.js";

const MU = [1.5, -0.5];
const SIGMA = [0.7, 2.0];
const C = 2.5;
/** e^C · N(μ, diag σ²) up to its normaliser: log Z = C + log 2π + Σ log σ. */
const gaussian: Target = {
  name: "gaussian",
  dim: 2,
  description: "a scaled Gaussian",
  logDensity(x: Array) {
    const [a, b] = columns(x);
    const u = a!.sub(MU[0]!).mul(1 / SIGMA[0]!);
    const w = b!.sub(MU[1]!).mul(1 / SIGMA[1]!);
    return u.mul(u.ref).add(w.mul(w.ref)).mul(-0.5).add(C);
  },
  logZ: C + Math.log(2 * Math.PI) + Math.log(SIGMA[0]!) + Math.log(SIGMA[1]!),
};

test("importance estimates: equal weights give log Z exactly, SE 0 and ESS = N; unequal ones the textbook figures", () => {
  const n = 1000;
  const logQ = Float64Array.from({ length: n }, (_, i) => -Math.sin(i) * 3);
  const logP = logQ.map((q) => q + 1.25);
  const e = importanceEstimates(logP, logQ);
  assert.equal(e.n, n);
  assert.ok(Math.abs(e.logZ - 1.25) < 1e-12 && Math.abs(e.elbo - 1.25) < 1e-12);
  assert.ok(e.logZStdErr < 1e-12 && e.elboStdErr < 1e-12);
  assert.ok(Math.abs(e.ess - n) < 1e-9 && Math.abs(e.essFraction - 1) < 1e-12);
  // weights 1, 1, 4 (log-weights 0, 0, log 4): Ẑ = 2, ESS = 36/18 = 2, SE(log Ẑ) = sd(w)/(√3·2) = √3/(√3·2)
  const f = importanceEstimates([0, 0, Math.log(4)], [0, 0, 0]);
  assert.ok(Math.abs(f.logZ - Math.log(2)) < 1e-12);
  assert.ok(Math.abs(f.ess - 2) < 1e-12);
  assert.ok(Math.abs(f.logZStdErr - 0.5) < 1e-12);
  assert.ok(Math.abs(f.elbo - Math.log(4) / 3) < 1e-12);
  // huge log-weights do not overflow (shifted by the maximum)
  const g = importanceEstimates([1000, 1000 + Math.log(3)], [0, 0]);
  assert.ok(Math.abs(g.logZ - (1000 + Math.log(2))) < 1e-9);
  // a weight of zero (outside the target's support) lowers the ESS, the ELBO is −∞
  const h = importanceEstimates([0, -Infinity], [0, 0]);
  assert.equal(h.elbo, -Infinity);
  assert.ok(Math.abs(h.ess - 1) < 1e-12 && Math.abs(h.logZ - Math.log(0.5)) < 1e-12);
  assert.throws(() => importanceEstimates([0, 0], [0, Number.NaN]), NonFiniteError);
});

test("when q equals the target the estimator is exact: log Z to float precision, SE ≈ 0, ESS = N", () => {
  const flow = new Flow(new StandardNormal(2), new ElementwiseAffine({ dim: 2 }));
  const params: FlowParams = {
    base: {},
    bijector: { shift: fromValues(MU, [2], "float64"), logScale: fromValues(SIGMA.map(Math.log), [2], "float64") },
  };
  const e = estimateVariational(flow, params, gaussian, { samples: 3000, seed: 4 });
  assert.ok(Math.abs(e.logZ - gaussian.logZ!) < 1e-5, `log Z ${e.logZ} vs ${gaussian.logZ}`);
  assert.ok(Math.abs(e.elbo - gaussian.logZ!) < 1e-5, `ELBO ${e.elbo}`);
  assert.ok(e.logZStdErr < 1e-6 && e.elboStdErr < 1e-6, `SE ${e.logZStdErr}, ${e.elboStdErr}`);
  assert.ok(e.ess > 3000 * (1 - 1e-9) && e.ess <= 3000 * (1 + 1e-12), `ESS ${e.ess}`);
  // the same flow with the identity (a mismatched q): a real gap, ESS well below N
  const id: FlowParams = { base: {}, bijector: { shift: fromValues([0, 0], [2], "float64"), logScale: fromValues([0, 0], [2], "float64") } };
  const off = estimateVariational(flow, id, gaussian, { samples: 3000, seed: 4 });
  assert.ok(off.elbo < gaussian.logZ! - 0.3 && off.essFraction < 0.8 && off.ess > 0);
  disposeTree(params);
  disposeTree(id);
});

test("a short IAF fit on `mixture`: log Z within a few SE of the truth, ELBO ≤ log Z, ESS in (0, N], better than the initial q", async () => {
  const target = builtinTarget("mixture");
  const { flow, config } = build({ flow: "iaf", dim: 2, layers: 3, hidden: [32, 32] });
  const initial = flow.init(keyFromSeed(config.seed));
  const before = estimateVariational(flow, initial, target, { samples: 4000, seed: 9 });
  const events: ProgressEvent[] = [];
  const r = await fitVariational(flow, target, { params: initial, steps: 300, lr: 3e-3, batchSize: 256, estimateSamples: 8000, evalEvery: 100, onProgress: (e) => events.push(e) });
  const e = r.estimates;
  const truth = target.logZ!;
  assert.equal(r.stopReason, "completed");
  assert.equal(r.steps, 300);
  assert.ok(Math.abs(e.logZ - truth) < 4 * e.logZStdErr + 1e-3, `log Z ${e.logZ} ± ${e.logZStdErr} vs ${truth}`);
  assert.ok(e.logZStdErr < 0.01, `SE ${e.logZStdErr}`);
  assert.ok(e.elbo < truth + 3 * e.elboStdErr, `ELBO ${e.elbo} vs log Z ${truth}`);
  assert.ok(e.ess > 0 && e.ess <= e.n && e.essFraction > 0.5, `ESS ${e.ess}`);
  assert.ok(e.elbo > before.elbo + 0.1, `ELBO ${before.elbo} → ${e.elbo}`);
  // the loss is −ELBO: the best monitored loss is close to −ELBO of the returned q
  assert.ok(Math.abs(r.bestLoss + e.elbo) < 0.1, `best loss ${r.bestLoss} vs −ELBO ${-e.elbo}`);
  assert.deepEqual(events.map((x) => x.phase), ["compiling", "training", "training", "training", "done"]);
  assert.deepEqual(r.history.map((h) => h.step), [100, 200, 300]);
  disposeTree(r.params);
});

test("a target of plain numbers (host, central differences) trains like the same target written with arrays", async () => {
  const plain = hostTarget("plain gaussian", 2, ([a, b]) => {
    const u = (a! - MU[0]!) / SIGMA[0]!;
    const w = (b! - MU[1]!) / SIGMA[1]!;
    return -0.5 * (u * u + w * w) + C;
  });
  const runs = [];
  for (const target of [gaussian, plain]) {
    const { flow } = build({ flow: "iaf", dim: 2, layers: 2, hidden: [16] });
    const r = await fitVariational(flow, target, { steps: 40, lr: 3e-3, batchSize: 128, estimateSamples: 2000 });
    runs.push(r);
    disposeTree(r.params);
  }
  const [traced, host] = runs as [VariationalResult, VariationalResult];
  assert.equal(host.losses.length, 40);
  for (let i = 0; i < 40; i++) assert.ok(Math.abs(traced.losses[i]! - host.losses[i]!) < 1e-3 * Math.max(1, Math.abs(traced.losses[i]!)), `step ${i}: ${traced.losses[i]} vs ${host.losses[i]}`);
  assert.ok(Math.abs(traced.estimates.logZ - host.estimates.logZ) < 1e-3);
  assert.ok(traced.losses[39]! < traced.losses[0]! - 0.5, "the loss falls");
  // the host gradient is the central difference of the row function
  const { logP, grad } = hostValuesAndGradients(plain, [0.2, 0.3], 1);
  assert.ok(Math.abs(logP[0]! - (-0.5 * (((0.2 - 1.5) / 0.7) ** 2 + ((0.3 + 0.5) / 2) ** 2) + C)) < 1e-12);
  assert.ok(Math.abs(grad[0]! + (0.2 - 1.5) / 0.49) < 1e-8 && Math.abs(grad[1]! + (0.3 + 0.5) / 4) < 1e-8);
});

test("fitVariational shares the loop's abort and the boundary checks: misspelt options, batch norm, context, dimensions, bad targets", async () => {
  const { flow } = build({ flow: "iaf", dim: 2, layers: 1, hidden: [8] });
  const controller = new AbortController();
  controller.abort();
  const r = await fitVariational(flow, gaussian, { steps: 50, signal: controller.signal, estimateSamples: 100 });
  assert.equal(r.stopReason, "aborted");
  assert.equal(r.steps, 0);
  assert.ok(r.untrained && /aborted at step 0/.test(r.message));
  disposeTree(r.params);

  await assert.rejects(fitVariational(flow, gaussian, { stepz: 3 } as never), (e: unknown) => e instanceof ConfigError && /did you mean steps\?/.test((e as Error).message));
  await assert.rejects(fitVariational(flow, gaussian, { lr: -1 }), /variational: lr must be > 0/);
  await assert.rejects(fitVariational(flow, { ...gaussian, dim: 3 }), (e: unknown) => e instanceof ShapeError && /3-dimensional, the flow is 2-dimensional/.test((e as Error).message));
  await assert.rejects(fitVariational(flow, (x: Array) => x.mul(1)), (e: unknown) => e instanceof ShapeError && /must return shape/.test((e as Error).message));
  await assert.rejects(fitVariational(flow, (x: Array) => np.log(x.sum(1).mul(0).sub(1))), (e: unknown) => e instanceof NonFiniteError && /NaN/.test((e as Error).message));
  // ActNorm (never initialised from data: an identity affine map to start from) is fine for q; batch norm is not
  const an = build({ flow: "iaf", dim: 2, layers: 1, hidden: [8], actnorm: true }).flow;
  const ra = await fitVariational(an, gaussian, { steps: 3, estimateSamples: 100 });
  assert.equal(ra.steps, 3);
  disposeTree(ra.params);
  const bn = build({ flow: "realnvp", dim: 2, layers: 2, hidden: [8], batchNorm: true }).flow;
  await assert.rejects(fitVariational(bn, gaussian), /batch-norm layers/);
  const cond = build({ flow: "maf", dim: 2, layers: 1, hidden: [8], contextDim: 1 }).flow;
  await assert.rejects(fitVariational(cond, gaussian), /conditional/);
});

test("no leaks in the variational step (traced and host targets): memory plateaus over hundreds of steps", async () => {
  const plain = hostTarget("plain", 2, ([a, b]) => -0.5 * (a! * a! + b! * b!));
  for (const target of [gaussian, plain]) {
    const { flow, config } = build({ flow: "iaf", dim: 2, layers: 2, hidden: [32] });
    const params = flow.init(keyFromSeed(config.seed));
    const paramBytes = 4 * countParams(params);
    const mem: number[] = [];
    const r = await fitVariational(flow, target, { params, steps: 300, batchSize: 64, evalEvery: 50, estimateSamples: 100, onCheckpoint: () => void mem.push(process.memoryUsage().external) });
    // from step 100 to 300: one leaked params copy per step would add 200 × paramBytes
    const growth = Math.max(...mem.slice(1)) - mem[1]!;
    assert.ok(growth < 0.2 * 200 * paramBytes, `${target.name}: external memory grew by ${growth} bytes over 200 steps (params: ${paramBytes} bytes)`);
    disposeTree(r.params);
  }
});
