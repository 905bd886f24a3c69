// writeFileAtomic keeps a replaced file's permission bits (issue 9: a 0600 model became 0644).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../../src/io/atomic.js";

const dir = mkdtempSync(join(tmpdir(), "nflow-atomic-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const modeOf = (path: string): number => statSync(path).mode & 0o7777;

test("a replaced file keeps its mode; a new file is 0644 less the umask", async () => {
  for (const mode of [0o600, 0o640, 0o755, 0o444]) {
    const path = join(dir, `m${mode.toString(8)}.bin`);
    writeFileSync(path, "old");
    chmodSync(path, mode);
    await writeFileAtomic(path, "new content");
    assert.equal(readFileSync(path, "utf8"), "new content");
    assert.equal(modeOf(path), mode, `mode ${mode.toString(8)} kept`);
  }
  const fresh = join(dir, "fresh.bin");
  await writeFileAtomic(fresh, new Uint8Array([1, 2, 3]));
  const umask = process.umask();
  assert.equal(modeOf(fresh), 0o644 & ~umask);
});
