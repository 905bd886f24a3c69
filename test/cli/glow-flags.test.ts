// nflow train --actnorm and --mixing (Glow's layers, docs/glow.md) end to end through the real
// entry point: the model file holds the layers and the initialised ActNorms, info names them, and
// --mixing that disagrees with --permutation, or actnorm on nice, is one line with exit 2.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadModel } from "../../src/model/load.js";
import { dataInitializedLayers } from "../../src/distributions/data-init.js";
import { build } from "../../src/flows/build.js";
import { getPath } from "../../src/engine/tree.js";
import { nflowIn } from "../support/nflow-cli.js";

const dir = mkdtempSync(join(tmpdir(), "nflow-glow-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const nflow = nflowIn(dir, 120_000);

test("nflow train --actnorm --mixing lu: saved with initialised ActNorms and LU layers; info says so", async () => {
  const out = join(dir, "glow.nflow");
  const r = nflow("train", "--data", "moons", "--n", "1000", "--steps", "20", "--layers", "3", "--hidden", "8", "--actnorm", "--mixing", "lu", "--out", out);
  assert.equal(r.code, 0, r.stderr);
  const model = await loadModel(out);
  try {
    assert.equal(model.config.actnorm, true);
    assert.equal(model.config.permutation, "lu");
    const { flow } = build(model.config);
    const layers = dataInitializedLayers(flow);
    assert.equal(layers.length, 3);
    for (const l of layers) assert.deepEqual(Array.from(getPath(model.params, `${l}.initialized`).ref.dataSync()), [1]);
  } finally {
    model.dispose();
  }
  const info = nflow("info", "--model", out);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /actnorm/);
  assert.match(info.stdout, /LU linear mixing/);
});

test("--mixing that disagrees with --permutation, and --actnorm on nice: one line, exit 2", () => {
  for (const args of [["--mixing", "lu", "--permutation", "reverse"], ["--flow", "nice", "--actnorm"], ["--mixing", "shuffle"]]) {
    const r = nflow("train", "--data", "moons", "--steps", "2", "--out", join(dir, "x.nflow"), ...args);
    assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code} (${r.stderr})`);
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^nflow: error: .*(mixing|actnorm)/);
  }
});
