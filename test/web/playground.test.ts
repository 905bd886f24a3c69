// The playground in a real browser: Debian's chromium, headless, driven by playwright-core. The
// test builds the page (Vite, web/), serves it from a tiny static server on localhost and checks
// what a user sees: no console error, training on moons runs and the loss falls, the density is
// drawn, an exported model loads in Node with the page's log-densities, and WebGPU (SwiftShader's
// software adapter) trains and evaluates like wasm. Screenshots: test-output/playground*.png.
// .ci/run installs chromium; without it (a developer machine) the test skips and says so.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FlowModel } from "../../src/model/model.js";
import { sampleToy } from "../../src/data/toys.js";
import { buildSite, launch, open, outDir, serve, skipWithoutChromium as skip, WEBGPU_FLAGS, type Browser, type Page } from "./browser.js";

const siteDir = join(outDir, "web-dist");
const POINTS = [[0, 0.5], [1, 0], [-1, 0.3], [0.5, -0.3], [2, 0.4], [1.5, -0.5], [-0.5, 0.9], [3, 3]];

type Hook = {
  device: string;
  state(): string;
  steps(): number;
  stepsPerSec(): number;
  losses(): { train: number[]; val: number[] };
  logProb(points: number[][]): Promise<number[]>;
  syncLogProbError(): string;
  drawn(): Promise<void>;
};
declare const playground: Hook;

/** Step from idle: one evaluation interval of `every` steps, then paused; the losses and log p there. */
async function firstInterval(page: Page, every: number): Promise<{ losses: { train: number[]; val: number[] }; lp: number[] }> {
  await page.fill("#eval-every", String(every));
  await page.click("#step");
  await page.waitForFunction(() => playground.state() === "paused", undefined, { timeout: 120_000 });
  assert.equal(await page.evaluate(() => playground.steps()), every);
  return { losses: await page.evaluate(() => playground.losses()), lp: await page.evaluate((p) => playground.logProb(p), POINTS) };
}

