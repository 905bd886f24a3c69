import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, grad, jit, type Array } from "../../src/engine/jax.js";
import { fromValues, type FloatDType } from "../../src/engine/dtype.js";
import { ConfigError } from "../../src/engine/errors.js";
import { keyFromSeed, type Key } from "../../src/engine/random.js";
import { disposeTree, refTree } from "../../src/engine/tree.js";
import { BatchNorm, type BatchNormParams } from "../../src/bijectors/batch-norm.js";
import { checkBijector, host } from "../support/checks.js";

/** A BatchNorm whose init has non-trivial positive running variances (checkBijector skips perturbing them). */
class SpreadBatchNorm extends BatchNorm {
  override init(key: Key, dtype: FloatDType = "float32"): BatchNormParams {
    const p = super.init(key, dtype);
    p.runningVar.dispose();
    const v = [...Array(this.dim)].map((_, j) => 0.2 + 1.7 * ((j * 0.618) % 1));
    return { ...p, runningVar: fromValues(v, [this.dim], dtype) };
  }
}
const skipVar = (path: string): boolean => path === "runningVar";

const D = 3;
const N = 64;
const LOG_GAMMA = [0.3, -0.5, 0.1];
const BETA = [1, -2, 0.5];
const RUN_MEAN = [0.1, 0.2, 0.3];
const RUN_VAR = [1.5, 0.5, 2];
const X = [...Array(N * D)].map((_, i) => (i % D) * 2 - 1 + (1 + (i % D)) * Math.sin(1.7 * i + 0.3));

function params(): BatchNormParams {
  return {
    logGamma: fromValues(LOG_GAMMA, [D], "float64"),
    beta: fromValues(BETA, [D], "float64"),
    runningMean: fromValues(RUN_MEAN, [D], "float64"),
    runningVar: fromValues(RUN_VAR, [D], "float64"),
  };
}

/** Per-dimension mean and biased variance of a row-major [n, d] host batch. */
function moments(v: number[], d: number): { mean: number[]; variance: number[] } {
  const n = v.length / d;
  const mean = [...Array(d)].map((_, j) => [...Array(n)].reduce((s, _, i) => s + v[i * d + j]!, 0) / n);
  const variance = [...Array(d)].map((_, j) => [...Array(n)].reduce((s, _, i) => s + (v[i * d + j]! - mean[j]!) ** 2, 0) / n);
  return { mean, variance };
}

test("batch norm (evaluation mode): exact bijection with log-det against the Jacobian (float64, cpu)", () => {
  defaultDevice("cpu");
  const bn = new SpreadBatchNorm({ dim: 4 });
  assert.deepEqual(bn.stateLeaves, ["runningMean", "runningVar"]);
  checkBijector(bn, { dtype: "float64", roundTripTol: 1e-10, logDetTol: 1e-9, skipPerturb: skipVar });
  // default init: mean 0, variance 1, so z = x / √(1 + ε)
  const plain = new BatchNorm({ dim: 2 });
  const p0 = plain.init(keyFromSeed(0), "float64");
  const r = plain.inverse(p0, fromValues([1, -2], [1, 2], "float64"));
  assert.deepEqual(host(r.y), [1 / Math.sqrt(1 + 1e-5), -2 / Math.sqrt(1 + 1e-5)]);
  assert.ok(Math.abs(host(r.logDet)[0]! + Math.log(1 + 1e-5)) < 1e-15, `logDet ${host(r.logDet)[0]}`);
  assert.equal(r.state, undefined, "no state outside training mode");
});

test("batch norm (training mode): normalises the batch, log-det from batch statistics, momentum update of the state", () => {
  defaultDevice("cpu");
  const momentum = 0.2;
  const eps = 1e-5;
  const bn = new BatchNorm({ dim: D, momentum, eps });
  const p = params();
  const r = bn.inverse(refTree(p), fromValues(X, [N, D], "float64"), undefined, { training: true });
  const z = host(r.y);
  const { mean: muB, variance: varB } = moments(X, D);
  const { mean: zMean, variance: zVar } = moments(z, D);
  for (let j = 0; j < D; j++) {
    assert.ok(Math.abs(zMean[j]! - BETA[j]!) < 1e-12, `mean of z[:, ${j}] = ${zMean[j]}, expected beta ${BETA[j]}`);
    const wantStd = Math.exp(LOG_GAMMA[j]!) * Math.sqrt(varB[j]! / (varB[j]! + eps));
    assert.ok(Math.abs(Math.sqrt(zVar[j]!) - wantStd) < 1e-12, `std of z[:, ${j}] = ${Math.sqrt(zVar[j]!)} vs ${wantStd}`);
    const ratio = Math.sqrt(zVar[j]!) / Math.exp(LOG_GAMMA[j]!);
    assert.ok(Math.abs(ratio - 1) < 1e-4, `std of z[:, ${j}] / exp(logGamma) = ${ratio}`);
  }
  const wantLd = LOG_GAMMA.reduce((s, g, j) => s + g - 0.5 * Math.log(varB[j]! + eps), 0);
  host(r.logDet).forEach((v) => assert.ok(Math.abs(v - wantLd) < 1e-12, `logDet ${v} vs ${wantLd}`));
  assert.ok(r.state, "training mode returns state");
  assert.deepEqual(Object.keys(r.state).sort(), ["runningMean", "runningVar"]);
  const newMean = host(r.state.runningMean!);
  const newVar = host(r.state.runningVar!);
  for (let j = 0; j < D; j++) {
    assert.ok(Math.abs(newMean[j]! - ((1 - momentum) * RUN_MEAN[j]! + momentum * muB[j]!)) < 1e-14, `runningMean[${j}] = ${newMean[j]}`);
    assert.ok(Math.abs(newVar[j]! - ((1 - momentum) * RUN_VAR[j]! + momentum * varB[j]!)) < 1e-14, `runningVar[${j}] = ${newVar[j]}`);
  }
  disposeTree(r.state);
  // forward ignores training mode: it always uses the running statistics
  const f1 = bn.forward(refTree(p), fromValues(X.slice(0, 6), [2, D], "float64"), undefined, { training: true });
  const f2 = bn.forward(refTree(p), fromValues(X.slice(0, 6), [2, D], "float64"));
  assert.deepEqual(host(f1.y), host(f2.y));
  for (const a of [f1.logDet, f2.logDet]) a.dispose();
  disposeTree(p);
});

