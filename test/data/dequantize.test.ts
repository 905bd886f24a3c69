import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultDevice, grad, np, type Array } from "../../src/engine/jax.js";
import { fromValues } from "../../src/engine/dtype.js";
import { hostRng } from "../../src/engine/random.js";
import { FileFormatError, ConfigError } from "../../src/engine/errors.js";
import { bitsPerDim, checkDequantization, checkLevels, dequantize, dequantizeSeeded, logitLogDet } from "../../src/data/dequantize.js";
import { Logit } from "../../src/bijectors/logit.js";
import { host } from "../support/checks.js";

test("dequantize: x = (b + u)/L lies in the bin [b/L, (b+1)/L), fresh noise per stream, fixed per seed", () => {
  const b = [0, 1, 127, 255, 255, 0];
  const x = dequantize(b, 256, hostRng(1));
  x.forEach((v, i) => assert.ok(v >= b[i]! / 256 && v < (b[i]! + 1) / 256, `${v} not in bin ${b[i]}`));
  assert.deepEqual(dequantizeSeeded(b, 256, 7), dequantizeSeeded(b, 256, 7));
  assert.notDeepEqual(dequantizeSeeded(b, 256, 7), dequantizeSeeded(b, 256, 8));
  assert.throws(() => checkLevels([0, 3.5], 256, 2, "d"), (e: Error) => e instanceof FileFormatError && /got 3.5 in row 0, column 1/.test(e.message));
  assert.throws(() => checkLevels([256], 256, 1, "d"), /0\.\.255/);
  assert.throws(() => checkDequantization({ kind: "uniform", levels: 1 }), ConfigError);
});

test("bits/dim = (NLL_x + D log 256)/(D ln 2): the hand-computed value, and never negative for a normalised density", () => {
  // the uniform density on [0,1]^D (log p = 0) puts probability 256^−D on every image: exactly 8 bits/dim
  assert.equal(bitsPerDim(0, 784, 256), 8);
  // fixture: D = 4, mean log-likelihood 10 nats → (−10 + 4·ln 256)/(4·ln 2) = 8 − 10/(4 ln 2)
  assert.ok(Math.abs(bitsPerDim(10, 4, 256) - (8 - 10 / (4 * Math.LN2))) < 1e-12);
  // fair 0/1 data (L = 2): the best density on [0,1]^D is uniform, log p = 0 → 1 bit/dim, the entropy
  assert.equal(bitsPerDim(0, 10, 2), 1);
  // a density on [0,1]^D bounds the discrete probability: ll ≤ D log L, so bits/dim ≥ 0
  assert.ok(bitsPerDim(784 * Math.log(256), 784, 256) === 0);
});

test("logitLogDet (host, float64) equals the Logit bijector's log-det and the log of its autodiff derivative", () => {
  defaultDevice("cpu");
  const alpha = 0.05;
  const xs = Array.from({ length: 130 }, (_, i) => (i + 0.5) / 130);
  const host64 = logitLogDet(xs, 1, 130, alpha);
  const r = new Logit({ dim: 130, alpha }).forward({}, fromValues(xs, [1, 130], "float64"));
  r.y.dispose();
  assert.ok(Math.abs(host(r.logDet)[0]! - host64[0]!) < 1e-10);
  // d/dx logit(α + (1−2α)x) by autodiff, elementwise, summed in log
  const f = (x: Array): Array => {
    const s = x.mul(np.array(new Float64Array([1 - 2 * alpha]))).add(np.array(new Float64Array([alpha])));
    return np.log(s.ref).sub(np.log1p(s.neg())).sum();
  };
  const g = host(grad(f)(fromValues(xs, [130], "float64")));
  const viaGrad = g.reduce((acc, v) => acc + Math.log(v), 0);
  assert.ok(Math.abs(viaGrad - host64[0]!) < 1e-9, `${viaGrad} vs ${host64[0]}`);
});
