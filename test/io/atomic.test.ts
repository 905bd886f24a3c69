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

test("kill -9 at random moments of a save, in a loop: the target is always the old file or the complete new one", async () => {
  const { spawn } = await import("node:child_process");
  const { fileURLToPath } = await import("node:url");
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const target = join(dir, "loop.bin");
  const old = new Uint8Array(1024).fill(0x11);
  writeFileSync(target, old);
  const outcomes = { old: 0, new: 0 };
  // a fixed sequence of delays spread over the child's start-up, write, fsync and rename
  for (const delay of [0, 150, 300, 450, 600, 750, 900, 1200, 1500, 2500]) {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", join(root, "test/io/fixtures/atomic-writer.ts"), target, "write"], { cwd: root, stdio: "ignore" });
      const timer = setTimeout(() => child.kill("SIGKILL"), delay);
      child.on("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      child.on("error", reject);
    });
    const now = readFileSync(target);
    if (now.equals(old)) outcomes.old++;
    else {
      assert.equal(now.length, 48 * 1024 * 1024, `after a kill at ${delay} ms: neither the old file nor the complete new one`);
      assert.ok(now.every((b) => b === 0xab), `after a kill at ${delay} ms: a mixed file`);
      outcomes.new++;
      writeFileSync(target, old);
    }
  }
  assert.equal(outcomes.old + outcomes.new, 10);
  assert.ok(outcomes.old > 0, "some kills landed before the rename");
});
