// End to end through the real `nflow` entry point (src/cli/main.ts run by node with tsx, so no
// build is needed). Budgets are tiny: these tests check plumbing, exit codes and formats, not
// the quality of the fit.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nflowIn, type NflowRun } from "../support/nflow-cli.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
// tsx resolved from the project (the commands run in a temporary folder).
const dir = mkdtempSync(join(tmpdir(), "nflow-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

type Run = NflowRun;

const nflow = nflowIn(dir, 120_000);

/** Parses JSON lines; every line must be JSON. */
function jsonLines(text: string): Record<string, any>[] {
  return text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, any>);
}

function readCsv(path: string): { header: string[]; rows: number[][] } {
  const [head, ...lines] = readFileSync(path, "utf8").trim().split("\n");
  return { header: head!.split(","), rows: lines.map((l) => l.split(",").map(Number)) };
}

/** Asserts a failure: the exit code and exactly one stderr line `nflow: error: ...` matching `pattern`. */
function assertOneLineError(r: Run, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `one stderr line, got: ${r.stderr}`);
  assert.match(lines[0]!, /^nflow: error: /);
  assert.match(lines[0]!, pattern);
}

const model = join(dir, "moons.nflow");

test("nflow train → eval → sample → logprob → encode/decode → info on a toy", () => {
  const train = nflow("train", "--flow", "realnvp", "--data", "moons", "--n", "2000", "--steps", "100", "--layers", "2", "--hidden", "16,16", "--seed", "1", "--out", model, "--json");
  assert.equal(train.code, 0, train.stderr);
  const events = jsonLines(train.stdout);
  assert.ok(events.some((e) => e.event === "progress" && e.total === 100), "progress events");
  const result = events.at(-1)!;
  assert.equal(result.event, "result");
  assert.equal(result.ok, true);
  assert.equal(result.steps, 100);
  assert.equal(result.model, model);
  assert.ok(Number.isFinite(result.bestValidationLoss));
  assert.ok(existsSync(model));

  const ev = nflow("eval", "--model", model, "--data", "moons", "--n", "2000", "--json");
  assert.equal(ev.code, 0, ev.stderr);
  const e = jsonLines(ev.stdout).at(-1)!;
  assert.equal(e.n, 2000);
  assert.ok(Number.isFinite(e.nll) && Math.abs(e.nll + e.meanLogLikelihood) < 1e-12);
  assert.ok(Math.abs(e.entropy - 1.6747) < 0.01);
  assert.ok(Math.abs(e.klGap - (e.nll - e.entropy)) < 1e-12);
  assert.ok(e.klGap > -0.05, "KL ≥ 0 up to Monte Carlo error");
  const human = nflow("eval", "--model", model, "--data", "moons", "--n", "500");
  assert.equal(human.code, 0);
  assert.match(human.stdout, /NLL\s+\d+\.\d{4} nats/);
  assert.match(human.stdout, /KL gap/);
  assert.equal(human.stderr, "", "quiet when piped");

  const samples = join(dir, "s.csv");
  assert.equal(nflow("sample", "--model", model, "--n", "300", "--out", samples, "--seed", "3").code, 0);
  const s = readCsv(samples);
  assert.deepEqual(s.header, ["x1", "x2"]);
  assert.equal(s.rows.length, 300);
  assert.ok(s.rows.every((r) => r.length === 2 && r.every(Number.isFinite)));
  const again = nflow("sample", "--model", model, "--n", "300", "--out", "-", "--seed", "3");
  assert.equal(again.stdout, readFileSync(samples, "utf8"), "same seed, same samples (and --out - writes to stdout)");

  const lpPath = join(dir, "lp.csv");
  const lp = nflow("logprob", "--model", model, "--input", samples, "--out", lpPath, "--json");
  assert.equal(lp.code, 0, lp.stderr);
  const lpCsv = readCsv(lpPath);
  assert.deepEqual(lpCsv.header, ["log_prob"]);
  assert.equal(lpCsv.rows.length, 300);
  assert.ok(lpCsv.rows.every((r) => Number.isFinite(r[0])));
  const mean = lpCsv.rows.reduce((a, r) => a + r[0]!, 0) / 300;
  assert.ok(Math.abs(jsonLines(lp.stdout).at(-1)!.meanLogProb - mean) < 1e-9);

  const zPath = join(dir, "z.csv");
  const xPath = join(dir, "x.csv");
  assert.equal(nflow("encode", "--model", model, "--input", samples, "--out", zPath).code, 0);
  assert.deepEqual(readCsv(zPath).header, ["z1", "z2"]);
  assert.equal(nflow("decode", "--model", model, "--input", zPath, "--out", xPath).code, 0);
  const back = readCsv(xPath).rows;
  s.rows.forEach((r, i) => r.forEach((v, d) => assert.ok(Math.abs(back[i]![d]! - v) < 1e-3 * (1 + Math.abs(v)), `row ${i}`)));

  const info = nflow("info", "--model", model, "--json");
  assert.equal(info.code, 0, info.stderr);
  const i = jsonLines(info.stdout).at(-1)!;
  assert.equal(i.flow, "realnvp");
  assert.equal(i.layers, 2);
  assert.ok(i.parameterCount > 0);
  assert.equal(i.training.steps, 100);
  assert.equal(i.training.seed, 1);
  const infoText = nflow("info", "--model", model).stdout;
  assert.match(infoText, /affine-coupling/);
  assert.match(infoText, /parameters: [\d,]+ trainable/);
});