test("playground in Chromium: trains on moons (wasm) with falling loss, draws, exports a model Node reads; WebGPU agrees with wasm", { skip, timeout: 600_000 }, async () => {
  buildSite(siteDir);

  const { server, url } = await serve(siteDir);
  const launched: { browser: Browser; profile: string }[] = [];
  try {
    // ---- wasm
    const wasm = await launch([]);
    launched.push(wasm);
    // from disk, with no server at all
    const fromDisk = await open(wasm.browser, `file://${join(siteDir, "index.html")}?device=wasm`);
    assert.deepEqual(fromDisk.errors, [], "no console error from file://");
    await fromDisk.page.close();

    const { page, errors } = await open(wasm.browser, `${url}?device=wasm`);
    assert.equal(await page.evaluate(() => playground.device), "wasm");
    assert.match((await page.textContent("#device")) ?? "", /Device: wasm/);
    const wasmFirst = await firstInterval(page, 10);
    assert.equal(await page.evaluate(() => playground.syncLogProbError()), "", "wasm reads synchronously");

    await page.click("#train");
    await page.waitForFunction(() => playground.steps() >= 300, undefined, { timeout: 300_000 });
    await page.click("#pause");
    await page.waitForFunction(() => playground.state() === "paused", undefined, { timeout: 60_000 });
    const steps = await page.evaluate(() => playground.steps());
    const rate = await page.evaluate(() => playground.stepsPerSec());
    const { train, val } = await page.evaluate(() => playground.losses());
    // the first two evaluations against the median of the last five (one noisy window is not the trend)
    const head = train.slice(0, 2).reduce((a, b) => a + b, 0) / 2;
    const tail = train.slice(-5).sort((a, b) => a - b)[2]!;
    assert.ok(tail < head - 0.3, `the training loss falls: ${head.toFixed(3)} → ${tail.toFixed(3)} (median of the last five) over ${steps} steps`);
    const valTail = val.slice(-5).sort((a, b) => a - b)[2]!;
    assert.ok(valTail < val[0]! - 0.3, `the validation loss falls: ${val[0]!.toFixed(3)} → ${valTail.toFixed(3)} (median of the last five)`);
    assert.match((await page.textContent("#device")) ?? "", /\d+(\.\d)? steps\/s/);

    // the density heat map is drawn (many colours), not a blank canvas
    const colours = await page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>("#density canvas")!;
      const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set<number>();
      for (let i = 0; i < d.length; i += 4 * 7) seen.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
      return seen.size;
    });
    assert.ok(colours > 100, `density canvas has ${colours} colours`);
    for (const id of ["#loss", "#samples", "#layers-view"]) assert.equal(await page.locator(`${id} canvas`).count(), 1, `${id} is drawn`);

    // the layer slider: every stage draws, in both directions
    const max = Number(await page.getAttribute("#layer-slider", "max"));
    assert.ok(max >= 4, `stages z(0) … x: ${max + 1}`);
    await page.fill("#layer-slider", "0");
    await page.selectOption("#layer-direction", "inverse");
    await page.waitForFunction(() => document.querySelector("#layers-view canvas") !== null);

    // the exported file is the CLI's model file: Node reads it and gets the page's log p
    const lpPage = await page.evaluate((p) => playground.logProb(p), POINTS);
    const download = page.waitForEvent("download");
    await page.click("#export");
    const file = await (await download).path();
    const model = FlowModel.fromBytes(new Uint8Array(readFileSync(file)), "exported");
    try {
      const lpNode = model.logProb(POINTS);
      for (let i = 0; i < POINTS.length; i++)
        assert.ok(Math.abs(lpNode[i]! - lpPage[i]!) <= 1e-5 * Math.max(1, Math.abs(lpPage[i]!)), `log p(${POINTS[i]}): Node ${lpNode[i]} vs page ${lpPage[i]}`);
      assert.equal(model.config.flow, "realnvp");
    } finally {
      model.dispose();
    }

    // the lesson: a zero determinant is explained, not an error
    const entries = page.locator("input.matrix-entry");
    for (const [i, v] of [1, 2, 2, 4].entries()) {
      await entries.nth(i).fill(String(v));
      await entries.nth(i).dispatchEvent("change");
    }
    assert.equal(await page.getAttribute("#cov-note", "data-kind"), "zero");
    await entries.nth(3).fill("-1");
    await entries.nth(3).dispatchEvent("change");
    assert.equal(await page.getAttribute("#cov-note", "data-kind"), "negative");
    await page.click("#cov-reset");

    // the picture: z → x, half way through the layers
    await page.selectOption("#layer-direction", "forward");
    await page.evaluate(() => playground.drawn());
    await page.fill("#layer-slider", String(Math.round(max / 2)));
    await page.screenshot({ path: join(outDir, "playground.png"), fullPage: true });
    // importing the file back: the same model, drawn; its record's loss curve shown
    await page.setInputFiles("#import", file);
    await page.waitForFunction(() => /^imported/.test(document.querySelector("#status")?.textContent ?? ""), undefined, { timeout: 60_000 });
    const lpImported = await page.evaluate((p) => playground.logProb(p), POINTS);
    lpImported.forEach((v, i) => assert.ok(Math.abs(v - lpPage[i]!) <= 1e-6 * Math.max(1, Math.abs(v)), `imported log p(${POINTS[i]}): ${v} vs ${lpPage[i]}`));

    // a CSV file as data
    const csv = join(outDir, "points.csv");
    const toy = sampleToy("8gaussians", 300, 5);
    writeFileSync(csv, `x,y\n${Array.from({ length: 300 }, (_, i) => `${toy[2 * i]},${toy[2 * i + 1]}`).join("\n")}\n`);
    await page.selectOption("#data-source", "csv");
    await page.setInputFiles("#csv-input", csv);
    await page.waitForFunction(() => /^300 points · points\.csv/.test(document.querySelector("#data-note")?.textContent ?? ""), undefined, { timeout: 30_000 });

    assert.deepEqual(errors, [], "no console error");
    console.log(`# wasm: ${steps} steps, ${rate.toFixed(0)} steps/s, loss ${head.toFixed(3)} → ${tail.toFixed(3)}`);

    // ---- WebGPU on SwiftShader: the first interval agrees with wasm's to float32 tolerance
    const gpu = await launch(WEBGPU_FLAGS);
    launched.push(gpu);
    const g = await open(gpu.browser, `${url}?device=webgpu`);
    assert.equal(await g.page.evaluate(() => playground.device), "webgpu", "SwiftShader's WebGPU adapter was picked");
    const gpuFirst = await firstInterval(g.page, 10);
    assert.match(await g.page.evaluate(() => playground.syncLogProbError()), /^logProb: the webgpu device cannot read results synchronously; use await model\.logProbAsync/);
    const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 2e-4 * Math.max(1, Math.abs(b)), `${what}: webgpu ${a} vs wasm ${b}`);
    close(gpuFirst.losses.train[0]!, wasmFirst.losses.train[0]!, "mean training loss of steps 1–10");
    close(gpuFirst.losses.val.at(-1)!, wasmFirst.losses.val.at(-1)!, "validation loss at step 10");
    gpuFirst.lp.forEach((v, i) => close(v, wasmFirst.lp[i]!, `log p(${POINTS[i]}) at step 10`));
    const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(1, Math.abs(b));
    const gap = Math.max(...gpuFirst.lp.map((v, i) => rel(v, wasmFirst.lp[i]!)), rel(gpuFirst.losses.train[0]!, wasmFirst.losses.train[0]!));
    const gpuRate = await g.page.evaluate(() => playground.stepsPerSec());
    await g.page.screenshot({ path: join(outDir, "playground-webgpu.png"), fullPage: true });
    assert.deepEqual(g.errors, [], "no console error on WebGPU");
    console.log(`# webgpu (SwiftShader): ${gpuRate.toFixed(1)} steps/s; largest relative |webgpu − wasm| after 10 steps: ${gap.toExponential(2)}`);
  } finally {
    for (const l of launched) {
      await l.browser.close();
      rmSync(l.profile, { recursive: true, force: true });
    }
    server.close();
  }
});
