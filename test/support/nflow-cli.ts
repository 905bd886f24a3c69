/**
 * The `nflow` command run the way a user runs it — the real entry point (src/cli/main.ts through tsx,
 * resolved from the project) in a child process with its own working folder — for the CLI tests.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** What one run of `nflow` gave: its exit code (−1 when killed) and its output. */
export interface NflowRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** src/cli/main.ts of this checkout. */
export const NFLOW_MAIN = join(fileURLToPath(new URL("../..", import.meta.url)), "src/cli/main.ts");
/** tsx, resolved from the project (the commands run in temporary folders). */
export const TSX = import.meta.resolve("tsx");

/** A function running `nflow ARGS…` in `cwd` (NFLOW_DEBUG cleared, so errors are the one-line ones users see). */
export function nflowIn(cwd: string, timeoutMs = 300_000): (...args: string[]) => NflowRun {
  return (...args) => {
    const r = spawnSync(process.execPath, ["--import", TSX, NFLOW_MAIN, ...args], { cwd, encoding: "utf8", env: { ...process.env, NFLOW_DEBUG: "" }, timeout: timeoutMs });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
}
