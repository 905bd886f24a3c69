/**
 * Typed errors at the public boundary: Flow.validate (shape, context, finiteness, dtype) and
 * build/normalizeConfig (every bad field is a ConfigError naming the field, expected and got).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { ConfigError, ContextError, DTypeError, NonFiniteError, ShapeError } from "../../src/engine/errors.js";
import { build, estimateParameterCount, estimateTrainingBytes, MAX_PARAMETERS, MAX_TRAINING_BYTES, normalizeConfig } from "../../src/flows/build.js";
import type { FlowConfig } from "../../src/flows/config.js";

const base: FlowConfig = { flow: "realnvp", dim: 2, layers: 2, hidden: [8] };

test("validate: wrong dimension is a ShapeError naming expected and actual shapes", () => {
  defaultDevice("cpu");
  const { flow } = build({ ...base, dtype: "float64" });
  const x = fromValues([1, 2, 3, 4, 5, 6], [2, 3], "float64");
  assert.throws(() => flow.validate(x, undefined, "float64"), (e: unknown) => {
    assert.ok(e instanceof ShapeError);
    assert.match(e.message, /expected shape \[N, 2\]/);
    assert.match(e.message, /got \[2, 3\]/);
    return true;
  });
  const flat = fromValues([1, 2], [2], "float64");
  assert.throws(() => flow.validate(flat, undefined, "float64"), /got \[2\]/);
  x.dispose();
  flat.dispose();
});

test("validate: missing context / unwanted context / wrong context width are ContextErrors", () => {
  defaultDevice("cpu");
  const conditional = build({ ...base, contextDim: 3, dtype: "float64" }).flow;
  const unconditional = build({ ...base, dtype: "float64" }).flow;
  const x = fromValues([1, 2, 3, 4], [2, 2], "float64");
  const ctx = fromValues([1, 2, 3, 4, 5, 6], [2, 3], "float64");
  const narrow = fromValues([1, 2], [2, 1], "float64");
  assert.throws(() => conditional.validate(x, undefined, "float64"), (e: unknown) => {
    assert.ok(e instanceof ContextError);
    assert.match(e.message, /needs a context of shape \[2, 3\]/);
    return true;
  });
  assert.throws(() => unconditional.validate(x, ctx, "float64"), (e: unknown) => {
    assert.ok(e instanceof ContextError);
    assert.match(e.message, /unconditional/);
    return true;
  });
  assert.throws(() => conditional.validate(x, narrow, "float64"), (e: unknown) => e instanceof ContextError && /expected shape \[2, 3\], got \[2, 1\]/.test(e.message));
  conditional.validate(x, ctx, "float64"); // and the right one passes
  // the layers themselves refuse a missing context too (not only validate)
  const p = conditional.init(keyFromSeed(0), "float64");
  assert.throws(() => conditional.logProb(p, x.ref), ContextError);
  [x, ctx, narrow].forEach((a) => a.dispose());
});

test("validate: NaN or ±Infinity is a NonFiniteError; float32 data for a float64 model is a DTypeError", () => {
  defaultDevice("cpu");
  const { flow } = build({ ...base, contextDim: 1, dtype: "float64" });
  const ctx = fromValues([0, 1], [2, 1], "float64");
  for (const bad of [NaN, Infinity, -Infinity]) {
    const x = fromValues([0, 1, bad, 2], [2, 2], "float64");
    assert.throws(() => flow.validate(x, ctx, "float64"), (e: unknown) => {
      assert.ok(e instanceof NonFiniteError);
      assert.match(e.message, new RegExp(`got ${String(bad)} at row 1`));
      return true;
    });
    x.dispose();
  }
  const goodX = fromValues([0, 1, 2, 3], [2, 2], "float64");
  const badCtx = fromValues([0, NaN], [2, 1], "float64");
  assert.throws(() => flow.validate(goodX, badCtx, "float64"), (e: unknown) => e instanceof NonFiniteError && /context/.test(e.message));
  const x32 = fromValues([0, 1, 2, 3], [2, 2], "float32");
  assert.throws(() => flow.validate(x32, ctx, "float64"), (e: unknown) => {
    assert.ok(e instanceof DTypeError);
    assert.match(e.message, /expected dtype float64, got float32/);
    return true;
  });
  [ctx, goodX, badCtx, x32].forEach((a) => a.dispose());
});

/** build(config) throws a ConfigError whose message matches every pattern. */
function rejects(config: unknown, ...patterns: RegExp[]): void {
  assert.throws(
    () => build(config as never),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
      for (const p of patterns) assert.match(e.message, p);
      return true;
    },
  );
}

