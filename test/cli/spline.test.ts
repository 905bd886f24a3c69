// `nflow train --transformer spline --bins K --bound B` end to end (src/cli/main.ts through tsx):
// the model file holds a spline flow that info describes, that encodes and decodes back, and that
// beats its own initial (identity) model on the toy; bad spline flags are one-line usage errors.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nflowIn } from "../support/nflow-cli.js";

const dir = mkdtempSync(join(tmpdir(), "nflow-spline-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const nflow = nflowIn(dir, 120_000);

const rows = (path: string): number[][] => readFileSync(path, "utf8").trim().split("\n").slice(1).map((l) => l.split(",").map(Number));

test("nflow train --transformer spline: a rational-quadratic spline coupling flow that trains, saves, describes itself and round-trips", () => {
  const model = join(dir, "spline.nflow");
  const train = nflow("train", "--flow", "realnvp", "--transformer", "spline", "--bins", "6", "--bound", "4", "--data", "8gaussians", "--n", "2000", "--steps", "150", "--layers", "2", "--hidden", "16,16", "--out", model, "--json");
  assert.equal(train.code, 0, train.stderr);
  const result = JSON.parse(train.stdout.trim().split("\n").at(-1)!) as Record<string, any>;
  assert.equal(result.ok, true);
  const info = nflow("info", "--model", model, "--json");
  assert.equal(info.code, 0, info.stderr);
  const meta = JSON.parse(info.stdout.trim().split("\n").at(-1)!) as Record<string, any>;
  const text = JSON.stringify(meta);
  assert.match(text, /"transformer":"spline"/);
  assert.match(text, /"bins":6/);
  assert.match(text, /"bound":4/);
  // validation NLL below the identity flow's (a standard normal on 8gaussians: ≈ 9.3 nats)
  assert.ok(result.bestValidationLoss < 8, `validation NLL ${result.bestValidationLoss}`);
  const samples = join(dir, "s.csv");
  assert.equal(nflow("sample", "--model", model, "--n", "200", "--out", samples, "--seed", "2").code, 0);
  const z = join(dir, "z.csv");
  const back = join(dir, "x.csv");
  assert.equal(nflow("encode", "--model", model, "--input", samples, "--out", z).code, 0);
  assert.equal(nflow("decode", "--model", model, "--input", z, "--out", back).code, 0);
  const a = rows(samples);
  const b = rows(back);
  assert.equal(b.length, 200);
  const err = Math.max(...a.flatMap((r, i) => r.map((v, d) => Math.abs(v - b[i]![d]!))));
  assert.ok(err < 1e-3, `x → z → x error ${err}`);
});

test("nflow train: spline flags are checked (one usage line, exit 2)", () => {
  for (const [args, pattern] of [
    [["--bins", "8"], /--bins: only with --transformer spline/],
    [["--transformer", "affine", "--bound", "2"], /--bound: only with --transformer spline/],
    [["--transformer", "spline", "--bins", "1"], /bins/],
    [["--transformer", "spline", "--bound", "0"], /--bound: expected a number > 0, got 0/],
    [["--transformer", "rqs"], /transformer/],
  ] as [string[], RegExp][]) {
    const r = nflow("train", "--data", "moons", "--steps", "1", "--out", join(dir, "x.nflow"), ...args);
    assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code} (${r.stderr})`);
    const lines = r.stderr.split("\n").filter(Boolean);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, pattern);
  }
});
