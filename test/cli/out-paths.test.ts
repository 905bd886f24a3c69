// `--out` never names the command's own input (issue 9, case 4): refused before any work, with
// one line and exit 2, and the input is left byte for byte as it was (symbolic links included).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nflowIn } from "../support/nflow-cli.js";

const dir = mkdtempSync(join(tmpdir(), "nflow-out-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const nflow = nflowIn(dir, 300_000);

test("--out naming an input is refused before any work; the input is unchanged", () => {
  const data = join(dir, "d.csv");
  writeFileSync(data, "a,b\n" + Array.from({ length: 50 }, (_, i) => `${Math.sin(i)},${Math.cos(i)}`).join("\n") + "\n");
  symlinkSync(data, join(dir, "link.csv"));
  const model = join(dir, "m.nflow");
  assert.equal(nflow("train", "--data", data, "--steps", "2", "--layers", "1", "--out", model).code, 0);
  const before = { data: readFileSync(data), model: readFileSync(model) };
  const cases: [string[], RegExp][] = [
    [["train", "--data", data, "--steps", "2", "--out", data], /--out .*d\.csv: is the command's own input \(--data\)/],
    [["train", "--data", join(dir, "link.csv"), "--steps", "2", "--out", data], /own input \(--data\)/],
    [["train", "--data", data, "--steps", "2", "--out", "d.csv"], /own input \(--data\)/],
    [["logprob", "--model", model, "--input", data, "--out", model], /own input \(--model\)/],
    [["encode", "--model", model, "--input", data, "--out", data], /own input \(--input\)/],
    [["sample", "--model", model, "--n", "3", "--out", model], /own input \(--model\)/],
    // refused before training, not after it
    [["train", "--data", data, "--steps", "2", "--out", ""], /--out: expected a file name, got an empty one/],
    [["train", "--data", data, "--steps", "2", "--epochs", "3", "--out", join(dir, "n.nflow")], /--steps and --epochs: give one of them/],
  ];
  for (const [args, pattern] of cases) {
    const r = nflow(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr.trim().split("\n").at(-1)!, pattern);
  }
  assert.deepEqual(readFileSync(data), before.data, "the data file is unchanged");
  assert.deepEqual(readFileSync(model), before.model, "the model file is unchanged");
});
