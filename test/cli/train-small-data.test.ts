// `nflow train` on a tiny table: an overfitting run ends as "stopped early" with exit 0 and its best
// model saved (not exit 4, "diverged"); --weight-decay reaches the optimiser (decoupled AdamW decay
// shrinks the parameters) and is validated.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sampleToy } from "../../src/data/toys.js";
import { loadModel } from "../../src/model/load.js";
import { treeLeaves } from "../../src/engine/tree.js";
import { nflowIn } from "../support/nflow-cli.js";

const dir = mkdtempSync(join(tmpdir(), "nflow-small-data-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const nflow = nflowIn(dir, 300_000);
const csv = join(dir, "m32.csv");
const rows = sampleToy("moons", 32, 3);
writeFileSync(csv, "a,b\n" + Array.from({ length: 32 }, (_, i) => `${rows[2 * i]},${rows[2 * i + 1]}`).join("\n") + "\n");

test("32 rows, a 4 × 64 × 64 realnvp: the run overfits, stops early with exit 0 and saves its best model", () => {
  const out = join(dir, "of.nflow");
  const r = nflow("train", "--data", csv, "--layers", "4", "--hidden", "64,64", "--steps", "3000", "--lr", "3e-3", "--batch", "24", "--val", "0.25", "--eval-every", "20", "--seed", "1", "--out", out, "--json");
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  assert.equal(result.stopReason, "early-stopped");
  assert.ok(result.steps < 3000 && result.bestStep > 0, JSON.stringify(result));
  assert.match(result.message, new RegExp(`the validation loss rose after step ${result.bestStep} .*overfits its training rows; returned the parameters of step ${result.bestStep}`));
  assert.equal(result.model, out);
  assert.ok(existsSync(out));
});

test("--weight-decay shrinks the parameters (decoupled decay), and a negative one is a usage error", async () => {
  const norm = async (path: string): Promise<number> => {
    const m = await loadModel(path);
    let s = 0;
    for (const leaf of treeLeaves(m.params)) for (const v of (await leaf.ref.data()) as Float32Array) s += v * v;
    m.dispose();
    return Math.sqrt(s);
  };
  const common = ["train", "--data", csv, "--layers", "2", "--hidden", "16", "--steps", "60", "--lr", "1e-2", "--eval-every", "20", "--val", "0", "--seed", "2"];
  const plain = join(dir, "wd0.nflow");
  const decayed = join(dir, "wd.nflow");
  assert.equal(nflow(...common, "--out", plain).code, 0);
  // λ = 5 at lr 1e-2: every step multiplies the parameters by 0.95 before the Adam update
  assert.equal(nflow(...common, "--weight-decay", "5", "--out", decayed).code, 0);
  const [a, b] = [await norm(plain), await norm(decayed)];
  assert.ok(b < 0.7 * a, `parameter norm with decay ${b}, without ${a}`);
  const bad = nflow(...common, "--weight-decay", "-1", "--out", join(dir, "bad.nflow"));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--weight-decay: expected a value ≥ 0, got -1/);
});
