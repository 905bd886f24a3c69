import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, jacfwd, type Array } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { keyFromSeed } from "../../src/engine/random.js";
import { countParams, disposeTree, refTree, treePaths } from "../../src/engine/tree.js";
import { ConfigError, ContextError } from "../../src/engine/errors.js";
import { madeApply, madeDegrees, madeInit, madeMasks, madeSpec, type MADEParams, type MADESpec } from "../../src/nn/made.js";
import { host, perturb } from "../support/checks.js";

test("MADE degrees: sequential as CONFIGS.md §2, random within [min previous, D−1] and seeded", () => {
  const seq = madeSpec({ dim: 5, hidden: [9, 6], paramCount: 2 });
  assert.deepEqual(seq.order, [1, 2, 3, 4, 5]);
  assert.deepEqual(seq.hiddenDegrees, [[1, 2, 3, 4, 1, 2, 3, 4, 1], [1, 2, 3, 4, 1, 2]]);
  assert.deepEqual(madeDegrees([1, 2], [3]), [[1, 1, 1]]);
  assert.deepEqual(madeDegrees([1], [3]), [[0, 0, 0]]);

  const a = madeDegrees([3, 1, 2, 5, 4, 6, 7], [50, 50, 50], { random: 42 });
  assert.deepEqual(a, madeDegrees([3, 1, 2, 5, 4, 6, 7], [50, 50, 50], { random: 42 }));
  assert.notDeepEqual(a, madeDegrees([3, 1, 2, 5, 4, 6, 7], [50, 50, 50], { random: 43 }));
  let lo = 1;
  for (const layer of a) {
    layer.forEach((d) => assert.ok(Number.isInteger(d) && d >= lo && d <= 6, `degree ${d} outside [${lo}, 6]`));
    lo = Math.min(...layer);
  }
  // all of 1..D−1 appear in a wide first layer (uniform, not constant)
  assert.equal(new Set(a[0]).size, 6);

  assert.throws(() => madeSpec({ dim: 3, hidden: [4], paramCount: 2, order: [1, 2, 2] }), ConfigError);
  assert.throws(() => madeSpec({ dim: 3, hidden: [], paramCount: 2 }), ConfigError);
  assert.throws(() => madeSpec({ dim: 3, hidden: [4], paramCount: 0 }), ConfigError);
});

test("MADE masks: hidden M = [deg_h ≥ deg_prev], output M = [deg_out > deg_h] (strict)", () => {
  const spec = madeSpec({ dim: 3, hidden: [4], paramCount: 1, order: [2, 3, 1] });
  // hidden degrees 1, 2, 1, 2; masks stored [in, out]
  const m = madeMasks(spec);
  assert.deepEqual(Array.from(m.hidden[0]!), [
    0, 1, 0, 1, // input 0 (degree 2)
    0, 0, 0, 0, // input 1 (degree 3)
    1, 1, 1, 1, // input 2 (degree 1)
  ]);
  assert.deepEqual(Array.from(m.output), [
    1, 1, 0, // hidden degree 1 feeds outputs of degree 2, 3
    0, 1, 0, // hidden degree 2 feeds the output of degree 3
    1, 1, 0,
    0, 1, 0,
  ]);
});

function randomInput(n: number, d: number, seed: number): number[] {
  return Array.from({ length: n * d }, (_, i) => Math.sin(seed * 3.3 + i * 0.91) * 1.7);
}

/** Jacobian of head h at one sample: J[i][j] = ∂out_i/∂x_j (host, row-major). */
function headJacobian(spec: MADESpec, p: MADEParams, x: number[], head: number, ctx?: number[]): number[] {
  const D = spec.dim;
  const f = (v: Array): Array => {
    const c = ctx ? fromValues(ctx, [1, ctx.length], "float64") : undefined;
    const outs = madeApply(spec, refTree(p), v.reshape([1, D]), c);
    outs.forEach((o, i) => i !== head && o.dispose());
    return outs[head]!.reshape([D]);
  };
  const jt = host(jacfwd(f)(fromValues(x, [D], "float64")));
  return Array.from({ length: D * D }, (_, k) => jt[(k % D) * D + Math.floor(k / D)]!);
}

