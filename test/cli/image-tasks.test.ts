// The image commands end to end on tiny 28×28 models trained here on the 100 shipped test digits:
// nflow inpaint, interpolate, sample --grid and demo images, and their one-line errors (exit 2 for
// a bad command line or an unsuitable model). Plumbing and behaviour, not quality.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodePng } from "../../src/plot/node-canvas.js";
import { nflowIn } from "../support/nflow-cli.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "nflow-image-tasks-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const digits = join(root, "models/t10k-0-99-images-idx3-ubyte.gz");

const nflow = nflowIn(dir, 300_000);
const lastJson = (text: string): Record<string, any> => JSON.parse(text.trim().split("\n").at(-1)!) as Record<string, any>;
const path = (name: string): string => join(dir, name);

before(() => {
  const common = ["--data", digits, "--val", "0.2", "--json"];
  for (const args of [
    ["--flow", "nice", "--layers", "2", "--hidden", "8", "--steps", "5", "--batch", "20", "--out", path("nice.nflow")],
    ["--flow", "realnvp", "--layers", "1", "--hidden", "2", "--steps", "2", "--batch", "8", "--out", path("realnvp.nflow")],
    ["--flow", "maf", "--context-column", "label", "--layers", "1", "--hidden", "8", "--steps", "3", "--batch", "20", "--out", path("maf.nflow")],
  ]) {
    const r = nflow("train", ...args, ...common);
    assert.equal(r.code, 0, r.stderr);
  }
  const t = nflow("train", "--flow", "realnvp", "--data", "moons", "--steps", "2", "--layers", "1", "--out", path("moons.nflow"));
  assert.equal(t.code, 0, t.stderr);
});

test("nflow inpaint: per-mask PSNR and log p (MAP and mean, next to the mean fill), and the picture", async () => {
  const r = nflow("inpaint", "--model", path("nice.nflow"), "--data", digits, "--images", "0-2", "--mask", "top,odd", "--method", "both", "--steps", "20", "--burn-in", "5", "--samples", "5", "--out", path("inpaint.png"), "--json");
  assert.equal(r.code, 0, r.stderr);
  const j = lastJson(r.stdout);
  assert.deepEqual(j.images, [0, 1, 2]);
  assert.deepEqual(j.masks.map((m: any) => m.mask), ["top", "odd"]);
  for (const m of j.masks) {
    for (const k of ["psnrMap", "psnrMean", "psnrMeanFill", "psnrStart", "logProbStart", "logProbMap", "logProbMean", "logProbMeanFill", "logProbOriginal"]) assert.ok(Number.isFinite(m[k]), `${m.mask}.${k} = ${m[k]}`);
    assert.ok(m.logProbMap > m.logProbStart, "the ascent raised log p");
  }
  assert.match(j.meanImage, /all 100 images: it has no training part/);
  const png = await decodePng(readFileSync(path("inpaint.png")));
  assert.ok(png.width > 3 * 28 && png.height > 8 * 28, `${png.width}×${png.height}: 2 masks × 4 rows of 3 digits`);
});

test("nflow interpolate: the corners decode to the four test images", () => {
  const r = nflow("interpolate", "--model", path("realnvp.nflow"), "--data", digits, "--images", "0,1,2,3", "--grid", "3", "--out", path("interp.png"), "--json");
  assert.equal(r.code, 0, r.stderr);
  const j = lastJson(r.stdout);
  assert.equal(j.grid, 3);
  assert.ok(j.cornerMaxAbsError < 1e-4, `corner error ${j.cornerMaxAbsError}`);
  const s = nflow("interpolate", "--model", path("realnvp.nflow"), "--seed", "3", "--grid", "2", "--out", path("interp-seed.png"), "--json");
  assert.equal(s.code, 0, s.stderr);
  assert.match(lastJson(s.stdout).corners, /four samples \(seed 3\)/);
});

