// How `nflow train` ends when training does not go well (issue 9, cases 2 and 3, Ctrl-C): a blow-up
// that stays finite is caught, a failed run never replaces a file the user had (its best model goes
// beside it, or nothing is saved when the best is the untrained one), and Ctrl-C saves the best
// model so far and exits 130. Every case checks the exit code, the one-line message and the files.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nflowIn, type NflowRun } from "../support/nflow-cli.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const main = join(root, "src/cli/main.ts");
const tsx = import.meta.resolve("tsx");
const dir = mkdtempSync(join(tmpdir(), "nflow-train-fail-"));
after(() => rmSync(dir, { recursive: true, force: true }));

type Run = NflowRun;
const nflow = nflowIn(dir, 300_000);
const lastLine = (r: Run): string => r.stderr.trim().split("\n").at(-1)!;
const SMALL = ["--data", "moons", "--n", "500", "--layers", "2", "--hidden", "16"];

test("a finite blow-up is a divergence (exit 4), and an untrained best is not saved", () => {
  const out = join(dir, "lr10.nflow");
  // lr 10: the loss jumps by orders of magnitude and stays finite (this run used to exit 0, "completed")
  const r = nflow("train", ...SMALL, "--steps", "300", "--lr", "10", "--out", out);
  assert.equal(r.code, 4, r.stderr);
  assert.match(lastLine(r), /^nflow: error: training diverged at step \d+: .*far above the best .*Nothing was saved \(the best model is the untrained one\)\. Try a lower --lr \(e\.g\. 1\.0\), --clip-norm 5, --scale-bound 2 or --schedule cosine\.$/);
  assert.equal(existsSync(out), false, "no untrained model was written");
});

test("a run that diverges after improving saves its best beside an existing --out, which stays as it was (mode too)", () => {
  const out = join(dir, "good.nflow");
  const good = nflow("train", ...SMALL, "--steps", "60", "--lr", "1e-2", "--out", out);
  assert.equal(good.code, 0, good.stderr);
  chmodSync(out, 0o600);
  const before = readFileSync(out);
  // 30 good steps, then the step schedule multiplies the learning rate by 1e7
  const r = nflow("train", ...SMALL, "--steps", "200", "--lr", "1e-2", "--eval-every", "10", "--schedule", "step:30:1e7", "--out", out, "--json");
  assert.equal(r.code, 4, r.stderr);
  const beside = join(dir, "good.diverged.nflow");
  assert.match(lastLine(r), new RegExp(`training diverged at step \\d+: .*The best model \\(step (10|20|30)\\) was saved to ${beside.replace(/[.]/g, "\\.")}; ${out.replace(/[.]/g, "\\.")} was left as it was\\. Try a lower --lr`));
  assert.ok(readFileSync(out).equals(before), "the existing model is byte for byte the same");
  assert.equal(statSync(out).mode & 0o777, 0o600);
  const result = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { model: string; stopReason: string; bestStep: number };
  assert.equal(result.model, beside);
  assert.equal(result.stopReason, "diverged");
  const ev = nflow("eval", "--model", beside, "--data", "moons", "--n", "200", "--json");
  assert.equal(ev.code, 0, ev.stderr);
  assert.ok(Number.isFinite(JSON.parse(ev.stdout.trim().split("\n").at(-1)!).nll), "the saved best model evaluates to a finite NLL");
  // a second failure does not replace the first one's file either
  const again = nflow("train", ...SMALL, "--steps", "200", "--lr", "1e-2", "--eval-every", "10", "--schedule", "step:30:1e7", "--out", out);
  assert.equal(again.code, 4);
  assert.ok(existsSync(join(dir, "good.diverged-2.nflow")), lastLine(again));
});

test("no step improving on the initial parameters is a failure (exit 4), not 'completed'", () => {
  const out = join(dir, "tiny-lr.nflow");
  const r = nflow("train", ...SMALL, "--steps", "20", "--lr", "1e-30", "--out", out);
  assert.equal(r.code, 4, r.stderr);
  assert.match(lastLine(r), /no step improved on the initial parameters \(best validation NLL [\d.]+ at step 0, 20 steps\)\. Nothing was saved/);
  assert.equal(existsSync(out), false);
});

test("flags that cannot train are refused before any work", () => {
  const cases: [string[], RegExp][] = [
    [["--steps", "0"], /--steps: expected a value ≥ 1, got 0/],
    [["--schedule", "cosine:x"], /--schedule: expected constant, cosine, cosine:WARMUP, step:N or step:N:GAMMA, got "cosine:x"/],
    [["--schedule", "step:0"], /--schedule step:0: schedule step: everySteps must be an integer ≥ 1, got 0/],
    [["--clip-norm", "0"], /--clip-norm: expected a number > 0, got 0/],
    [["--scale-bound", "0"], /--scale-bound: expected a number > 0, got 0/],
  ];
  for (const [flags, pattern] of cases) {
    const r = nflow("train", ...SMALL, ...flags, "--out", join(dir, "never.nflow"));
    assert.equal(r.code, 2, `${flags.join(" ")}: ${r.stderr}`);
    assert.match(lastLine(r), pattern);
  }
  assert.equal(existsSync(join(dir, "never.nflow")), false);
});

