// `nflow vi` end to end through the real entry point: a built-in target and a user module, the
// result read back by eval / sample / plot, and one-line errors with their exit codes. Budgets
// are tiny; the estimates are checked against the known log Z with their own standard errors.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nflowIn, type NflowRun } from "../support/nflow-cli.js";

const dir = mkdtempSync(join(tmpdir(), "nflow-vi-"));
after(() => rmSync(dir, { recursive: true, force: true }));

type Run = NflowRun;

const nflow = nflowIn(dir, 120_000);

function result(r: Run): Record<string, any> {
  const last = r.stdout.trim().split("\n").at(-1)!;
  const o = JSON.parse(last) as Record<string, any>;
  assert.equal(o.event, "result");
  return o;
}

function assertOneLineError(r: Run, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `one stderr line, got: ${r.stderr}`);
  assert.match(lines[0]!, /^nflow: error: /);
  assert.match(lines[0]!, pattern);
}

const SMALL = ["--layers", "2", "--hidden", "16,16", "--lr", "3e-3", "--samples", "4000"];

test("nflow vi --target mixture, then eval prints log Z ± SE beside the true log Z; sample and plot density work on q", () => {
  const q = join(dir, "q.nflow");
  const vi = nflow("vi", "--target", "mixture", "--steps", "250", ...SMALL, "--out", q, "--json");
  assert.equal(vi.code, 0, vi.stderr);
  const r = result(vi);
  assert.equal(r.target, "mixture");
  assert.ok(existsSync(q));
  const ev = nflow("eval", "--model", q, "--json", "--n", "8000", "--seed", "5");
  assert.equal(ev.code, 0, ev.stderr);
  const e = result(ev);
  assert.equal(e.fresh, true);
  assert.equal(e.samples, 8000);
  assert.ok(Math.abs(e.trueLogZ - Math.log(3)) < 1e-12);
  assert.ok(Math.abs(e.logZ - e.trueLogZ) < 4 * e.logZStdErr + 1e-3, `log Z ${e.logZ} ± ${e.logZStdErr} vs ${e.trueLogZ}`);
  assert.ok(e.elbo < e.trueLogZ + 3 * e.elboStdErr, `ELBO ${e.elbo}`);
  assert.ok(e.ess > 0 && e.ess <= 8000 && e.essFraction > 0.3);
  const human = nflow("eval", "--model", q);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /log Z \(importance\)\s+\S+ ± \S+/);
  assert.match(human.stdout, /true log Z\s+1\.0986 \(exact\)/);
  const samples = join(dir, "s.csv");
  assert.equal(nflow("sample", "--model", q, "--n", "50", "--out", samples).code, 0);
  assert.equal(readFileSync(samples, "utf8").trim().split("\n").length, 51);
  const png = join(dir, "d.png");
  const plot = nflow("plot", "density", "--model", q, "--out", png);
  assert.equal(plot.code, 0, plot.stderr);
  assert.ok(existsSync(png));
});

test("nflow vi --target file.mjs: a user module written with the array API it receives", () => {
  const file = join(dir, "gauss.mjs");
  writeFileSync(
    file,
    [
      "export const logZ = 3 + Math.log(2 * Math.PI);",
      "export function logDensity(x, { columns }) {",
      "  const [a, b] = columns(x);",
      "  const u = a.sub(1).mul(2);",
      "  const w = b.add(1).mul(0.5);",
      "  return u.mul(u.ref).add(w.mul(w.ref)).mul(-0.5).add(3);",
      "}",
    ].join("\n"),
  );
  const q = join(dir, "g.nflow");
  const vi = nflow("vi", "--target", "./gauss.mjs", "--steps", "150", ...SMALL, "--out", q, "--json");
  assert.equal(vi.code, 0, vi.stderr);
  const r = result(vi);
  assert.equal(r.target, "./gauss.mjs");
  assert.ok(Math.abs(r.logZ - r.trueLogZ) < 4 * r.logZStdErr + 1e-3, `log Z ${r.logZ} ± ${r.logZStdErr} vs ${r.trueLogZ}`);
  const ev = result(nflow("eval", "--model", q, "--json", "--n", "2000"));
  assert.equal(ev.fresh, true);
  assert.equal(ev.target, "./gauss.mjs");
});

test("nflow vi: bad targets and dimensions are one-line errors (2: usage, 3: bad module or values); eval needs --data for a data model", () => {
  const write = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return `./${name}`;
  };
  const out = ["--steps", "5", "--out", join(dir, "bad.nflow")];
  assertOneLineError(nflow("vi", "--target", "mixtrue", ...out), 2, /unknown target "mixtrue" \(did you mean mixture\?\)/);
  assertOneLineError(nflow("vi", "--target", "./nowhere.mjs", ...out), 3, /nowhere\.mjs: no such file/);
  assertOneLineError(nflow("vi", "--target", write("none.mjs", "export const dim = 2;\n"), ...out), 3, /exports no logDensity function/);
  // plain numbers work (host target) but must be numbers: log of a negative one is NaN
  assertOneLineError(nflow("vi", "--target", write("plain.mjs", "export function logDensity(x) { return Math.log(x[0] - 5); }\n"), ...out), 3, /plain\.mjs: logDensity returned NaN/);
  assertOneLineError(nflow("vi", "--target", write("nan.mjs", "export function logDensity(x, { np }) { return np.log(x.sum(1)); }\n"), ...out), 3, /logDensity returned NaN at row \d+/);
  assertOneLineError(nflow("vi", "--target", write("shape.mjs", "export function logDensity(x) { return x.mul(2); }\n"), ...out), 3, /must return shape \[8\].*got \[8, 2\]/);
  assertOneLineError(nflow("vi", "--target", write("syntax.mjs", "export function logDensity(x) { return x.mul(2; }\n"), ...out), 3, /syntax\.mjs: the module could not be loaded/);
  assertOneLineError(nflow("vi", "--target", "mixture", "--dim", "3", ...out), 2, /--dim 3: the built-in target mixture is 2-dimensional/);
  assertOneLineError(nflow("vi", "--target", write("dim2.mjs", "export const dim = 2;\nexport function logDensity(x) { return x.sum(1); }\n"), "--dim", "3", ...out), 3, /exports dim 2, but dimension 3 was asked for/);
  assert.ok(!existsSync(join(dir, "bad.nflow")));
  const data = join(dir, "m.nflow");
  assert.equal(nflow("train", "--data", "moons", "--n", "500", "--steps", "20", "--layers", "2", "--hidden", "8", "--out", data).code, 0);
  assertOneLineError(nflow("eval", "--model", data), 2, /--data is required/);
});

test("nflow vi: a run whose loss is not finite stops with exit 4 and leaves an existing --out as it was", () => {
  // log p̃ = −∞ on half the plane: the first batch's −ELBO is +∞
  const target = join(dir, "half.mjs");
  writeFileSync(target, "export function logDensity(x, { np, columns }) { const [a, b] = columns(x); return np.where(np.greater(a, 0), b.mul(0), -Infinity); }\n");
  const q = join(dir, "keep.nflow");
  writeFileSync(q, "precious");
  const r = nflow("vi", "--target", "./half.mjs", "--steps", "20", ...SMALL, "--out", q);
  assertOneLineError(r, 4, /diverged at step 1: the training loss became non-finite.*Nothing was saved.*was left as it was/);
  assert.equal(readFileSync(q, "utf8"), "precious");
});