test("nflow: usage errors exit 2, bad input files exit 3, each with one line", () => {
  assertOneLineError(nflow("train", "--data", "moons", "--bogus", "1"), 2, /unknown flag --bogus/);
  assertOneLineError(nflow("train", "--data", "moons", "--steps", "many"), 2, /--steps: expected an integer/);
  assertOneLineError(nflow("train", "--flow", "glow", "--data", "moons"), 2, /--flow: expected one of nice, realnvp, maf, iaf/);
  assertOneLineError(nflow("frobnicate"), 2, /unknown command "frobnicate"/);
  assertOneLineError(nflow("train", "--data", join(dir, "nope.csv"), "--out", join(dir, "x.nflow")), 3, /nope\.csv: no such file, and not a toy name/);
  assertOneLineError(nflow("eval", "--model", join(dir, "missing.nflow"), "--data", "moons"), 3, /missing\.nflow: no such model file/);
  const junk = join(dir, "junk.nflow");
  writeFileSync(junk, "this is not a model");
  assertOneLineError(nflow("info", "--model", junk), 3, /junk\.nflow: .*(not a safetensors|truncated|corrupt)/);
  const wide = join(dir, "wide.csv");
  writeFileSync(wide, "a,b,c\n1,2,3\n4,5,6\n");
  if (existsSync(model)) assertOneLineError(nflow("logprob", "--model", model, "--input", wide, "--out", join(dir, "o.csv")), 3, /expected 2 columns/);
  const json = nflow("sample", "--model", join(dir, "missing.nflow"), "--out", join(dir, "o.csv"), "--json");
  assert.equal(json.code, 3);
  assert.deepEqual(Object.keys(jsonLines(json.stdout).at(-1)!).sort(), ["error", "event", "exitCode", "ok"]);
});

test("nflow: --help documents every flag with its default; --version", () => {
  const help = nflow("train", "--help");
  assert.equal(help.code, 0);
  for (const flag of ["--flow", "--data", "--layers", "--hidden", "--steps", "--epochs", "--batch", "--lr", "--val", "--patience", "--seed", "--dtype", "--context-column", "--out", "--json"])
    assert.match(help.stdout, new RegExp(`${flag}\\b`), flag);
  assert.match(help.stdout, /--batch <n>\s+minibatch size \(default: 256; images: nice 200, realnvp 64, maf\/iaf 128\)/);
  assert.match(help.stdout, /--lr <x>\s+Adam learning rate \(default: 0\.001\)/);
  const top = nflow("--help");
  assert.equal(top.code, 0);
  for (const c of ["train", "eval", "sample", "logprob", "encode", "decode", "info", "demo", "plot"]) assert.match(top.stdout, new RegExp(`\\n  ${c} `));
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
  assert.equal(nflow("--version").stdout.trim(), pkg.version);
});

test("nflow train on a CSV file standardises it; a run diverging from the start saves nothing and exits 4", () => {
  const csv = join(dir, "table.csv");
  const lines = ["height,weight"];
  // correlated columns: something a 1-layer MAF learns in 30 steps (a run that learns nothing exits 4)
  for (let i = 0; i < 400; i++) {
    const h = 170 + 10 * Math.sin(i * 1.7);
    lines.push(`${h},${70 + 0.7 * (h - 170) + 3 * Math.cos(i * 0.9)}`);
  }
  writeFileSync(csv, lines.join("\n") + "\n");
  const out = join(dir, "table.nflow");
  const r = nflow("train", "--flow", "maf", "--data", csv, "--steps", "30", "--lr", "1e-2", "--layers", "1", "--hidden", "8", "--out", out);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "", "no progress output when piped");
  assert.match(r.stdout, /saved .*table\.nflow/);
  const info = jsonLines(nflow("info", "--model", out, "--json").stdout).at(-1)!;
  assert.ok(info.preprocessing && Math.abs(info.preprocessing.mean[0] - 170) < 2, "standardised with the training rows");
  assert.deepEqual(info.data.columns, ["height", "weight"]);
  const s = join(dir, "table-samples.csv");
  assert.equal(nflow("sample", "--model", out, "--n", "10", "--out", s).code, 0);
  assert.deepEqual(readCsv(s).header, ["height", "weight"]);

  const diverged = join(dir, "diverged.nflow");
  const d = nflow("train", "--data", "moons", "--n", "500", "--steps", "20", "--layers", "1", "--hidden", "8", "--lr", "1e30", "--out", diverged);
  // (a run that diverges after improving keeps its best: test/cli/train-failures.test.ts)
  assertOneLineError(d, 4, /diverged at step \d+: .*Nothing was saved \(the best model is the untrained one\)\. Try a lower --lr/);
  assert.equal(existsSync(diverged), false, "no untrained model was written");
});

test("nflow eval on a data folder without a test part says so on stderr and evaluates every row", () => {
  const folder = join(root, "data", "old-faithful");
  const out = join(dir, "faithful.nflow");
  const t = nflow("train", "--flow", "maf", "--data", folder, "--steps", "30", "--layers", "2", "--hidden", "8", "--out", out);
  assert.equal(t.code, 0, t.stderr);
  const e = nflow("eval", "--model", out, "--data", folder);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stderr, /warning: .*old-faithful has no "test" part: evaluating on all its rows/);
  assert.match(e.stdout, /\(218 rows\)/);
});
