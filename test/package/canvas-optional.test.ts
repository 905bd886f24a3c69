/**
 * @napi-rs/canvas is an optional peer dependency (a 35 MB native binary browser apps never need):
 * package.json does not force it on installs, and where it is missing the Node PNG helpers fail
 * with one line saying how to install it. The missing package is simulated in a child process by
 * a module resolve hook that refuses "@napi-rs/canvas" the way Node does (ERR_MODULE_NOT_FOUND).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

test("package.json: @napi-rs/canvas is an optional peer (and a devDependency here), not a dependency", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Record<string, Record<string, unknown> | undefined>;
  assert.equal(pkg.dependencies?.["@napi-rs/canvas"], undefined);
  assert.equal(pkg.optionalDependencies?.["@napi-rs/canvas"], undefined, "npm installs optionalDependencies by default");
  assert.ok(pkg.peerDependencies?.["@napi-rs/canvas"]);
  assert.deepEqual(pkg.peerDependenciesMeta?.["@napi-rs/canvas"], { optional: true });
  assert.ok(pkg.devDependencies?.["@napi-rs/canvas"], "installed for this repository's CLI pictures and tests");
});

test("without @napi-rs/canvas, nodeCanvasFactory and decodePng fail with one line naming the install", () => {
  const hook = `export async function resolve(specifier, context, next) {
    if (specifier === "@napi-rs/canvas" || specifier.startsWith("@napi-rs/canvas/")) {
      const e = new Error("Cannot find package '@napi-rs/canvas'"); e.code = "ERR_MODULE_NOT_FOUND"; throw e;
    }
    return next(specifier, context);
  }`;
  const script = `
    import { register } from "node:module";
    register("data:text/javascript," + encodeURIComponent(${JSON.stringify(hook)}));
    const nc = await import(${JSON.stringify(pathToFileURL(join(root, "src/plot/node-canvas.ts")).href)});
    const out = [];
    for (const call of [() => nc.nodeCanvasFactory(), () => nc.decodePng(new Uint8Array(8))]) {
      try { await call(); out.push("ok"); } catch (e) { out.push(e.constructor.name + ": " + e.message); }
    }
    console.log(JSON.stringify(out));
  `;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: root, encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const line = "FlowError: PNG output needs @napi-rs/canvas: npm install @napi-rs/canvas";
  assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").pop()!), [line, line]);
});
