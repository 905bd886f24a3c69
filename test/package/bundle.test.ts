/**
 * A browser app that does `import { fit, FlowModel, plot } from "normalizing-flows"` bundles with
 * esbuild (`--bundle --platform=browser`, no other flag) and with Vite (a default `vite build`),
 * with no error, no warning, and no Node built-in left in the bundle. The package is the built
 * dist/ (this test compiles it first, as the other package tests do), reached through
 * package.json "exports" from an app folder whose node_modules/normalizing-flows links here.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("../..", import.meta.url));
// The app uses what it imports (logs it), so that no bundler tree-shakes FlowModel away.
const APP = 'import { fit, FlowModel, plot } from "normalizing-flows";\nconsole.log(fit, FlowModel, plot);\n';

let work = "";

before(() => {
  execFileSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: root, stdio: "pipe" });
  work = mkdtempSync(join(tmpdir(), "nflow-bundle-"));
  mkdirSync(join(work, "node_modules"));
  symlinkSync(root, join(work, "node_modules", "normalizing-flows"), "dir");
  writeFileSync(join(work, "app.js"), APP);
  writeFileSync(join(work, "index.html"), '<!doctype html>\n<script type="module" src="./app.js"></script>\n');
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/**
 * Node built-ins that a bundle would still try to load: `from "node:…"`, `import("node:…")`, and
 * esbuild's `__require(…)` shim. (The library does hold the string "node:worker_threads": the
 * source of its Node worker bootstrap and `process.getBuiltinModule("node:os")` calls behind a
 * Node.js check; those are strings, not imports.)
 */
function nodeImports(code: string): string[] {
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'`](node:[^"'`]+)["'`]|__require\(\s*["'`]([^"'`]+)["'`]/g;
  return [...code.matchAll(re)].map((m) => m[1] ?? m[2]!);
}

test("nodeImports finds import forms of node: built-ins and ignores plain strings", () => {
  assert.deepEqual(nodeImports('import { open } from "node:fs/promises"; const w = p.getBuiltinModule?.("node:os");'), ["node:fs/promises"]);
  assert.deepEqual(nodeImports('await import("node:path"); __require("fs"); const s = `node:crypto`;'), ["node:path", "fs"]);
});

test("esbuild --bundle --platform=browser builds the app with no warning and no Node import", async () => {
  const result = await esbuild.build({
    entryPoints: [join(work, "app.js")],
    absWorkingDir: work,
    bundle: true,
    platform: "browser",
    write: false,
    metafile: true,
    logLevel: "silent",
    outfile: join(work, "out-esbuild.js"),
  });
  assert.deepEqual(result.errors, []);
  assert.deepEqual(
    result.warnings.map((w) => w.text),
    [],
    "esbuild warnings",
  );
  const inputs = Object.keys(result.metafile.inputs);
  const entry = inputs.find((f) => f.endsWith("dist/browser.js"));
  assert.ok(entry, "resolved the browser entry through the exports map");
  const dist = entry.slice(0, -"browser.js".length);
  for (const nodeOnly of ["index.js", "node.js", "io/atomic.js", "io/model-file.js", "plot/node-canvas.js"])
    assert.ok(!inputs.includes(dist + nodeOnly), `bundled the Node-only ${nodeOnly}`);
  const external = Object.values(result.metafile.inputs).flatMap((i) => i.imports.filter((imp) => imp.external || imp.path.startsWith("node:")).map((imp) => imp.path));
  assert.deepEqual(external, [], "no external or node: import");
  const code = result.outputFiles.map((f) => f.text).join("\n");
  assert.ok(code.includes("FlowModel.save needs Node.js file access"), "FlowModel.save's browser message is in the bundle");
  assert.deepEqual(nodeImports(code), []);
});

test("vite build (defaults) builds the app with no warning and no Node import", async () => {
  const { build, createLogger } = await import("vite");
  const warnings: string[] = [];
  const logger = createLogger("warn", { allowClearScreen: false });
  logger.warn = (msg) => void warnings.push(msg);
  logger.warnOnce = (msg) => void warnings.push(msg);
  logger.error = (msg) => void warnings.push(`error: ${msg}`);
  const output = await build({
    root: work,
    configFile: false,
    logLevel: "warn",
    customLogger: logger,
    build: { write: false, outDir: join(work, "dist") },
  });
  assert.deepEqual(warnings, [], "vite warnings");
  const outputs = (Array.isArray(output) ? output : [output]) as { output: { type: string; fileName: string; code?: string; imports?: string[]; dynamicImports?: string[] }[] }[];
  const chunks = outputs.flatMap((o) => o.output).filter((c) => c.type === "chunk");
  assert.ok(chunks.length >= 1, "vite wrote a chunk");
  const code = chunks.map((c) => c.code ?? "").join("\n");
  assert.ok(code.includes("FlowModel.save needs Node.js file access"), "FlowModel.save's browser message is in the bundle");
  const imported = chunks.flatMap((c) => [...(c.imports ?? []), ...(c.dynamicImports ?? [])]).filter((s) => !chunks.some((c) => c.fileName === s));
  assert.deepEqual(imported, [], "chunks import only one another");
  assert.deepEqual(nodeImports(code), []);
});
