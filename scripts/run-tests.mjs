#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's built-in test runner (TypeScript through tsx).
// Usage: npm test [-- substring ...]   (only files whose path contains one of the substrings)
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const filters = process.argv.slice(2);

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith(".test.ts") ? [path] : [];
  });
}

const files = walk(join(root, "test"))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-reporter=spec", "--test-concurrency=1", ...files],
  { cwd: root, stdio: "inherit", env: { ...process.env, NFLOW_TEST: "1" } },
);
process.exit(result.status ?? 1);
