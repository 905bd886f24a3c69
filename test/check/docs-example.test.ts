/**
 * docs/check.md's user-defined bijection runs as written (its import of "normalizing-flows" pointed
 * at this checkout's src/): the correct sinh bijection passes the check, the one whose log-det
 * forgets log a fails it, and only in the Jacobian checks.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

test("docs/check.md: the user's sinh bijection passes checkBijector and its wrong log-det fails", () => {
  const doc = readFileSync(join(root, "docs", "check.md"), "utf8");
  const m = doc.match(/## Your own bijection, checked in one line[\s\S]*?```ts\n([\s\S]*?)```/);
  assert.ok(m, "docs/check.md has the user-bijection example");
  const code = m[1]!.replace(/from "normalizing-flows"/g, `from ${JSON.stringify(join(root, "src", "index.ts"))}`);
  const script = join(root, `.check-example-${process.pid}.mts`);
  writeFileSync(script, code);
  try {
    const out = execFileSync(process.execPath, ["--import", "tsx", script], { cwd: root, encoding: "utf8", timeout: 120_000 });
    assert.match(out, /^sinh: true$/m, out);
    assert.match(out, /^sinh without log a: false log-det-jacobian-forward,log-det-jacobian-inverse$/m, out);
    assert.match(out, /PASS {2}round-trip-zxz/, "the report is printed");
  } finally {
    rmSync(script, { force: true });
  }
});