test("batch norm (training mode): gradients reach logGamma, beta and the data through the batch statistics; none reach the state", () => {
  defaultDevice("cpu");
  const bn = new BatchNorm({ dim: D });
  const p = params();
  // negative log-likelihood under N(0, I) after the layer (up to a constant), written as the
  // training loop writes it: −mean(log p)
  const nll = (q: BatchNormParams, x: Array): Array => {
    const r = bn.inverse(q, x, undefined, { training: true });
    disposeTree(r.state);
    return r.y.mul(r.y.ref).sum(1).mul(-0.5).add(r.logDet).mean().neg();
  };
  const g = jit(grad((q: BatchNormParams) => nll(q, fromValues(X, [N, D], "float64"))))(refTree(p));
  assert.ok(host(g.logGamma).every((v) => Math.abs(v) > 1e-3), `∂/∂logGamma = ${host(g.logGamma)}`);
  assert.ok(host(g.beta).every((v) => Math.abs(v) > 1e-3), `∂/∂beta = ${host(g.beta)}`);
  assert.deepEqual(host(g.runningMean), [0, 0, 0]);
  assert.deepEqual(host(g.runningVar), [0, 0, 0]);
  // ∂/∂logGamma_0 against a central difference
  const h = 1e-6;
  const at = (delta: number): number => {
    const q = { ...refTree(p), logGamma: fromValues(LOG_GAMMA.map((v, j) => (j === 0 ? v + delta : v)), [D], "float64") };
    p.logGamma.dispose();
    return host(nll(q, fromValues(X, [N, D], "float64")))[0]!;
  };
  const fd = (at(h) - at(-h)) / (2 * h);
  assert.ok(Math.abs(fd - host(g.logGamma)[0]!) < 1e-7, `grad ${host(g.logGamma)[0]} vs finite difference ${fd}`);
  disposeTree(g);

  // The loss is invariant to shifting one data column (batch statistics absorb it): the data
  // gradient summed over the batch is 0 per column, which it would not be without gradients
  // flowing through μ_B.
  const gx = host(jit(grad((x: Array) => nll(refTree(p), x)))(fromValues(X, [N, D], "float64")));
  for (let j = 0; j < D; j++) {
    const colSum = [...Array(N)].reduce((s, _, i) => s + gx[i * D + j]!, 0);
    assert.ok(Math.abs(colSum) < 1e-12, `column ${j}: Σ_i ∂loss/∂x_ij = ${colSum}`);
  }
  // the new state carries no gradient back to the data
  const stateSum = (x: Array): Array => {
    const r = bn.inverse(refTree(p), x, undefined, { training: true });
    r.y.dispose();
    r.logDet.dispose();
    return r.state!.runningMean!.sum().add(r.state!.runningVar!.sum());
  };
  assert.ok(host(jit(grad(stateSum))(fromValues(X, [N, D], "float64"))).every((v) => v === 0));
  disposeTree(p);
});

test("batch norm: invalid options throw ConfigError", () => {
  assert.throws(() => new BatchNorm({ dim: 0 }), ConfigError);
  assert.throws(() => new BatchNorm({ dim: 2, momentum: 0 }), ConfigError);
  assert.throws(() => new BatchNorm({ dim: 2, momentum: 1.5 }), ConfigError);
  assert.throws(() => new BatchNorm({ dim: 2, eps: -1 }), ConfigError);
});

test("batch norm in float32 on wasm: evaluation-mode bijection; training-mode gradients under jit equal eager ones", () => {
  defaultDevice("wasm");
  checkBijector(new SpreadBatchNorm({ dim: 4 }), { dtype: "float32", n: 64, roundTripTol: 1e-4, logDetTol: 1e-3, skipPerturb: skipVar });
  const bn = new BatchNorm({ dim: D });
  const p: BatchNormParams = {
    logGamma: fromValues(LOG_GAMMA, [D], "float32"),
    beta: fromValues(BETA, [D], "float32"),
    runningMean: fromValues(RUN_MEAN, [D], "float32"),
    runningVar: fromValues(RUN_VAR, [D], "float32"),
  };
  const nll = (q: BatchNormParams, x: Array): Array => {
    const r = bn.inverse(q, x, undefined, { training: true });
    disposeTree(r.state);
    return r.y.mul(r.y.ref).sum(1).mul(-0.5).add(r.logDet).mean().neg();
  };
  const x = (): Array => fromValues(X, [N, D], "float32");
  const gj = jit(grad(nll))(refTree(p), x());
  const ge = grad(nll)(refTree(p), x());
  for (const k of ["logGamma", "beta"] as const) {
    const a = host(gj[k]);
    const b = host(ge[k]);
    a.forEach((v, j) => assert.ok(Math.abs(v - b[j]!) < 1e-5 && Math.abs(v) > 1e-3, `${k}[${j}]: jit ${v} vs eager ${b[j]}`));
  }
  disposeTree(gj);
  disposeTree(ge);
  disposeTree(p);
});