test("build: bad configs are ConfigErrors naming the field, the expected value and the given one", () => {
  rejects({ ...base, flow: "glow" }, /^flow:/, /"nice", "realnvp", "maf", "iaf"/, /got "glow"/);
  rejects({ ...base, layers: 0 }, /^layers:/, /integer ≥ 1/, /got 0/);
  rejects({ ...base, layers: 2.5 }, /^layers:/, /got 2.5/);
  rejects({ ...base, hidden: [8, -4] }, /^hidden\[1\]:/, /positive|≥ 1/, /got -4/);
  rejects({ ...base, hidden: [] }, /^hidden:/, /non-empty/, /got \[\]/);
  rejects({ ...base, hidden: 8 }, /^hidden:/, /got 8/);
  rejects({ ...base, hiden: [8] }, /unknown key "hiden"/, /hidden/);
  rejects(null, /^config: expected an object, got null/);
  rejects([base], /^config: expected an object, got an array/);
  rejects({ ...base, flow: undefined }, /^flow:/, /got undefined/);
  rejects({ ...base, dim: 1 }, /^dim: a realnvp coupling flow splits the dimensions into two groups and needs dim ≥ 2, got 1; use flow "maf" or "iaf"/); // a coupling needs two parts
  rejects({ ...base, dim: "2" }, /^dim:/, /got "2"/);
  rejects({ ...base, activation: "sigmoid" }, /^activation:/, /relu/, /got "sigmoid"/);
  rejects({ ...base, mask: "checkerboard" }, /^mask:/, /"half", "alternating"/);
  rejects({ ...base, permutation: "shuffle" }, /^permutation:/, /"none", "reverse", "random"/);
  rejects({ ...base, batchNorm: "yes" }, /^batchNorm: expected true or false, got "yes"/);
  rejects({ ...base, flow: "nice", batchNorm: true }, /^batchNorm:/, /nice/);
  rejects({ ...base, contextDim: -1 }, /^contextDim: expected an integer ≥ 0, got -1/);
  rejects({ ...base, scaleBound: 0 }, /^scaleBound: expected a finite number > 0, got 0/);
  rejects({ ...base, seed: -3 }, /^seed:/, /got -3/);
  rejects({ ...base, dtype: "float16" }, /^dtype:/, /"float32" or "float64"/, /got "float16"/);
  rejects({ ...base, rescale: 1 }, /^rescale:/, /got 1/);
  rejects({ ...base, base: "normal" }, /^base: expected an object, got "normal"/);
  rejects({ ...base, base: { kind: "student-t" } }, /^base.kind:/, /"mixture-of-gaussians"/, /got "student-t"/);
  rejects({ ...base, base: { kind: "mixture-of-gaussians" } }, /^base.components:/, /got undefined/);
  rejects({ ...base, base: { kind: "mixture-of-gaussians", components: 0 } }, /^base.components:/, /got 0/);
  rejects({ ...base, base: { kind: "diag-normal", mean: 0 } }, /^base: unknown key "mean"/);
  rejects({ ...base, base: { kind: "uniform", low: [0], high: [1, 1] } }, /^base.low:/, /2 finite numbers/, /got \[0\]/);
  rejects({ ...base, base: { kind: "uniform", low: [0, 1], high: [1, 1] } }, /^base.high:/, /base.high\[1\] > base.low\[1\] = 1/, /got 1/);
});

test("normalizeConfig: sizes are bounded from the config alone (no flow built, nothing allocated)", () => {
  const t0 = performance.now();
  assert.throws(() => build({ ...base, layers: 1_000_000 }), (e: Error) => e instanceof ConfigError && /layers: at most 1,024, got 1,000,000/.test(e.message));
  assert.throws(() => build({ ...base, hidden: [1e9] }), (e: Error) => e instanceof ConfigError && /about 1\.40e\+10 parameters .* exceed the limit of 134,217,728/.test(e.message));
  assert.throws(() => build({ ...base, base: { kind: "mixture-of-gaussians", components: 1e9 } }), /1000000000 components\) exceed the limit/);
  assert.throws(() => build({ ...base, dim: 2 ** 30 }), /dim: at most 67,108,864, got 1,073,741,824/);
  // the limit is on memory: float64 parameters take twice the bytes, so half as many are allowed
  const wide = { ...base, layers: 1, hidden: [9000, 9000] }; // ≈ 8.1e7 parameters
  assert.ok(estimateTrainingBytes(normalizeConfig(wide)) < MAX_TRAINING_BYTES);
  assert.throws(
    () => normalizeConfig({ ...wide, dtype: "float64" }),
    /about 8\.11e\+7 parameters .* exceed the limit of 67,108,864 float64 parameters \(≈ 2\.42 GiB with the gradient and Adam's two moments; the limit is 2\.00 GiB/,
  );
  assert.ok(performance.now() - t0 < 5000, "refused at once");
  // the reference models are well inside the limit, and the estimate bounds their true counts
  for (const [config, exact] of [
    [{ flow: "nice", image: [1, 28, 28], layers: 4, hidden: [1000, 1000, 1000, 1000] }, 15_154_352],
    [{ flow: "realnvp", image: [1, 28, 28], layers: 3, hidden: [32, 32] }, 384_979],
    [{ flow: "maf", image: [1, 28, 28], layers: 5, hidden: [1024], contextDim: 10, base: { kind: "conditional-diag-normal" } }, undefined],
  ] as [FlowConfig, number | undefined][]) {
    const c = normalizeConfig(config);
    const estimate = estimateParameterCount(c);
    assert.ok(estimate < MAX_PARAMETERS);
    if (exact !== undefined) assert.ok(estimate >= exact, `${c.flow}: estimate ${estimate} ≥ ${exact}`);
  }
});
