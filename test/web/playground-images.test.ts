// The playground's Images panel in a real browser (Debian's chromium, headless, wasm): the page
// opened from file:// says why it cannot fetch the shipped model; served over http it fetches
// the shipped RealNVP (./models/mnist-realnvp.nflow), a digit is drawn and a region hidden with
// the mouse, then a shipped test digit under a mask is inpainted by the library's MAP ascent (a
// few steps): observed pixels unchanged, hidden ones in [0, 1], log p higher than at the start;
// a long ascent leaves the page responsive and Stop ends it; the shipped NICE inpaints on WebGPU
// (SwiftShader) with wasm's log p to float32 tolerance.
// Screenshot: test-output/playground-images.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { inpaintingMask } from "../../src/tasks/inpainting-masks.js";
import { buildSite, launch, open, outDir, root, serve, skipWithoutChromium as skip, WEBGPU_FLAGS, type Browser, type Page } from "./browser.js";

const siteDir = join(outDir, "web-dist-images");
const STEPS = 8;

type Outcome = { original: number[]; hidden: number[]; restored: number[]; logProbStart: number; logProbEnd: number; logProbOriginal: number; ms: number; msPerStep: number };
declare const playground: { images: { state(): string; model(): string; digit(): { bytes: number[]; hidden: number[] }; outcome(): Outcome | undefined } };

/** A mouse stroke across the 28×28 editor, from grid point a to b (column, row). */
async function stroke(page: Page, a: [number, number], b: [number, number]): Promise<void> {
  const box = (await page.locator("#digit-editor canvas").boundingBox())!;
  const at = ([c, r]: [number, number]): [number, number] => [box.x + (c / 28) * box.width, box.y + (r / 28) * box.height];
  await page.mouse.move(...at(a));
  await page.mouse.down();
  for (let t = 1; t <= 8; t++) await page.mouse.move(...at([a[0] + ((b[0] - a[0]) * t) / 8, a[1] + ((b[1] - a[1]) * t) / 8]));
  await page.mouse.up();
}

