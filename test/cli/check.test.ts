// `nflow check` end to end through src/cli/main.ts: the report and exit 0 on sound models (2-D with
// the grid integral, conditional), the JSON report, and exit 1 naming the failed checks on a model
// whose LU mixing layer is so ill-conditioned (diagonal e^±30 with a strict upper entry) that its
// float64 inverse loses every digit.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// the Node entry: FlowModel.save gets its file writer there
import { build, fit, fromValues, FlowModel, keyFromSeed, sampleToy, setPath, treePaths } from "../../src/index.js";
import { nflowIn } from "../support/nflow-cli.js";

const dir = mkdtempSync(join(tmpdir(), "nflow-check-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const nflow = nflowIn(dir, 300_000);

before(async () => {
  const moons = await fit({ flow: "realnvp", layers: 2, hidden: [8] }, { x: sampleToy("moons", 500, 0), n: 500, dim: 2 }, { steps: 20, evalEvery: 10 });
  await moons.save(join(dir, "moons.nflow"));
  moons.dispose();
  const n = 400;
  const x = sampleToy("moons", n, 1);
  const c = Float64Array.from({ length: n }, (_, i) => x[2 * i]! > 0.5 ? 1 : 0);
  const cond = await fit({ flow: "maf", layers: 2, hidden: [8] }, { x, n, dim: 2, context: c }, { steps: 20, evalEvery: 10 });
  await cond.save(join(dir, "cond.nflow"));
  cond.dispose();
  // an LU mixing layer with U = [[e^-30, 1], [0, e^30]]: invertible, but z1 = (x1 − z2)/e^-30 cancels catastrophically
  const { flow, config } = build({ flow: "realnvp", dim: 2, layers: 2, hidden: [4], permutation: "lu", dtype: "float64" });
  let p = flow.init(keyFromSeed(0), "float64");
  const paths = treePaths(p);
  const logDiag = paths.find((s) => s.endsWith("logDiag"))!;
  const upper = paths.find((s) => s.endsWith("upper"))!;
  p = setPath(p, logDiag, fromValues([-30, 30], [2], "float64"));
  p = setPath(p, upper, fromValues([0, 1, 0, 0], [2, 2], "float64"));
  const bad = new FlowModel(flow, p, { config, preprocessing: null, context: null, data: null, training: null });
  await bad.save(join(dir, "ill-conditioned.nflow"));
  bad.dispose();
});

test("nflow check: a sound 2-D model passes every check, ∫p = 1 included; --json gives the report", () => {
  const r = nflow("check", "--model", "moons.nflow");
  assert.equal(r.code, 0, r.stderr);
  for (const id of ["round-trip-zxz", "round-trip-xzx", "log-det-sum", "log-det-jacobian-forward", "log-det-jacobian-inverse", "log-prob-paths", "integral", "model-log-prob"])
    assert.match(r.stdout, new RegExp(`PASS  ${id}\\b`), `${id} in\n${r.stdout}`);
  assert.match(r.stdout, /params cast from float32/);
  assert.match(r.stdout, /all \d+ checks passed/);
  const j = nflow("check", "--model", "moons.nflow", "--json", "--points", "4");
  assert.equal(j.code, 0, j.stderr);
  const result = JSON.parse(j.stdout.trim().split("\n").at(-1)!);
  assert.equal(result.event, "result");
  assert.equal(result.ok, true);
  assert.equal(result.pass, true);
  assert.equal(result.points.z.length, 4);
  const integral = result.checks.find((c: { id: string }) => c.id === "integral");
  assert.ok(Math.abs(integral.figures.mass - 1) < 2e-3, `∫ p = ${integral.figures.mass}`);
});

test("nflow check: a conditional model passes, its MAF layers triangular", () => {
  const r = nflow("check", "--model", "cond.nflow", "--json");
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  assert.equal(result.contextDim, 1);
  assert.equal(result.checks.filter((c: { id: string; status: string }) => c.id === "triangular" && c.status === "pass").length, 4);
});

test("nflow check: an ill-conditioned model fails its round trips, exit 1, the failed checks named", () => {
  const r = nflow("check", "--model", "ill-conditioned.nflow");
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /FAIL  round-trip-zxz/);
  assert.match(r.stderr, /check\(s\) failed: .*round-trip-zxz/);
  const j = nflow("check", "--model", "ill-conditioned.nflow", "--json");
  assert.equal(j.code, 1);
  const result = JSON.parse(j.stdout.trim().split("\n").at(-1)!);
  assert.equal(result.ok, false);
  assert.equal(result.pass, false);
  assert.equal(result.exitCode, 1);
  // usage errors stay exit 2
  assert.equal(nflow("check").code, 2);
  assert.equal(nflow("check", "--model", "moons.nflow", "--jacobian", "sometimes").code, 2);
});