test("--clip-norm, --scale-bound and --schedule reach the trainer and the model", () => {
  const out = join(dir, "knobs.nflow");
  const r = nflow("train", ...SMALL, "--steps", "30", "--clip-norm", "5", "--scale-bound", "1.5", "--schedule", "cosine:5", "--out", out);
  assert.equal(r.code, 0, r.stderr);
  const text = nflow("info", "--model", out);
  assert.match(text.stdout, /config estimate \(the limit check before any allocation\): ≤ [\d,]+ parameters, ≈ [\d.]+ KiB to train/);
  const info = JSON.parse(nflow("info", "--model", out, "--json").stdout.trim().split("\n").at(-1)!) as {
    config: { scaleBound: number };
    parameterCount: number;
    estimate: { parameters: number; trainingBytes: number };
  };
  assert.equal(info.config.scaleBound, 1.5);
  assert.ok(info.estimate.parameters >= info.parameterCount, "the estimate bounds the true count");
  assert.equal(info.estimate.trainingBytes, 16 * info.estimate.parameters, "float32: 4 copies × 4 bytes");
});

test("Ctrl-C stops training, saves the best model so far, says where, and exits 130", async () => {
  const out = join(dir, "interrupted.nflow");
  const child = spawn(process.execPath, ["--import", tsx, main, "train", ...SMALL, "--steps", "1000000", "--eval-every", "10", "--out", out, "--json"], {
    cwd: dir,
    env: { ...process.env, NFLOW_DEBUG: "" },
  });
  let stdout = "";
  let stderr = "";
  let sent = false;
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => {
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
      // after the first evaluation (step 10), so that a trained checkpoint exists
      if (!sent && /"event":"progress","label":"training"/.test(stdout)) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    child.on("exit", (c) => resolve(c));
  });
  assert.ok(sent, `progress events were seen: ${stdout.slice(0, 500)} ${stderr}`);
  assert.equal(code, 130, stderr);
  assert.match(stderr.trim().split("\n").at(-1)!, new RegExp(`training interrupted at step \\d+\\. The best model \\(step \\d+\\) was saved to ${out.replace(/[.]/g, "\\.")}\\.$`));
  assert.ok(existsSync(out));
  const info = JSON.parse(nflow("info", "--model", out, "--json").stdout.trim().split("\n").at(-1)!) as { training: { stopReason: string; bestStep: number } };
  assert.equal(info.training.stopReason, "aborted");
  assert.ok(info.training.bestStep > 0);
});

test("1-column data: the default flow is maf (a coupling needs two groups); an explicit coupling flow says why not", () => {
  const csv = join(dir, "one.csv");
  // a two-bump 1-D density: a mixture of N(0, 1) and N(5, 0.5²), values by a fixed quasi-random rule
  const values = Array.from({ length: 400 }, (_, i) => (i % 3 === 0 ? 5 + 0.5 * Math.sin(i * 12.9898) : 2 * Math.sin(i * 78.233)));
  writeFileSync(csv, "v\n" + values.join("\n") + "\n");
  const out = join(dir, "one.nflow");
  const r = nflow("train", "--data", csv, "--steps", "200", "--lr", "3e-3", "--out", out, "--json");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim().split("\n").at(-1)!).flow, "maf");
  const bad = nflow("train", "--flow", "realnvp", "--data", csv, "--steps", "5", "--out", join(dir, "one-bad.nflow"));
  assert.equal(bad.code, 2);
  assert.match(lastLine(bad), /dim: a realnvp coupling flow splits the dimensions into two groups and needs dim ≥ 2, got 1; use flow "maf" or "iaf" for 1-D data/);
});

test("--base, --mask, --permutation and --batch-norm reach the config; a bad --base is one usage line", () => {
  const out = join(dir, "arch.nflow");
  const r = nflow("train", ...SMALL, "--steps", "40", "--lr", "3e-3", "--base", "mog:3", "--mask", "alternating", "--permutation", "reverse", "--batch-norm", "--out", out);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(nflow("info", "--model", out, "--json").stdout.trim().split("\n").at(-1)!) as {
    config: { base: { kind: string; components: number }; mask: string; permutation: string; batchNorm: boolean };
  };
  assert.deepEqual(info.config.base, { kind: "mixture-of-gaussians", components: 3 });
  assert.equal(info.config.mask, "alternating");
  assert.equal(info.config.permutation, "reverse");
  assert.equal(info.config.batchNorm, true);
  for (const bad of ["mog", "mog:0", "gauss", "normal:2"]) {
    const b = nflow("train", ...SMALL, "--steps", "5", "--base", bad, "--out", join(dir, "never.nflow"));
    assert.equal(b.code, 2, bad);
    assert.match(lastLine(b), /--base: expected normal, diag-normal, logistic or mog:K/);
  }
});