test("nflow sample --grid: image grids, one row per class for a class-conditional model", async () => {
  const a = nflow("sample", "--model", path("nice.nflow"), "--grid", "2x3", "--temperature", "0.8", "--out", path("grid.png"), "--json");
  assert.equal(a.code, 0, a.stderr);
  assert.deepEqual([lastJson(a.stdout).rows, lastJson(a.stdout).cols], [2, 3]);
  const b = nflow("sample", "--model", path("maf.nflow"), "--labels", "all", "--grid", "10x2", "--out", path("classes.png"), "--json");
  assert.equal(b.code, 0, b.stderr);
  const png = await decodePng(readFileSync(path("classes.png")));
  assert.ok(png.height > 10 * 28, "ten rows");
  const c = nflow("sample", "--model", path("maf.nflow"), "--label", "7", "--grid", "1x2", "--out", path("sevens.png"));
  assert.equal(c.code, 0, c.stderr);
  // CSV sampling still works, and takes the temperature
  const d = nflow("sample", "--model", path("moons.nflow"), "--n", "5", "--temperature", "0.5", "--out", path("s.csv"));
  assert.equal(d.code, 0, d.stderr);
});

test("image commands: bad input gives one line and exit code 2", () => {
  const cases: [string[], RegExp][] = [
    [["inpaint", "--model", path("moons.nflow"), "--out", path("x.png")], /not an image model/],
    [["inpaint", "--model", path("maf.nflow"), "--data", digits, "--out", path("x.png")], /conditional.*unconditional image model/],
    [["inpaint", "--model", path("nice.nflow"), "--data", digits, "--mask", "middle", "--out", path("x.png")], /--mask: unknown mask "middle"/],
    [["inpaint", "--model", path("nice.nflow"), "--data", digits, "--images", "100", "--out", path("x.png")], /image 100 does not exist.*0\.\.99/],
    [["inpaint", "--model", path("nice.nflow"), "--data", digits, "--out", path("x.jpg")], /PNG files/],
    [["interpolate", "--model", path("realnvp.nflow"), "--data", digits, "--images", "0,1,2"], /expected four images/],
    [["interpolate", "--model", path("realnvp.nflow"), "--grid", "40"], /--grid/],
    [["sample", "--model", path("maf.nflow"), "--label", "12", "--out", path("x.png")], /class 12 does not exist.*0\.\.9/],
    [["sample", "--model", path("maf.nflow"), "--out", path("x.png")], /class-conditional.*--label k/],
    [["sample", "--model", path("nice.nflow"), "--label", "1", "--out", path("x.png")], /not class-conditional/],
    [["sample", "--model", path("nice.nflow"), "--grid", "40x40", "--out", path("x.png")], /--grid: expected ROWSxCOLUMNS with 1\.\.32/],
    [["sample", "--model", path("maf.nflow"), "--labels", "all", "--grid", "3x2", "--out", path("x.png")], /one row per class, so 10 rows/],
    [["sample", "--model", path("moons.nflow"), "--grid", "2x2", "--out", path("x.png")], /not an image model/],
    [["sample", "--model", path("moons.nflow"), "--grid", "2x2", "--out", path("x.csv")], /only for image grids/],
  ];
  for (const [args, pattern] of cases) {
    const r = nflow(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
    const lines = r.stderr.trim().split("\n").filter((l) => l.startsWith("nflow: error"));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, pattern);
  }
});

test("nflow demo images: every picture and summary.md from a models folder", () => {
  const models = path("models");
  mkdirSync(models);
  copyFileSync(path("nice.nflow"), join(models, "mnist-nice.nflow"));
  copyFileSync(path("realnvp.nflow"), join(models, "mnist-realnvp.nflow"));
  copyFileSync(path("maf.nflow"), join(models, "mnist-maf-conditional.nflow"));
  copyFileSync(digits, join(models, "t10k-0-99-images-idx3-ubyte.gz"));
  copyFileSync(digits.replace("images-idx3", "labels-idx1"), join(models, "t10k-0-99-labels-idx1-ubyte.gz"));
  const r = nflow("demo", "images", "--models", models, "--digits", "2", "--out", path("demo"), "--json");
  assert.equal(r.code, 0, r.stderr);
  const j = lastJson(r.stdout);
  for (const f of ["inpainting", "samples", "interpolation", "classes", "summary"]) assert.ok(existsSync(j.files[f]), f);
  assert.equal(j.inpainting.length, 10);
  assert.match(readFileSync(j.files.summary, "utf8"), /\| top rows \|/);
  const missing = nflow("demo", "images", "--models", dir, "--out", path("demo2"));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no mnist-nice\.nflow there/);
});
