/**
 * Imported FIRST by bench/run.ts: `--threads` turns on the wasm worker pool, which jax-js sets up
 * once, when it loads (src/engine/threads.ts), so it must act before any module imports the engine.
 * On Node ≥ 20.16 `enableThreads` installs synchronously, before its first await, so the sibling
 * imports that follow (which load the engine) already see the worker pool.
 */
import { enableThreads } from "../src/engine/threads.js";

if (process.argv.includes("--threads")) await enableThreads();
