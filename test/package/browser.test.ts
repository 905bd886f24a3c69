/**
 * The browser entry (package.json "exports" → "browser": dist/browser.js) never reaches a Node
 * built-in, through a static import or a dynamic `import("…")`: every module it loads imports only
 * relative files and @jax-js/jax. (Bundlers follow literal dynamic imports too: FlowModel.save's
 * old `import("../io/atomic.js")` broke every esbuild browser bundle on node:fs/promises.)
 * The Node entry exports everything the browser entry does, plus file I/O, and FlowModel.save
 * works there; from the browser entry alone it rejects with a one-line message naming toBytes().
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Static import/export specifiers of an ES module's source (not `import(...)`). */
function staticSpecifiers(source: string): string[] {
  const out: string[] = [];
  const re = /(?:^|[;\n])\s*(?:import|export)\s+(?:[^'"();]*?\s+from\s+)?["']([^"']+)["']/g;
  for (const m of source.matchAll(re)) out.push(m[1]!);
  return out;
}

/** The source without the comments that start a line (JSDoc examples show `import("…")`). */
function stripLineComments(source: string): string {
  return source.replace(/^\s*\/\*[\s\S]*?\*\//gm, "").replace(/^\s*\/\/.*$/gm, "");
}

/**
 * Dynamic imports of an ES module's source: `literal` holds `import("x")` specifiers (bundlers
 * resolve and bundle those), `computed` the identifiers of `import(name)` (bundlers leave those).
 */
function dynamicImports(source: string): { literal: string[]; computed: string[] } {
  const code = stripLineComments(source);
  const literal = [...code.matchAll(/\bimport\s*\(\s*(?:\/\*[^*]*\*\/\s*)?["'`]([^"'`]+)["'`]\s*\)/g)].map((m) => m[1]!);
  const computed = [...code.matchAll(/\bimport\s*\(\s*(?:\/\*[^*]*\*\/\s*)?([A-Za-z_$][\w$]*)\s*\)/g)].map((m) => m[1]!);
  return { literal, computed };
}

/** dist/browser.js, as package.json's exports map gives it under the "browser" condition. */
function browserEntry(): string {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { exports: Record<string, Record<string, { default: string; types: string }>> };
  return resolve(root, pkg.exports["."]!.browser!.default);
}

test("dynamicImports finds literal and computed import() calls, not the ones in comments", () => {
  const src = '/**\n * const nf = await import("normalizing-flows");\n */\nconst a = await import("./a.js");\nconst b = await import(/* @vite-ignore */ spec);\nconst s = "call import(...) first";\n';
  assert.deepEqual(dynamicImports(src), { literal: ["./a.js"], computed: ["spec"] });
});
test("the browser entry imports no Node built-in and no package but @jax-js/jax, statically or dynamically", () => {
  execFileSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: root, stdio: "pipe" });
  const entry = browserEntry();
  const seen = new Set<string>();
  const bad: string[] = [];
  const computed: string[] = [];
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, "utf8");
    const dynamic = dynamicImports(source);
    for (const spec of [...staticSpecifiers(source), ...dynamic.literal]) {
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec));
      else if (spec !== "@jax-js/jax") bad.push(`${file.slice(root.length)} imports ${spec}`);
    }
    for (const name of dynamic.computed) computed.push(`${file.slice(root.length)}: import(${name})`);
  };
  visit(entry);
  assert.ok(seen.size > 30, `walked the browser entry's module graph (${seen.size} modules)`);
  assert.deepEqual(bad, [], "imports the browser cannot resolve");
  assert.ok(!seen.has(join(root, "dist/io/atomic.js")), "the browser graph does not reach io/atomic.js");
  // The one computed import: enableThreads' node:worker_threads, behind a Node.js check, in a
  // function only the Node subpath "normalizing-flows/threads" exports (bundlers leave it alone).
  assert.deepEqual(computed, ["dist/engine/threads.js: import(specifier)"]);
});

test("the exports map gives browsers dist/browser.d.ts and Node dist/index.d.ts", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { exports: Record<string, Record<string, unknown>> };
  const dot = pkg.exports["."]!;
  // Conditions match in key order: "browser" must come before "types", or a browser project would
  // type-check against the Node entry (loadModel …) and then fail to bundle.
  assert.equal(Object.keys(dot)[0], "browser");
  assert.deepEqual(dot.browser, { types: "./dist/browser.d.ts", default: "./dist/browser.js" });
  assert.equal(dot.types, "./dist/index.d.ts");
  assert.equal(dot.import, "./dist/index.js");
});

test("a browser project type-checks fit/FlowModel/plot but not loadModel; a Node project has loadModel", () => {
  execFileSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: root, stdio: "pipe" });
  const work = mkdtempSync(join(tmpdir(), "nflow-types-"));
  try {
    mkdirSync(join(work, "node_modules"));
    symlinkSync(root, join(work, "node_modules", "normalizing-flows"), "dir");
    writeFileSync(join(work, "ok.ts"), 'import { fit, FlowModel, plot } from "normalizing-flows";\nexport const used = [fit, FlowModel, plot];\n');
    writeFileSync(join(work, "node-only.ts"), 'import { loadModel } from "normalizing-flows";\nexport const used = loadModel;\n');
    const check = (files: string[], conditions: string[]) =>
      spawnSync(
        process.execPath,
        [join(root, "node_modules/typescript/bin/tsc"), "--noEmit", "--strict", "--skipLibCheck", "--module", "esnext", "--moduleResolution", "bundler", "--target", "es2022", "--types", "", ...(conditions.length ? ["--customConditions", conditions.join(",")] : []), ...files],
        { cwd: work, encoding: "utf8" },
      );
    const browserOk = check(["ok.ts"], ["browser"]);
    assert.equal(browserOk.status, 0, browserOk.stdout + browserOk.stderr);
    const browserNode = check(["node-only.ts"], ["browser"]);
    assert.notEqual(browserNode.status, 0, "loadModel must not type-check under the browser condition");
    assert.match(browserNode.stdout, /node-only\.ts.*has no exported member '?"?loadModel/);
    assert.match(browserNode.stdout, /browser\.d\.ts|has no exported member/);
    const node = check(["ok.ts", "node-only.ts"], []);
    assert.equal(node.status, 0, node.stdout + node.stderr);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test("FlowModel.save from the browser entry alone rejects with one line naming toBytes(); toBytes works", () => {
  const script = `
    const nf = await import(${JSON.stringify(pathToFileURL(browserEntry()).href)});
    const { flow, config } = nf.build({ flow: "realnvp", dim: 2, layers: 2, hidden: [4] });
    const record = { config, preprocessing: null, context: null, data: null, training: null };
    const model = new nf.FlowModel(flow, flow.init(nf.keyFromSeed(0)), record);
    const bytes = model.toBytes();
    try { await model.save("never-written.nflow"); console.log("saved"); }
    catch (e) { console.log(JSON.stringify({ name: e.constructor.name, message: e.message, bytes: bytes.length, back: nf.FlowModel.fromBytes(bytes).dim })); }
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { name: string; message: string; bytes: number; back: number };
  assert.equal(out.name, "FlowError");
  assert.equal(
    out.message,
    "FlowModel.save needs Node.js file access; in the browser use model.toBytes() (the same bytes as the model file) and FlowModel.fromBytes(bytes) to read them back",
  );
  assert.ok(out.bytes > 100 && out.back === 2, "toBytes/fromBytes round-trip from the browser entry");
});

test("the Node entry exports everything the browser entry does, plus file I/O", async () => {
  const node = await import(join(root, "dist/index.js"));
  const browser = await import(join(root, "dist/browser.js"));
  for (const name of Object.keys(browser)) assert.ok(name in node, `Node entry lacks ${name}`);
  for (const name of ["loadModel", "readModelFile", "writeModelFile", "loadTable", "writeFileAtomic"]) {
    assert.ok(name in node, `Node entry has ${name}`);
    assert.ok(!(name in browser), `browser entry leaves out ${name}`);
  }
  for (const name of ["fit", "FlowModel", "build", "Flow", "AffineCoupling", "MaskedAutoregressive", "plot", "encodeModelFile", "decodeModelFile", "sampleToy"])
    assert.ok(name in browser, `browser entry has ${name}`);
});
