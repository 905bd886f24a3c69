// `nflow info` and `nflow plot density` on models from variational inference: info prints the target
// and the ELBO / log Ẑ / ESS (not an NLL over 0 training rows), in text and JSON; the density
// picture draws the target's p̃/Z beside q on one colour scale, normalised by the true log Z or
// else by the stored log Ẑ, and draws q alone, with a warning, when a module target has moved.
// The models are tiny fits made in-process; the commands run through the real entry point.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fitVariationalModel, type VariationalConfig } from "../../src/model/variational.js";
import { loadTargetModule } from "../../src/targets/module.js";
import { builtinTarget } from "../../src/targets/builtin.js";
import { hostTarget } from "../../src/targets/target.js";
import { targetDensity, targetLogDensity } from "../../src/cli/variational-target.js";
import type { ReferenceDensity } from "../../src/cli/pictures.js";
import type { VariationalRecord } from "../../src/io/model-format.js";
import { decodePng } from "../../src/plot/node-canvas.js";
import { run as plot } from "../../src/cli/commands/plot.js";
import { luminance, pngSize, type Pixels } from "../plot/png.js";
import { gridPoints } from "../support/grid.js";
import { nflowIn, type NflowRun } from "../support/nflow-cli.js";

const dir = mkdtempSync(join(tmpdir(), "nflow-vi-info-"));
const mixture = join(dir, "mixture.nflow");
const gauss = join(dir, "gauss.nflow");
// log p̃ = 3 − ½(u² + w²), u = 2(a − 1), w = (b + 1)/2, without a logZ export: log Z unknown to nflow
const GAUSS = [
  "export function logDensity(x, { columns }) {",
  "  const [a, b] = columns(x);",
  "  const u = a.sub(1).mul(2);",
  "  const w = b.add(1).mul(0.5);",
  "  return u.mul(u.ref).add(w.mul(w.ref)).mul(-0.5).add(3);",
  "}",
].join("\n");
const TINY: VariationalConfig = { flow: "iaf", layers: 2, hidden: [8, 8] };
const BUDGET = { steps: 60, batchSize: 128, lr: 3e-3, estimateSamples: 1000, seed: 0 };

before(async () => {
  const q = await fitVariationalModel(TINY, "mixture", BUDGET);
  await q.save(mixture);
  q.dispose();
  writeFileSync(join(dir, "gauss.mjs"), GAUSS);
  const g = await fitVariationalModel(TINY, await loadTargetModule(join(dir, "gauss.mjs")), { ...BUDGET, targetPath: "./gauss.mjs" });
  await g.save(gauss);
  g.dispose();
});
after(() => rmSync(dir, { recursive: true, force: true }));

type Run = NflowRun;

const nflow = nflowIn(dir, 120_000);

function result(r: Run): Record<string, any> {
  assert.equal(r.code, 0, r.stderr);
  const o = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, any>;
  assert.equal(o.event, "result");
  return o;
}

/** Mean luminance and its variance over the middle of panel i of k (the heat map, no titles or ticks). */
function panelStats(p: Pixels, i: number, k: number): { values: number[]; variance: number } {
  const pw = (p.width - 96) / k;
  const values: number[] = [];
  for (let y = Math.round(0.3 * p.height); y < 0.7 * p.height; y += 2)
    for (let x = Math.round(i * pw + 0.3 * pw); x < i * pw + 0.7 * pw; x += 2) values.push(luminance(p, x, y));
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return { values, variance: values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length };
}

async function pixels(path: string): Promise<Pixels> {
  const bytes = new Uint8Array(readFileSync(path));
  pngSize(bytes);
  return decodePng(bytes);
}

test("nflow info on a model from nflow vi prints the target and its estimates, not an NLL over training rows", () => {
  const text = nflow("info", "--model", mixture);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /variational inference: q fitted to the built-in target mixture \(2-D: three Gaussians/);
  assert.match(text.stdout, /60 steps in \S+ s \(completed\), seed 0, 128 samples of q per step, lr 0\.003; best ELBO -?\d+\.\d{4} nats at step \d+/);
  assert.match(text.stdout, /ELBO\s+-?\d+\.\d{4} ± \d+\.\d{4} nats \(1000 samples of q\)/);
  assert.match(text.stdout, /log Z \(importance\)\s+-?\d+\.\d{4} ± \d+\.\d{4}/);
  assert.match(text.stdout, /true log Z\s+1\.0986 \(exact\)/);
  assert.match(text.stdout, /ESS\s+\d+\.\d of 1000 \(\d+\.\d%\)/);
  assert.doesNotMatch(text.stdout, /training rows|NLL|^data:/m);

  const info = result(nflow("info", "--model", mixture, "--json"));
  const v = info.variational;
  const rec = info.training.variational as VariationalRecord;
  assert.deepEqual(
    { target: v.target, targetKind: v.targetKind, dim: v.dim, steps: v.steps, samples: v.samples, samplesPerStep: v.samplesPerStep, trueLogZMethod: v.trueLogZMethod },
    { target: "mixture", targetKind: "builtin", dim: 2, steps: 60, samples: 1000, samplesPerStep: 128, trueLogZMethod: "exact" },
  );
  assert.ok(Math.abs(v.trueLogZ - Math.log(3)) < 1e-12);
  for (const k of ["elbo", "elboStdErr", "logZ", "logZStdErr", "ess", "essFraction"] as const) assert.equal(v[k], rec[k], k);
  assert.ok(v.ess >= 1 && v.ess <= 1000 && Math.abs(v.essFraction - v.ess / 1000) < 1e-12);
  // the ELBO is a lower bound: below the true log Z (beyond a few SE would be a bug)
  assert.ok(v.elbo < v.trueLogZ + 4 * v.elboStdErr, `ELBO ${v.elbo} ± ${v.elboStdErr}`);

  // a module target whose log Z is unknown: named by its path, no true log Z
  const g = result(nflow("info", "--model", gauss, "--json")).variational;
  assert.equal(g.target, "./gauss.mjs");
  assert.equal(g.targetKind, "module");
  assert.equal(g.trueLogZ, null);
  const gt = nflow("info", "--model", gauss);
  assert.match(gt.stdout, /q fitted to the target module \.\/gauss\.mjs \(2-D\)/);
  assert.doesNotMatch(gt.stdout, /true log Z/);
});

