// `nflow demo` end to end through the real entry point, with a tiny budget: it checks that every
// promised file is written and that the summary reports the test NLL and the KL gap. The full
// default budget is run by hand (README: "nflow demo"); its timing is documented, not asserted.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pngSize } from "../plot/png.js";
import { nflowIn } from "../support/nflow-cli.js";

const dir = mkdtempSync(join(tmpdir(), "nflow-demo-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const nflow = nflowIn(dir, 180_000);

const PICTURES = ["data", "samples", "density", "layers", "loss", "change-of-variables", "density-steps"];

test("nflow demo writes every picture, the model and a summary with the NLL and KL gap", () => {
  const out = join(dir, "demo");
  const r = nflow("demo", "--steps", "60", "--n", "2000", "--layers", "4", "--hidden", "32,32", "--out", out, "--json");
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, any>);
  const result = lines.at(-1)!;
  assert.equal(result.event, "result");
  assert.equal(result.ok, true);
  assert.ok(lines.some((l) => l.event === "progress"), "progress events");
  for (const name of PICTURES) {
    const path = join(out, `${name}.png`);
    assert.equal(result.files[name], path);
    const { width, height } = pngSize(new Uint8Array(readFileSync(path)));
    assert.ok(width >= 700 && width <= 1100 && height >= 300, `${name}.png is ${width}×${height}`);
  }
  assert.ok(existsSync(join(out, "model.nflow")));
  const summary = readFileSync(join(out, "summary.md"), "utf8");
  const nll = /final test NLL[^|]*\| ([\d.]+) ± ([\d.]+) \|/.exec(summary);
  assert.ok(nll, `no NLL line in summary.md:\n${summary}`);
  assert.ok(Math.abs(Number(nll[1]) - result.testNll) < 1e-3);
  const kl = /KL gap[^|]*\| (-?[\d.]+) \|/.exec(summary);
  assert.ok(kl, "no KL line");
  // NLL − H(moons) with H = 1.6747: the gap is what the summary says it is.
  assert.ok(Math.abs(Number(kl[1]) - (Number(nll[1]) - 1.6747)) < 2e-4);
  for (const name of PICTURES) assert.match(summary, new RegExp(`\\*\\*${name}\\.png\\*\\*`));
});

test("nflow demo: a bad flag is one usage line with exit code 2", () => {
  const r = nflow("demo", "--data", "nosuchtoy");
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim(), /^nflow: error: --data: expected one of .*moons/);
});