test("MADE: ∂out_i/∂x_j = 0 unless deg_in[j] < deg_in[i], for random params (sequential, random degrees, custom order, context)", () => {
  defaultDevice("cpu");
  const specs = [
    madeSpec({ dim: 5, hidden: [8, 8], paramCount: 2, activation: "tanh" }),
    madeSpec({ dim: 5, hidden: [8, 6], paramCount: 2, order: [4, 2, 5, 1, 3], degrees: { random: 3 } }),
    madeSpec({ dim: 4, hidden: [8], paramCount: 3, contextDim: 3, order: [2, 4, 1, 3], activation: "tanh" }),
  ];
  specs.forEach((spec, s) => {
    const p = perturb(madeInit(spec, keyFromSeed(s), "float64"), 50 + s, 0.5);
    const D = spec.dim;
    let allowedNonzero = 0;
    for (let head = 0; head < spec.paramCount; head++) {
      const ctx = spec.contextDim ? randomInput(1, spec.contextDim, 9) : undefined;
      const J = headJacobian(spec, p, randomInput(1, D, s), head, ctx);
      for (let i = 0; i < D; i++)
        for (let j = 0; j < D; j++) {
          const v = J[i * D + j]!;
          if (spec.order[j]! >= spec.order[i]!) assert.equal(v, 0, `spec ${s} head ${head}: ∂out_${i}/∂x_${j} = ${v}, must be 0`);
          else if (v !== 0) allowedNonzero++;
        }
    }
    // the network is not trivially zero: most allowed connections are used
    const allowed = (spec.paramCount * D * (D - 1)) / 2;
    assert.ok(allowedNonzero >= allowed / 2, `spec ${s}: only ${allowedNonzero} of ${allowed} allowed derivatives nonzero`);
    disposeTree(p);
  });
});

test("MADE: zero heads at init, context reaches the outputs, params shaped and counted as nflows", () => {
  defaultDevice("cpu");
  const spec = madeSpec({ dim: 4, hidden: [8, 8], paramCount: 2, contextDim: 3 });
  const p = madeInit(spec, keyFromSeed(1), "float64");
  assert.deepEqual(new Set(treePaths(p)), new Set(["W.0", "W.1", "Wc", "b.0", "b.1", "heads.W.0", "heads.W.1", "heads.b.0", "heads.b.1"]));
  assert.deepEqual(p.W[0]!.shape, [4, 8]);
  assert.deepEqual(p.Wc!.shape, [3, 8]);
  assert.deepEqual(p.heads.W[1]!.shape, [8, 4]);
  const x = () => fromValues(randomInput(6, 4, 1), [6, 4], "float64");
  const out0 = madeApply(spec, refTree(p), x(), fromValues(randomInput(6, 3, 2), [6, 3], "float64"));
  out0.forEach((o) => assert.ok(host(o).every((v) => v === 0)));
  out0.forEach((o) => o.dispose());

  const q = perturb(p, 5);
  const a = madeApply(spec, refTree(q), x(), fromValues(randomInput(6, 3, 2), [6, 3], "float64")).map((o) => host(o));
  const b = madeApply(spec, refTree(q), x(), fromValues(randomInput(6, 3, 3), [6, 3], "float64")).map((o) => host(o));
  // outputs of degree > 1 move with the context; the degree-1 output has no hidden unit below it
  // (deg_out > deg_h ≥ 1 never holds), so it is the head bias alone — as in nflows
  for (let h = 0; h < 2; h++)
    for (let i = 0; i < 6 * 4; i++) {
      if (i % 4 === 0) assert.equal(a[h]![i], b[h]![i]);
      else assert.notEqual(a[h]![i], b[h]![i], `head ${h} element ${i} ignores the context`);
    }
  assert.throws(() => madeApply(spec, refTree(q), x()), ContextError);
  disposeTree(q);

  // nflows MAF(5), D = 64, H = 256, two feed-forward blocks: 905,600 parameters (CONFIGS.md §2)
  defaultDevice("wasm");
  const big = madeSpec({ dim: 64, hidden: [256, 256, 256], paramCount: 2 });
  const pb = madeInit(big, keyFromSeed(2), "float32");
  assert.equal(5 * countParams(pb), 905_600);
  disposeTree(pb);
});
