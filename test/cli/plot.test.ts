// `nflow plot` in-process on small models: every picture kind for a 2-D model, the pair plot and
// projected layers for D = 3, and the one-line errors for pictures that cannot be drawn.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../../src/cli/commands/plot.js";
import { fit } from "../../src/model/fit.js";
import { sampleToy } from "../../src/data/toys.js";
import { hostRng } from "../../src/engine/random.js";
import { decodePng } from "../../src/plot/node-canvas.js";
import { luminanceVariance, pngSize } from "../plot/png.js";

const dir = mkdtempSync(join(tmpdir(), "nflow-plot-"));
const m2 = join(dir, "moons.nflow");
const m3 = join(dir, "three.nflow");

before(async () => {
  const moons = await fit({ flow: "realnvp", layers: 2, hidden: [16] }, { x: sampleToy("moons", 1000, 0), n: 1000, dim: 2 }, { steps: 30, evalEvery: 10, standardize: false, source: "moons" });
  await moons.save(m2);
  moons.dispose();
  const u = hostRng(1);
  const x = Float64Array.from({ length: 3 * 600 }, (_, k) => (k % 3 === 2 ? 5 : 1) * (u() - 0.5));
  const three = await fit({ flow: "maf", layers: 2, hidden: [16] }, { x, n: 600, dim: 3 }, { steps: 10 });
  await three.save(m3);
  three.dispose();
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function picture(path: string): Promise<{ width: number; height: number; variance: number }> {
  const bytes = new Uint8Array(readFileSync(path));
  const size = pngSize(bytes);
  return { ...size, variance: luminanceVariance(await decodePng(bytes)) };
}

test("nflow plot density|samples|layers|loss for a 2-D model", async () => {
  for (const kind of ["density", "samples", "layers", "loss"]) {
    const out = join(dir, `${kind}.png`);
    const code = await run([kind, "--model", m2, "--data", "moons", "--n", "300", "--out", out]);
    assert.equal(code, 0, kind);
    const p = await picture(out);
    assert.ok(p.width >= 700 && p.height >= 300, `${kind}: ${p.width}×${p.height}`);
    assert.ok(p.variance > 200, `${kind}: blank picture (variance ${p.variance})`);
  }
});

test("nflow plot for D = 3: a pair plot of --dims, and the layers of two dimensions", async () => {
  const out = join(dir, "pairs.png");
  assert.equal(await run(["samples", "--model", m3, "--dims", "0,2", "--n", "200", "--out", out]), 0);
  assert.ok((await picture(out)).variance > 200);
  assert.equal(await run(["layers", "--model", m3, "--dims", "1,2", "--n", "200", "--out", join(dir, "layers3.png")]), 0);
});

test("nflow plot refuses what it cannot draw, with usage exit codes", async () => {
  assert.equal(await run(["density", "--model", m3, "--out", join(dir, "d3.png")]), 2, "density of a 3-D model");
  assert.equal(await run(["samples", "--model", m3, "--dims", "0,3", "--out", join(dir, "x.png")]), 2, "dimension out of range");
  assert.equal(await run(["bogus", "--model", m2]), 2, "unknown picture");
  assert.equal(await run(["density", "--model", m2, "--out", join(dir, "x.jpg")]), 2, "not a .png");
  assert.equal(await run(["density", "--model", join(dir, "missing.nflow"), "--out", join(dir, "x.png")]), 3, "missing model");
  assert.equal(await run(["samples", "--model", m2, "--data", "8gaussians", "--out", join(dir, "x.png")]), 0, "another toy as data still draws");
});

test("nflow plot draws a conditional model at --context, and asks for one without it", async () => {
  // x | c ~ N((3c, 0), 0.3² I): the density picture must move with the context
  const u = hostRng(7);
  const n = 800;
  const c = Float64Array.from({ length: n }, (_, i) => (i % 2 === 0 ? -1 : 1));
  const x = Float64Array.from({ length: 2 * n }, (_, k) => (k % 2 === 0 ? 3 * c[k >> 1]! : 0) + 0.3 * (u() + u() + u() - 1.5));
  const model = await fit({ flow: "maf", layers: 2, hidden: [16] }, { x, n, dim: 2, context: c }, { steps: 150, lr: 3e-3, evalEvery: 50, columns: ["x1", "x2"], contextColumns: ["c"] });
  const path = join(dir, "cond.nflow");
  await model.save(path);
  model.dispose();
  const draw = async (context: string, file: string): Promise<Uint8Array> => {
    assert.equal(await run(["density", "--model", path, "--context", context, "--out", join(dir, file)]), 0);
    return new Uint8Array(readFileSync(join(dir, file)));
  };
  const left = await draw("-1", "left.png");
  const right = await draw("1", "right.png");
  const again = await draw("-1", "left-again.png");
  assert.deepEqual(again, left, "the same context draws the same picture");
  assert.notDeepEqual(left, right, "another context draws another density");
  for (const kind of ["samples", "layers"]) assert.equal(await run([kind, "--model", path, "--context", "1", "--out", join(dir, `c-${kind}.png`)]), 0);
  // a table with the context column beside x: the model's stored context column is not drawn as x
  const csv = join(dir, "cond.csv");
  writeFileSync(csv, "x1,x2,c\n" + Array.from({ length: n }, (_, i) => `${x[2 * i]},${x[2 * i + 1]},${c[i]}`).join("\n") + "\n");
  assert.equal(await run(["samples", "--model", path, "--context", "1", "--data", csv, "--out", join(dir, "c-data.png")]), 0);
  assert.equal(await run(["density", "--model", path, "--out", join(dir, "no-context.png")]), 2, "a conditional model needs --context");
  assert.equal(await run(["density", "--model", path, "--context", "1,2", "--out", join(dir, "two.png")]), 2, "K values, not more");
  assert.equal(await run(["density", "--model", m2, "--context", "1", "--out", join(dir, "uncond.png")]), 2, "an unconditional model takes no context");
});
