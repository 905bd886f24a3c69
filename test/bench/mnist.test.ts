import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findMnistDir, loadMnist, mnistLogit, MNIST_DIM, MNIST_LAMBDA } from "../../bench/mnist.js";
import { FileFormatError } from "../../src/engine/errors.js";

/** Writes 10 files of `perFile` images shaped as the npm package's (v = round(b/255, 3)); returns the bytes. */
function writeDigits(dir: string, perFile: number): Uint8Array {
  const all = new Uint8Array(10 * perFile * MNIST_DIM);
  for (let d = 0; d < 10; d++) {
    const data: number[] = [];
    for (let i = 0; i < perFile * MNIST_DIM; i++) {
      const b = (d * 37 + i * 11) % 256; // every byte value occurs
      all[d * perFile * MNIST_DIM + i] = b;
      data.push(Math.round((b / 255) * 1000) / 1000);
    }
    writeFileSync(join(dir, `${d}.json`), JSON.stringify({ data }));
  }
  return all;
}

test("loadMnist: bytes recovered exactly from 3-decimal values, files in order, test = rows with g mod 5 = 4", () => {
  const dir = mkdtempSync(join(tmpdir(), "mnist-"));
  try {
    const bytes = writeDigits(dir, 3);
    assert.equal(findMnistDir(dir), dir);
    const m = loadMnist(dir);
    assert.equal(m.n, 30);
    assert.deepEqual(m.counts, Array(10).fill(3));
    assert.deepEqual(m.images, bytes);
    assert.equal(m.sha256, createHash("sha256").update(bytes).digest("hex"));
    assert.equal(m.sha256Ok, false);
    assert.equal(m.nTest, 6);
    assert.equal(m.nTrain, 24);
    const row = (a: Uint8Array, i: number): Uint8Array => a.subarray(i * MNIST_DIM, (i + 1) * MNIST_DIM);
    [4, 9, 14, 19, 24, 29].forEach((g, i) => assert.deepEqual(row(m.test, i), row(bytes, g)));
    const trainRows = Array.from({ length: 30 }, (_, g) => g).filter((g) => g % 5 !== 4);
    trainRows.forEach((g, i) => assert.deepEqual(row(m.train, i), row(bytes, g)));
    writeFileSync(join(dir, "3.json"), JSON.stringify({ data: [0.5, 0.5] }));
    assert.throws(() => loadMnist(dir), FileFormatError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(findMnistDir(join(tmpdir(), "no-such-mnist-dir")), undefined);
});

test("mnistLogit: y = logit(λ + (1−2λ)(b+u)/256) and the log-Jacobian of x' → y", () => {
  const bytes = new Uint8Array(2 * MNIST_DIM);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 256;
  let k = 0;
  const us = Array.from({ length: 2 * MNIST_DIM }, (_, i) => ((i * 0.618) % 1));
  const { y, ldj } = mnistLogit(bytes, [1, 0], () => us[k++]!);
  const lam = MNIST_LAMBDA;
  let ldj0 = 0;
  for (let j = 0; j < MNIST_DIM; j++) {
    // row 0 of the output is image 1, drawn first
    const xp = (bytes[MNIST_DIM + j]! + us[j]!) / 256;
    const s = lam + (1 - 2 * lam) * xp;
    assert.ok(Math.abs(y[j]! - Math.log(s / (1 - s))) < 1e-12);
    // dy/dx' = (1 − 2λ)/(s(1 − s)), checked by a central difference
    const h = 1e-7;
    const f = (v: number): number => {
      const t = lam + (1 - 2 * lam) * v;
      return Math.log(t / (1 - t));
    };
    const fd = (f(xp + h) - f(xp - h)) / (2 * h);
    assert.ok(Math.abs(Math.log(fd) - Math.log((1 - 2 * lam) / (s * (1 - s)))) < 1e-5);
    ldj0 += Math.log(1 - 2 * lam) - Math.log(s) - Math.log(1 - s);
  }
  assert.ok(Math.abs(ldj[0]! - ldj0) < 1e-9 * Math.abs(ldj0));
  assert.equal(y.length, 2 * MNIST_DIM);
  assert.ok(y.every(Number.isFinite) && ldj.every(Number.isFinite));
});
