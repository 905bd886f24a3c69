/**
 * The browser entry (package.json "exports" → "browser": dist/browser.js) never reaches a Node
 * built-in through a static import: every module it loads statically imports only relative files
 * and @jax-js/jax. (Dynamic imports, e.g. FlowModel.save's node:fs, load only when called.)
 * The Node entry exports everything the browser entry does, plus file I/O.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Static import/export specifiers of an ES module's source (not `import(...)`). */
function staticSpecifiers(source: string): string[] {
  const out: string[] = [];
  const re = /(?:^|[;\n])\s*(?:import|export)\s+(?:[^'"();]*?\s+from\s+)?["']([^"']+)["']/g;
  for (const m of source.matchAll(re)) out.push(m[1]!);
  return out;
}

test("the browser entry statically imports no Node built-in and no package but @jax-js/jax", () => {
  execFileSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: root, stdio: "pipe" });
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { exports: Record<string, Record<string, string>> };
  const entry = resolve(root, pkg.exports["."]!.browser!);
  const seen = new Set<string>();
  const bad: string[] = [];
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of staticSpecifiers(readFileSync(file, "utf8"))) {
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec));
      else if (spec !== "@jax-js/jax") bad.push(`${file.slice(root.length)} imports ${spec}`);
    }
  };
  visit(entry);
  assert.ok(seen.size > 30, `walked the browser entry's module graph (${seen.size} modules)`);
  assert.deepEqual(bad, [], "static imports the browser cannot resolve");
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
