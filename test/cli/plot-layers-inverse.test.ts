// `nflow plot layers --direction inverse`: the normalising direction x → x̃ → z(L−1) → … → z(0).
// The panels' points must be the flow's own intermediate variables of the inverse pass, computed
// here independently (standardise by hand, Flow.inverse with intermediates), not only pixels.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inverseLayersStages, run } from "../../src/cli/commands/plot.js";
import { fit } from "../../src/model/fit.js";
import type { FlowModel } from "../../src/model/model.js";
import { hostRng } from "../../src/engine/random.js";
import { fromValues } from "../../src/engine/dtype.js";
import { refTree } from "../../src/engine/tree.js";
import { decodePng } from "../../src/plot/node-canvas.js";
import { luminanceVariance, pngSize } from "../plot/png.js";

const dir = mkdtempSync(join(tmpdir(), "nflow-plot-inverse-"));
const path = join(dir, "three.nflow");
const csv = join(dir, "three.csv");
let model: FlowModel;
const n = 300;
const D = 3;
let x: Float64Array;

before(async () => {
  const u = hostRng(3);
  x = Float64Array.from({ length: D * n }, (_, k) => (k % 3 === 2 ? 5 : 2) * (u() - 0.5) + (k % 3) * 3);
  // standardised (the default) so that the first step is x → x̃; a permutation between the MAF layers
  model = await fit({ flow: "maf", layers: 3, hidden: [16] }, { x, n, dim: D }, { steps: 20, evalEvery: 10 });
  await model.save(path);
  writeFileSync(csv, ["a,b,c", ...Array.from({ length: n }, (_, i) => [x[3 * i], x[3 * i + 1], x[3 * i + 2]].join(","))].join("\n"));
});
after(() => {
  model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test("the inverse-direction panels hold x, x̃ and every intermediate z(l) of Flow.inverse, in that order, ending at encode(x)", () => {
  assert.ok(model.preprocessing, "the test model standardises its data");
  const dims = [2, 0];
  const st = inverseLayersStages(model, x, dims);
  // independent: x̃ = (x − μ)/σ by hand, then the Flow's own intermediates of the inverse pass
  const pre = model.preprocessing!;
  const xt = Float64Array.from(x, (v, k) => (v - pre.mean[k % D]!) / pre.std[k % D]!);
  const r = model.flow.inverse(refTree(model.params), fromValues(xt, [n, D], model.dtype), undefined, { intermediates: true });
  r.y.dispose();
  r.logDet.dispose();
  const inter = r.intermediates!.map((a) => Array.from(a.dataSync() as ArrayLike<number>));
  assert.equal(st.stages.length, inter.length + 1, "x, then x̃ = intermediates[0] … z(0) = intermediates[L]");
  assert.ok(inter.length >= 4, `3 MAF layers and their permutations: ${inter.length - 1} steps`);
  assert.deepEqual(st.dims, [2, 0]);
  const project = (rows: ArrayLike<number>) => Float64Array.from({ length: 2 * n }, (_, k) => rows[Math.floor(k / 2) * D + dims[k % 2]!]!);
  const close = (a: Float64Array, b: Float64Array, what: string) => {
    const err = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    assert.ok(err < 1e-4, `${what}: max difference ${err}`);
  };
  close(st.stages[0]!, project(x), "panel 0 = x (data units)");
  inter.forEach((z, l) => close(st.stages[l + 1]!, project(z), `panel ${l + 1} = intermediate ${l} of the inverse pass`));
  // the last panel is the code z = g(x̃), what encode returns
  const codes = model.encode(x).flat();
  close(st.stages.at(-1)!, project(codes), "last panel = encode(x)");
  // the layers move the points (a permutation alone may leave the two shown dimensions unchanged)
  const moves = st.stages.slice(1).filter((stage, s) => stage.some((v, i) => Math.abs(v - st.stages[s]![i]!) > 1e-6)).length;
  assert.ok(moves >= 3, `only ${moves} of ${st.stages.length - 1} steps move the shown points`);
  assert.equal(st.labels[0], "x (data units)");
  assert.equal(st.labels.at(-1), "z = z(0) = g(x)");
  assert.equal(st.lineStages.length, st.stages.length);
  assert.equal(st.lineStages[0]!.length, 2 * 7 * 2 * st.pointsPerLine, "7 + 7 grid lines drawn in x");
});

test("nflow plot layers --direction inverse draws the data's normalising pass; --direction elsewhere is a usage error", async () => {
  const out = join(dir, "inverse.png");
  assert.equal(await run(["layers", "--model", path, "--data", csv, "--direction", "inverse", "--dims", "0,2", "--n", "200", "--out", out]), 0);
  const bytes = new Uint8Array(readFileSync(out));
  const size = pngSize(bytes);
  assert.ok(size.width >= 700 && size.height >= 300, `${size.width}×${size.height}`);
  assert.ok(luminanceVariance(await decodePng(bytes)) > 200, "blank picture");
  // without --data: model samples
  assert.equal(await run(["layers", "--model", path, "--direction", "inverse", "--n", "100", "--out", join(dir, "inverse-samples.png")]), 0);
  assert.equal(await run(["samples", "--model", path, "--direction", "inverse", "--out", join(dir, "s.png")]), 2);
  assert.equal(await run(["layers", "--model", path, "--direction", "sideways", "--out", join(dir, "s.png")]), 2);
});
