/**
 * The README's example runs as written, against the built package, imported by its name
 * (`normalizing-flows` resolves to this checkout's dist/ through package.json "exports").
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

function readmeExample(): string {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const m = readme.match(/## Example\s+```ts\n([\s\S]*?)```/);
  assert.ok(m, "README has an ## Example section with a ts code block");
  return m[1]!;
}

test("the README example runs as written against the built package", () => {
  execFileSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: root, stdio: "pipe" });
  const work = mkdtempSync(join(tmpdir(), "nflow-readme-"));
  try {
    // Placed inside the checkout so that the bare specifier resolves to this package (self-reference).
    const script = join(root, `.readme-example-${process.pid}.mjs`);
    writeFileSync(script, readmeExample());
    try {
      const out = execFileSync(process.execPath, [script], { cwd: work, encoding: "utf8", timeout: 120_000 });
      assert.match(out, /log p: Float64Array\(2\) \[/, "prints log densities");
      const lp = out.match(/log p: Float64Array\(2\) \[ ([^,]+), ([^\]]+) \]/);
      assert.ok(lp, out);
      assert.ok(Number(lp[1]) > Number(lp[2]), "a point on the moons is likelier than one far away");
      assert.match(out, /same after loading: true/);
    } finally {
      rmSync(script, { force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test("a packed tarball installs and imports: import * as nf from 'normalizing-flows'", () => {
  const work = mkdtempSync(join(tmpdir(), "nflow-pack-"));
  try {
    const name = execFileSync("npm", ["pack", "--silent", "--pack-destination", work], { cwd: root, encoding: "utf8" }).trim().split("\n").pop()!;
    const app = join(work, "app");
    execFileSync("mkdir", ["-p", join(app, "node_modules", "normalizing-flows"), join(app, "node_modules", "@jax-js")]);
    execFileSync("tar", ["xzf", join(work, name), "-C", join(app, "node_modules", "normalizing-flows"), "--strip-components=1"]);
    execFileSync("ln", ["-s", join(root, "node_modules", "@jax-js", "jax"), join(app, "node_modules", "@jax-js", "jax")]);
    writeFileSync(
      join(app, "main.mjs"),
      `import * as nf from "normalizing-flows";
const flow = nf.build({ flow: "maf", dim: 3, layers: 2, hidden: [8] }).flow;
const p = flow.init(nf.keyFromSeed(0));
const x = nf.np.array(new Float32Array([0.1, 0.2, 0.3, -1, 0, 1]), { shape: [2, 3] });
console.log(JSON.stringify({ kinds: typeof nf.fit + typeof nf.loadModel + typeof nf.AffineCoupling, lp: Array.from(flow.logProb(p, x).dataSync()) }));
`,
    );
    const out = JSON.parse(execFileSync(process.execPath, ["main.mjs"], { cwd: app, encoding: "utf8" })) as { kinds: string; lp: number[] };
    assert.equal(out.kinds, "functionfunctionfunction");
    assert.equal(out.lp.length, 2);
    out.lp.forEach((v) => assert.ok(Number.isFinite(v), "finite log densities from the packed package"));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
