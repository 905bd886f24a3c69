// What the playground's browser tests share: Debian's chromium driven by playwright-core
// (headless), the page built by Vite into a folder, and a tiny static server on localhost.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const CHROMIUM = "/usr/bin/chromium";
export const root = fileURLToPath(new URL("../..", import.meta.url));
export const outDir = join(root, "test-output");
/** Flags for headless chromium on a closed network (/work/.library/env/machines/node.md). */
export const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"];
/** WebGPU on SwiftShader's software Vulkan, found to work headless with --disable-gpu (docs/playground.md). */
export const WEBGPU_FLAGS = ["--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader"];

/** The tests' skip reason where Debian's chromium is missing (a developer machine). */
export const skipWithoutChromium = existsSync(CHROMIUM) ? false : `no ${CHROMIUM}: install Debian's chromium (apt-get install chromium) to run the browser tests; .ci/run does`;

const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml" };

/** Builds the site (web/vite.config.ts) into `siteDir`: no warnings, no absolute paths, the script inlined. */
export function buildSite(siteDir: string): string {
  mkdirSync(outDir, { recursive: true });
  const build = spawnSync(process.execPath, [join(root, "node_modules/vite/bin/vite.js"), "build", "--config", "web/vite.config.ts", "--outDir", siteDir, "--emptyOutDir", "--logLevel", "warn"], { cwd: root, encoding: "utf8" });
  assert.equal(build.status, 0, `vite build failed:\n${build.stdout}\n${build.stderr}`);
  assert.equal(build.stderr.trim(), "", `vite build warned:\n${build.stderr}`);
  const html = readFileSync(join(siteDir, "index.html"), "utf8");
  assert.doesNotMatch(html, /(src|href)="\//, "no absolute paths (base ./): works from any static host");
  assert.match(html, /<script type="module">/, "the script is inlined (file:// refuses module scripts fetched from disk)");
  return html;
}

export function serve(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
    const file = normalize(join(dir, path.endsWith("/") ? `${path}index.html` : path));
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://localhost:${(server.address() as { port: number }).port}/` })));
}

export type Page = import("playwright-core").Page;
export type Browser = import("playwright-core").BrowserContext;

export async function launch(extra: string[]): Promise<{ browser: Browser; profile: string }> {
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "nflow-chromium-"));
  const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: [...FLAGS, ...extra], acceptDownloads: true, viewport: { width: 1500, height: 1100 } });
  return { browser, profile };
}

/** Opens the page and collects console errors and uncaught exceptions. */
export async function open(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
  await page.goto(url);
  await page.waitForSelector("body[data-ready='1']", { timeout: 60_000 });
  return { page, errors };
}