test("nflow plot density on a model from nflow vi draws the target beside q, on one colour scale", async () => {
  const png = join(dir, "mixture.png");
  const r = result(nflow("plot", "density", "--model", mixture, "--out", png, "--json"));
  assert.equal(r.out, png);
  const p = await pixels(png);
  assert.equal(p.width, Math.max(800, 2 * 450 + 96), "two panels");
  const target = panelStats(p, 0, 2);
  const q = panelStats(p, 1, 2);
  assert.ok(target.variance > 100, `target panel not blank (luminance variance ${target.variance})`);
  assert.ok(q.variance > 20, `q panel not blank (luminance variance ${q.variance})`);
  const diff = target.values.reduce((s, t, k) => s + Math.abs(t - q.values[k]!), 0) / target.values.length;
  assert.ok(diff > 3, `target and a 60-step q differ (mean |Δ luminance| ${diff})`);
  // the loss curve of a variational fit is −ELBO (with −log Z as its floor), drawn in-process
  const loss = join(dir, "loss.png");
  assert.equal(await plot(["loss", "--model", mixture, "--out", loss]), 0);
  assert.ok(pngSize(new Uint8Array(readFileSync(loss))).width > 0);
});

test("the target panel's density integrates to one with the true log Z, and to Z/Ẑ with the stored estimate", () => {
  const { pts, cellArea } = gridPoints({ box: [-6, 6, -6, 6], points: 240, dtype: "float32" });
  const mass = (ref: ReferenceDensity | { missing: string }): number => {
    assert.ok(!("missing" in ref));
    const lp = ref.logDensity(pts) as Float64Array;
    return lp.reduce((s, v) => s + Math.exp(v), 0) * cellArea;
  };
  const rec: VariationalRecord = {
    target: "mixture",
    targetKind: "builtin",
    trueLogZ: Math.log(3),
    trueLogZMethod: "exact",
    samplesPerStep: 128,
    samples: 1000,
    elbo: 1,
    elboStdErr: 0.01,
    logZ: 1.05,
    logZStdErr: 0.01,
    ess: 900,
    essFraction: 0.9,
  };
  const known = targetDensity(builtinTarget("mixture"), rec);
  assert.ok(Math.abs(mass(known) - 1) < 2e-3, `∫ p = ${mass(known)}`);
  assert.match((known as ReferenceDensity).title, /target mixture: p̃\/Z, true log Z = 1\.0986/);
  assert.deepEqual((known as ReferenceDensity).bounds, builtinTarget("mixture").bounds);
  const estimated = targetDensity(builtinTarget("mixture"), { ...rec, trueLogZ: null, trueLogZMethod: null });
  assert.ok(Math.abs(mass(estimated) - Math.exp(Math.log(3) - 1.05)) < 2e-3, `∫ p̃/Ẑ = ${mass(estimated)}`);
  assert.match((estimated as ReferenceDensity).title, /p̃\/Ẑ, estimated log Ẑ = 1\.0500/);
  assert.ok("missing" in targetDensity(builtinTarget("mixture"), { ...rec, trueLogZ: null, trueLogZMethod: null, logZ: null }));
  // a target of plain numbers is evaluated row by row to the same values
  const mix = builtinTarget("mixture");
  const few = pts.subarray(0, 2 * 50);
  const host = hostTarget("rows", 2, (x) => targetLogDensity(mix, Float64Array.from(x))[0]!);
  const a = targetLogDensity(mix, few);
  const b = targetLogDensity(host, few);
  for (let i = 0; i < 50; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-6);
});

test("nflow plot density on a module target: beside q while the module is there, q alone with a warning once it has moved", async () => {
  const here = join(dir, "gauss-here.png");
  const r = nflow("plot", "density", "--model", gauss, "--out", here);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /warning/);
  assert.equal((await pixels(here)).width, 2 * 450 + 96, "target and q");
  renameSync(join(dir, "gauss.mjs"), join(dir, "moved.mjs"));
  const gone = join(dir, "gauss-gone.png");
  const m = nflow("plot", "density", "--model", gauss, "--out", gone);
  assert.equal(m.code, 0, m.stderr);
  assert.deepEqual(m.stderr.split("\n").filter((l) => l !== ""), ["nflow: warning: ./gauss.mjs: the target module is not there any more: drawing q alone"]);
  assert.ok(existsSync(gone));
  const p = await pixels(gone);
  assert.equal(p.width, 800, "q alone");
  assert.ok(panelStats(p, 0, 1).variance > 20, "q drawn");
  assert.match(nflow("info", "--model", gauss).stdout, /\.\/gauss\.mjs \(2-D; not found from this directory\)/);
});