test("playground Images in Chromium: the shipped RealNVP inpaints a test digit under a mask (observed pixels kept, log p up); NICE on WebGPU agrees with wasm", { skip, timeout: 300_000 }, async () => {
  buildSite(siteDir);
  for (const f of ["mnist-realnvp.nflow", "mnist-nice.nflow"])
    assert.deepEqual(readFileSync(join(siteDir, "models", f)), readFileSync(join(root, "models", f)), `the site ships models/${f}`);
  const { server, url } = await serve(siteDir);
  let launched: { browser: Browser; profile: string } | undefined;
  let gpu: { browser: Browser; profile: string } | undefined;
  try {
    launched = await launch([]);
    // from disk: no fetch, and the page says so and what to do
    const disk = await open(launched.browser, `file://${join(siteDir, "index.html")}?device=wasm`);
    await disk.page.click("#image-load");
    await disk.page.waitForFunction(() => document.querySelector("#image-model-note")?.getAttribute("data-kind") === "error");
    assert.match((await disk.page.textContent("#image-model-note"))!, /could not fetch models\/mnist-nice\.nflow.*file:\/\/ cannot fetch files.*Model file/);
    await disk.page.close();

    const { page, errors } = await open(launched.browser, `${url}?device=wasm`);
    await page.selectOption("#image-model", "realnvp");
    await page.click("#image-load");
    await page.waitForFunction(() => playground.images.state() === "ready", undefined, { timeout: 60_000 });
    assert.equal(await page.evaluate(() => playground.images.model()), "mnist-realnvp.nflow");

    // the mouse: a stroke of ink on a cleared grid, then a brush stroke hides pixels
    await page.click("#digit-clear");
    await stroke(page, [8, 6], [20, 22]);
    const drawn = await page.evaluate(() => playground.images.digit());
    const inked = drawn.bytes.filter((b) => b > 0).length;
    assert.ok(inked > 20 && inked < 200, `a stroke inks some pixels: ${inked}`);
    assert.equal(drawn.bytes[27], 0, "far from the stroke: no ink");
    await page.click("#mask-clear");
    await page.check("input[name='digit-tool'][value='hide']");
    await stroke(page, [2, 14], [26, 14]);
    const painted = (await page.evaluate(() => playground.images.digit())).hidden;
    const n = painted.reduce((s, h) => s + h, 0);
    assert.ok(n > 50 && n < 400, `the brush hides a band: ${n} pixels`);
    assert.equal(painted[14 * 28 + 14], 1, "under the brush: hidden");
    assert.equal(painted[0], 0, "far from the brush: observed");
    assert.equal(await page.inputValue("#mask-pattern"), "painted");

    // a shipped test digit under the library's "bottom" mask, inpainted
    await page.selectOption("#digit-pick", "3");
    await page.selectOption("#mask-pattern", "bottom");
    await page.fill("#inpaint-steps", String(STEPS));
    await page.click("#inpaint");
    await page.waitForFunction(() => playground.images.outcome() !== undefined && playground.images.state() === "ready", undefined, { timeout: 240_000 });
    const o = (await page.evaluate(() => playground.images.outcome()))!;

    const idx = gunzipSync(readFileSync(join(root, "models/t10k-0-99-images-idx3-ubyte.gz")));
    const truth = Array.from(idx.subarray(16 + 3 * 784, 16 + 4 * 784), (b) => (b + 0.5) / 256);
    assert.deepEqual(o.original, truth, "the page's test digit 3 is the file's, as (b + ½)/256");
    assert.deepEqual(o.hidden, Array.from(inpaintingMask("bottom", [1, 28, 28], 1)), "the library's bottom mask");
    let moved = 0;
    for (let i = 0; i < 784; i++) {
      if (!o.hidden[i]) assert.equal(o.restored[i], o.original[i], `observed pixel ${i} unchanged`);
      else {
        assert.ok(o.restored[i]! >= 0 && o.restored[i]! <= 1, `hidden pixel ${i} in [0, 1]: ${o.restored[i]}`);
        if (Math.abs(o.restored[i]! - 0.5) > 1e-3) moved++;
      }
    }
    assert.ok(moved > 100, `the ascent moved the hidden pixels: ${moved} of 392`);
    assert.ok(o.logProbEnd > o.logProbStart + 10, `log p rose: ${o.logProbStart} → ${o.logProbEnd}`);
    assert.match((await page.textContent("#inpaint-status"))!, /^log p: .* → .* after 8 steps/);
    assert.equal(await page.locator("#inpaint-result canvas").count(), 1, "original / masked / restored drawn");
    await page.locator("#images").screenshot({ path: join(outDir, "playground-images.png") });

    // a long ascent leaves the page responsive (progress is drawn while it runs) and Stop ends it
    await page.fill("#inpaint-steps", "5000");
    await page.click("#inpaint");
    const progress = (): Promise<number> => page.evaluate(() => document.querySelector<HTMLProgressElement>("#inpaint-progress")!.value);
    await page.waitForFunction(() => document.querySelector<HTMLProgressElement>("#inpaint-progress")!.value > 0, undefined, { timeout: 120_000 });
    const p1 = await progress();
    await page.waitForTimeout(1000);
    const p2 = await progress();
    assert.ok(p2 > p1, `the progress bar moves while the ascent runs: ${p1} → ${p2}`);
    await page.click("#inpaint-stop");
    await page.waitForFunction(() => playground.images.state() === "ready", undefined, { timeout: 30_000 });
    assert.match((await page.textContent("#inpaint-status"))!, /^stopped/);
    assert.ok((await progress()) < 0.5, "stopped early");
    console.log(`# inpainting (RealNVP, wasm, ${STEPS} steps): ${(o.ms / 1000).toFixed(1)} s in all, ${o.msPerStep.toFixed(0)} ms per step after the first; log p ${o.logProbStart.toFixed(1)} → ${o.logProbEnd.toFixed(1)} (the digit: ${o.logProbOriginal.toFixed(1)})`);

    // the shipped NICE, three steps, on wasm and then on WebGPU (SwiftShader): inpaint reads only asynchronously
    const nice = async (p: Page): Promise<Outcome> => {
      await p.selectOption("#image-model", "nice");
      await p.selectOption("#digit-pick", "0");
      await p.selectOption("#mask-pattern", "top");
      await p.fill("#inpaint-steps", "3");
      const before = await p.evaluate(() => playground.images.outcome()?.ms);
      await p.click("#inpaint");
      await p.waitForFunction((b) => playground.images.state() === "ready" && playground.images.outcome()?.ms !== b, before, { timeout: 180_000 });
      return (await p.evaluate(() => playground.images.outcome()))!;
    };
    const onWasm = await nice(page);
    assert.ok(onWasm.logProbEnd > onWasm.logProbStart, `NICE: log p rose: ${onWasm.logProbStart} → ${onWasm.logProbEnd}`);
    assert.deepEqual(errors, [], "no console error");
    await page.close();
    gpu = await launch(WEBGPU_FLAGS);
    const g = await open(gpu.browser, `${url}?device=webgpu`);
    assert.equal(await g.page.evaluate(() => (globalThis as unknown as { playground: { device: string } }).playground.device), "webgpu");
    const onGpu = await nice(g.page);
    const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 2e-4 * Math.max(1, Math.abs(b)), `${what}: webgpu ${a} vs wasm ${b}`);
    close(onGpu.logProbStart, onWasm.logProbStart, "log p at the start");
    close(onGpu.logProbEnd, onWasm.logProbEnd, "log p after 3 steps");
    for (let i = 0; i < 784; i++) if (!onGpu.hidden[i]) assert.equal(onGpu.restored[i], onGpu.original[i], `webgpu: observed pixel ${i} unchanged`);
    assert.deepEqual(g.errors, [], "no console error on WebGPU");
    console.log(`# NICE, 3 steps: log p ${onWasm.logProbStart.toFixed(2)} → ${onWasm.logProbEnd.toFixed(2)} on wasm (${onWasm.msPerStep.toFixed(0)} ms per step), → ${onGpu.logProbEnd.toFixed(2)} on WebGPU/SwiftShader`);
  } finally {
    for (const l of [launched, gpu]) {
      if (!l) continue;
      await l.browser.close();
      rmSync(l.profile, { recursive: true, force: true });
    }
    server.close();
  }
});
