/**
 * Opt-in multi-threaded wasm on Node.js.
 *
 * How jax-js 0.1.25 decides: its wasm backend is built when `@jax-js/jax` is first evaluated, and
 * at that moment it checks `typeof SharedArrayBuffer !== "undefined" && typeof Worker !== "undefined"`.
 * When both exist it allocates SHARED wasm memory and a pool of web workers (one per
 * `navigator.hardwareConcurrency`, 4 when there is no `navigator`, as in Node 20); the workers are
 * started from a `Blob` of source text through `URL.createObjectURL` on the first asynchronous
 * dispatch. Kernels prepared by the async path (`await x.data()`, `blockUntilReady`) are split into
 * row chunks and run on the workers; the sync path (`dataSync()`, `js()`) always runs on the main
 * thread. Node has `SharedArrayBuffer` but no global `Worker`, so jax-js is single-threaded there.
 *
 * This module supplies that `Worker`: a small web-Worker front over `node:worker_threads`. The
 * check happens once, at load, and kernels compiled afterwards also consult it (they import shared
 * memory when `Worker` exists), so the shim must be installed BEFORE jax-js is evaluated, and must
 * never be installed after: a late `Worker` would make every new kernel import shared memory that
 * the backend does not have. `engine/shims.ts` (evaluated just before jax-js) calls
 * `prepareEngineLoad()`, which installs the shim when `NFLOW_THREADS` asks for it and records that
 * the engine is loading; `enableThreads()` works only before that moment, and throws after it.
 *
 * jax-js's workers (4 on Node 20) are spread over `threads` real threads. jax-js sends EVERY
 * kernel of the async path to its workers, and a round trip costs more than most kernels of a
 * small flow (a 2-D RealNVP step went 10 → 33 ms): so each kernel is first timed on the main
 * thread, and only those slower than 1 ms go to the threads (same kernel, same chunks: same bits).
 * Even a kernel run inline here had first gone through jax-js's pool queue (a dozen promises and
 * several microtask turns per kernel); the pool-inline part of the speed patch
 * (scripts/patch-jax-js.mjs, part 4) now runs a cheap kernel at once inside the backend's dispatch
 * when the pool has nothing in flight, by the same rule (its first 3 runs timed, < 1 ms stays; the
 * verdicts are shared, `__nflowJaxSpeed.verdicts`) and in the same chunks. What still reaches
 * `flushBatch` below is a kernel queued behind work in flight on the threads.
 *
 * The worker threads are `unref()`ed whenever they have no work in flight, so a script that never
 * calls `shutdownThreads()` still exits; while a kernel runs on them they hold the process open,
 * so `await x.data()` is never cut short. `shutdownThreads()` ends them (they restart on the next
 * asynchronous dispatch).
 *
 * With threads, jax-js refuses a synchronous read (`dataSync`, `js`) of an array whose kernels are
 * still in flight: after asynchronous work, `await blockUntilReady(tree)` before reading (trainFlow
 * does so for the params it returns).
 *
 * Default OFF. Measured on a shared 2-core machine, medians of interleaved runs, when the second
 * core was free: 512³ matmul 15–23 → 10–14 ms; MAF (D = 8, hidden 512×3, 5 layers, B = 512) training
 * step 700 → 540 ms, log p of 4,096 rows 1.7 → 1.1 s; a small 2-D RealNVP unchanged. When another
 * process holds the second core, threads gain nothing (up to 10% slower). Re-measured with the speed
 * patch and relaxed SIMD (docs/performance.md, bench/levers.ts, machine load 10–16): the pool costs
 * CPU on small flows (C1 step 4.7–5.0 → 5.9 ms of CPU per step: every kernel of the asynchronous path
 * goes through jax-js's pool queue, even those run inline here) and gained nothing measurable on a
 * machine whose second core was busy. The pool has to be chosen before jax-js loads, before the
 * model (and whether a core is free) is known, so there is no safe automatic default: turn it on
 * (`NFLOW_THREADS=1`) for matmul-bound models on a machine with a free core.
 *
 * Clean wall-time measurement, 2 December (docs/performance.md, "Second pass"): both cores idle
 * (/proc/stat: 199–200 idle jiffies per second before each process), bench/levers.ts, processes with
 * NFLOW_THREADS=0 and =1 alternated 3 times (C1: 2 times), median wall time per unit:
 *   C2 step (MAF(5), MADE 3×512, B = 512)  309–312 → 218–224 ms  (1.40×, CPU 308–316 → 336–341 ms)
 *   512³ matmul                           7.3–7.6 → 5.5–6.1 ms   (1.25–1.35×)
 *   512³ g·Wᵀ (K-vectorised path)          12.1–15.6 → 5.8–6.0 ms
 *   [512,512]·[512,16] (C2's output layer) 0.33–0.37 → 0.37–0.39 ms (slower: too small to split)
 *   C1 log-prob of 10,000                  35.9 → 29.0–29.7 ms    (1.22×)
 *   C1 step (RealNVP 8 × 64-64, B = 256)   3.69–3.85 → 5.03–5.06 ms (0.75×: slower)
 * Decision then: threads pay for large matmuls (C2, C3, C1-sized log-prob/sampling batches) when a
 * core is free, and cost 30% on a small flow's training step; the default stayed OFF.
 *
 * With the pool-inline patch, 2 December evening (docs/performance.md, "Threads without the queue";
 * a slower, shared machine: /proc/stat 190–200 idle jiffies per second before most processes),
 * bench/levers.ts --ab none, processes alternated off / on / on without the patch
 * (`LEVERS_OFF=poolInline`), medians over processes:
 *   C1 step, 7 × 3 processes     off 8.37 ms wall, 8.16 ms CPU; on 8.75 / 8.60 (1.05× slower);
 *                                without the patch 11.28 / 10.71 (1.35× slower)
 *   C1 log-prob of 10,000, 3 × 3 off 80.4 ms; on 68.0; without the patch 64.9 (the gain stays)
 *   C2 step, 3 × 3               off 642 ms; on 447; without the patch 456 (the gain stays)
 * and in one process (NFLOW_THREADS=1 --ab sub:poolInline, 7 rounds): C1 step 8.77 → 6.71 ms
 * (ratio 0.78), C1 log-prob and C2 step unchanged (1.00, 1.01). A small flow never starts a worker.
 * The default still stays OFF, for a reason of correctness rather than speed: once a kernel has gone
 * to the threads, its outputs are in flight until awaited, and a synchronous read refuses them. A
 * common path does that: `onCheckpoint` gets the params of a step whose loss was awaited but whose
 * Adam update may still run (without a validation set nothing else waits for them), and `fit`'s
 * FlowModel view reads synchronously; a MAF 2 × [512, 512] trained with `onCheckpoint: (p) =>
 * treeToHost(p)` throws "cannot read synchronously from a slot with async work" with
 * NFLOW_THREADS=1 and runs without threads. The training loop now settles the params before
 * `onCheckpoint` (test/engine/threads.test.ts runs that case on the threads); the other synchronous
 * reads of src/ (FlowModel's sync methods, MAF inversion, treeToHost) each need the same audit before
 * threads can be on by default.
 */
import type { Worker as NodeWorker } from "node:worker_threads";
import { FlowError } from "./errors.js";

/** Options of `enableThreads`. */
export interface ThreadOptions {
  /**
   * Worker threads to run (≥ 1). Default: one per core (`os.availableParallelism()`). At most the
   * number of workers jax-js creates (`navigator.hardwareConcurrency`, or 4 without `navigator`).
   */
  readonly threads?: number;
}

type WorkerThreadsModule = typeof import("node:worker_threads");

type MessageHandler = ((event: { data: unknown }) => void) | null;
type ErrorHandler = ((event: { message: string }) => void) | null;

/** One real worker thread, shared by one or more web-Worker fronts. */
interface Thread {
  worker: NodeWorker | null;
  /** Who is owed the next reply, in order: a front, or null for a restart's own init. */
  readonly owed: (WebWorkerFront | null)[];
}

interface ThreadState {
  /** `prepareEngineLoad()` has run: jax-js is being (or has been) evaluated. */
  engineLoaded: boolean;
  /** jax-js found `Worker` and `SharedArrayBuffer` when it loaded: its worker pool exists. */
  poolAtLoad: boolean;
  /** Our `Worker` is the global one. */
  installed: boolean;
  threads: number;
  workerThreads: WorkerThreadsModule | null;
  /** The pool's `init` message (it carries the shared memory), replayed when a thread restarts. */
  initMessage: unknown;
  readonly pool: Thread[];
  frontCount: number;
  /** Blobs handed to `URL.createObjectURL`, by URL: jax-js gives the worker source this way. */
  readonly blobs: Map<string, Blob>;
  idleWaiters: (() => void)[];
  /** Chunks of the dispatch being posted now (jax-js posts all chunks of one kernel in one go). */
  batch: { front: WebWorkerFront; msg: KernelMessage }[];
  /** Per kernel: main-thread run times so far (ms), or the verdict (true: stays on the main thread). */
  readonly verdicts: Map<string, number[] | boolean>;
  /** Kernel instances on the main thread, most recently used last (as the workers keep theirs). */
  readonly instances: Map<string, KernelFn>;
  stats: { threaded: number; inline: number };
}

const state: ThreadState = {
  engineLoaded: false,
  poolAtLoad: false,
  installed: false,
  threads: 0,
  workerThreads: null,
  initMessage: undefined,
  pool: [],
  frontCount: 0,
  blobs: new Map(),
  idleWaiters: [],
  batch: [],
  verdicts: new Map(),
  instances: new Map(),
  stats: { threaded: 0, inline: 0 },
};

/** What jax-js posts for one chunk [begin, end) of a kernel's output. */
interface KernelMessage {
  type: "kernel";
  kernelHash: string;
  module: WebAssembly.Module;
  ptrs: number[];
  begin: number;
  end: number;
}
type KernelFn = (...args: number[]) => void;

/**
 * A kernel that takes less than this on the main thread stays there: a round trip to a worker
 * thread costs about 0.1 ms, and most kernels of a small flow take a few µs. jax-js itself sends
 * every kernel of the asynchronous path to its workers, which made a small RealNVP step 3× slower.
 */
const INLINE_BELOW_MS = 1;
/** Main-thread runs of a kernel before its verdict (the first run may still be unoptimised code). */
const TRIAL_RUNS = 3;
// scripts/patch-jax-js.mjs's pool-inline part decides by the same rule (NFLOW_INLINE_BELOW_MS,
// NFLOW_TRIAL_RUNS) in the same verdict map: keep the two pairs equal.

type NodeProcess = {
  versions?: { node?: string };
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (id: string) => unknown;
  stderr?: { write(s: string): void };
};

function nodeProcess(): NodeProcess | undefined {
  const p = (globalThis as { process?: NodeProcess }).process;
  return typeof p?.versions?.node === "string" ? p : undefined;
}

/**
 * Runs in each worker thread before jax-js's worker source: it gives the source the web-worker
 * globals it uses (`self.onmessage`, `postMessage`), reads the source from the Blob that jax-js
 * made, and holds messages that arrive before the source has been evaluated.
 */
const BOOTSTRAP = `
const { parentPort, workerData } = require("node:worker_threads");
globalThis.self = globalThis;
globalThis.postMessage = (data) => parentPort.postMessage(data);
let early = [];
parentPort.on("message", (data) => {
  if (early) early.push(data);
  else self.onmessage({ data });
});
workerData.source.text().then((text) => {
  (0, eval)(text);
  const held = early;
  early = null;
  for (const data of held) self.onmessage({ data });
});
`;

/** Resolves `shutdownThreads()` waiters once no thread owes a reply. */
function notifyIfIdle(): void {
  if (state.pool.some((t) => t.owed.length > 0)) return;
  const waiters = state.idleWaiters;
  state.idleWaiters = [];
  for (const resolve of waiters) resolve();
}

function startThread(thread: Thread, source: Blob): NodeWorker {
  const wt = state.workerThreads!;
  const worker = new wt.Worker(BOOTSTRAP, { eval: true, workerData: { source } });
  worker.unref();
  worker.on("message", (data: unknown) => {
    const front = thread.owed.shift();
    if (thread.owed.length === 0) worker.unref();
    front?.deliver(data);
    notifyIfIdle();
  });
  const fail = (message: string): void => {
    if (thread.worker !== worker) return;
    thread.worker = null;
    // Every outstanding request gets a failed reply, so that no dispatch of jax-js waits forever.
    for (const front of thread.owed.splice(0)) {
      front?.deliver({ type: "done", ok: false, error: message });
      front?.fail(message);
    }
    notifyIfIdle();
  };
  worker.on("error", (error: Error) => fail(error.message));
  worker.on("exit", (code: number) => fail(`worker thread exited with code ${code}`));
  return worker;
}

function mainThreadKernel(msg: KernelMessage): KernelFn {
  let fn = state.instances.get(msg.kernelHash);
  if (fn) state.instances.delete(msg.kernelHash);
  else {
    const memory = (state.initMessage as { memory: WebAssembly.Memory }).memory;
    fn = new WebAssembly.Instance(msg.module, { env: { memory } }).exports.kernel as KernelFn;
    if (state.instances.size >= 256) state.instances.delete(state.instances.keys().next().value!);
  }
  state.instances.set(msg.kernelHash, fn);
  return fn;
}

/** The speed patch's per-kernel state (scripts/patch-jax-js.mjs), when it is installed. */
type JaxSpeed = { on: boolean; poolInline?: boolean; verdicts?: Map<string, number[] | boolean>; stats: Record<string, number> };
function jaxSpeed(): JaxSpeed | undefined {
  return (globalThis as { __nflowJaxSpeed?: JaxSpeed }).__nflowJaxSpeed;
}

/**
 * Verdicts per kernel hash: the pool-inline patch's map when it is installed (it times kernels the
 * same way when the pool is idle, before they ever reach the pool), else this module's own.
 */
function sharedVerdicts(): Map<string, number[] | boolean> {
  return jaxSpeed()?.verdicts ?? state.verdicts;
}

/**
 * Runs after jax-js has posted every chunk of one kernel (its pool posts them in one synchronous
 * loop and waits for all before the next kernel, so nothing else touches the memory meanwhile).
 * Cheap kernels run here, chunk by chunk (the same calls a worker would make: same results);
 * the others go to the threads.
 */
function flushBatch(): void {
  const items = state.batch;
  state.batch = [];
  if (items.length === 0) return;
  const hash = items[0]!.msg.kernelHash;
  const verdicts = sharedVerdicts();
  const verdict = verdicts.get(hash);
  if (verdict === false || state.initMessage === undefined) {
    state.stats.threaded++;
    for (const { front, msg } of items) front.send(msg);
    return;
  }
  const t0 = performance.now();
  try {
    const fn = mainThreadKernel(items[0]!.msg);
    for (const { msg } of items) fn(...msg.ptrs, msg.begin, msg.end);
  } catch (error) {
    for (const { front } of items) front.deliver({ type: "done", ok: false, error: String(error) });
    return;
  }
  const ms = performance.now() - t0;
  state.stats.inline++;
  if (verdict !== true) {
    const times = [...(verdict ?? []), ms];
    verdicts.set(hash, times.length >= TRIAL_RUNS ? Math.min(...times) < INLINE_BELOW_MS : times);
  }
  for (const { front } of items) front.deliver({ type: "done", ok: true });
}

/**
 * The web `Worker` that jax-js constructs, over a shared real thread. Fronts are spread over
 * `state.threads` threads; a thread answers its messages in order, so the `owed` queue routes
 * each reply to the front that asked.
 */
class WebWorkerFront {
  onmessage: MessageHandler = null;
  onerror: ErrorHandler = null;
  readonly #thread: Thread;
  readonly #source: Blob;

  constructor(url: string | URL, _options?: unknown) {
    const source = state.blobs.get(String(url));
    if (!source) throw new FlowError(`Worker: expected a blob: URL made by URL.createObjectURL, got ${String(url)}`);
    this.#source = source;
    while (state.pool.length < state.threads) state.pool.push({ worker: null, owed: [] });
    this.#thread = state.pool[state.frontCount++ % state.threads]!;
  }

  postMessage(data: unknown): void {
    const type = (data as { type?: unknown } | null)?.type;
    if (type === "kernel") {
      state.batch.push({ front: this, msg: data as KernelMessage });
      if (state.batch.length === 1) queueMicrotask(flushBatch);
      return;
    }
    if (type === "init") state.initMessage = data;
    this.send(data);
  }

  /** Posts to the real thread, starting it first when needed. */
  send(data: unknown): void {
    const thread = this.#thread;
    if (!thread.worker) {
      thread.worker = startThread(thread, this.#source);
      // A restarted thread (after shutdownThreads) has lost its memory: give it the pool's init.
      if ((data as { type?: unknown } | null)?.type !== "init" && state.initMessage !== undefined) {
        thread.owed.push(null);
        thread.worker.postMessage(state.initMessage);
      }
    }
    thread.owed.push(this);
    thread.worker.ref();
    thread.worker.postMessage(data);
  }

  terminate(): void {
    this.onmessage = null;
    this.onerror = null;
  }

  deliver(data: unknown): void {
    this.onmessage?.({ data });
  }

  fail(message: string): void {
    this.onerror?.({ message });
  }
}

function availableThreads(p: NodeProcess): number {
  const os = p.getBuiltinModule?.("node:os") as { availableParallelism?: () => number } | undefined;
  return Math.max(1, os?.availableParallelism?.() ?? 4);
}

function validateThreads(threads: number | undefined, where: string): void {
  if (threads !== undefined && (!Number.isSafeInteger(threads) || threads < 1))
    throw new FlowError(`${where}: expected a positive integer number of threads, got ${String(threads)}`);
}

/** Installs the `Worker` front and the blob-URL bookkeeping. Requires `state.workerThreads`. */
function install(p: NodeProcess, threads: number | undefined): void {
  state.threads = threads ?? availableThreads(p);
  const urlClass = URL as unknown as {
    createObjectURL(obj: Blob): string;
    revokeObjectURL(url: string): void;
  };
  const create = urlClass.createObjectURL.bind(urlClass);
  const revoke = urlClass.revokeObjectURL.bind(urlClass);
  urlClass.createObjectURL = (obj: Blob): string => {
    const url = create(obj);
    if (obj instanceof Blob) state.blobs.set(url, obj);
    return url;
  };
  urlClass.revokeObjectURL = (url: string): void => {
    state.blobs.delete(url);
    revoke(url);
  };
  (globalThis as { Worker?: unknown }).Worker = WebWorkerFront;
  state.installed = true;
}

/** True when this host can run jax-js's worker pool with our front: Node, SharedArrayBuffer, no Worker yet. */
function canInstall(): boolean {
  return nodeProcess() !== undefined && typeof SharedArrayBuffer !== "undefined" && typeof (globalThis as { Worker?: unknown }).Worker === "undefined";
}

/**
 * Reads `NFLOW_THREADS`: unset, empty, `0`, `off`, `false`, `no` → off; `1`, `on`, `true`, `yes`,
 * `auto` → on with one thread per core; an integer N ≥ 2 → N threads.
 */
export function threadsFromEnv(value: string | undefined): { on: boolean; threads?: number } {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "" || v === "0" || v === "off" || v === "false" || v === "no") return { on: false };
  if (v === "1" || v === "on" || v === "true" || v === "yes" || v === "auto") return { on: true };
  const n = Number(v);
  if (Number.isSafeInteger(n) && n >= 2) return { on: true, threads: n };
  throw new FlowError(`NFLOW_THREADS: expected 0/1, on/off or a thread count ≥ 2, got ${JSON.stringify(value)}`);
}

/**
 * Called by `engine/shims.ts` just before jax-js is evaluated (library code need not call it):
 * installs the threads front when `NFLOW_THREADS` asks for it (Node.js ≥ 20.16, for
 * `process.getBuiltinModule`), then records that jax-js is loading, which closes `enableThreads()`.
 */
export function prepareEngineLoad(): void {
  if (state.engineLoaded) return;
  const p = nodeProcess();
  if (p && !state.installed) {
    let wanted: { on: boolean; threads?: number } = { on: false };
    try {
      wanted = threadsFromEnv(p.env?.NFLOW_THREADS);
    } catch (error) {
      // A bad environment variable must not make the library unimportable.
      p.stderr?.write(`normalizing-flows: ${(error as Error).message}; running single-threaded\n`);
    }
    if (wanted.on && canInstall()) {
      const wt = p.getBuiltinModule?.("node:worker_threads") as WorkerThreadsModule | undefined;
      if (wt) {
        state.workerThreads = wt;
        install(p, wanted.threads);
      } else p.stderr?.write("normalizing-flows: NFLOW_THREADS needs Node.js ≥ 20.16; running single-threaded\n");
    }
  }
  state.engineLoaded = true;
  state.poolAtLoad = typeof SharedArrayBuffer !== "undefined" && typeof (globalThis as { Worker?: unknown }).Worker !== "undefined";
}

/**
 * Turns on jax-js's wasm worker pool under Node.js: installs a global `Worker` over
 * `node:worker_threads` (only when there is none). Resolves to true when the pool will be (or
 * already is) in use, false when this host cannot have it (no `SharedArrayBuffer`, or a browser
 * that is not cross-origin isolated).
 *
 * Must run BEFORE the engine is loaded, i.e. before anything imports the library (its entry point
 * loads jax-js). Import `normalizing-flows/threads` alone, enable, then import the rest dynamically:
 *
 *     import { enableThreads } from "normalizing-flows/threads";
 *     await enableThreads();
 *     const nf = await import("normalizing-flows");
 *
 * On Node ≥ 20.16 the shim is installed synchronously, before the first await of this function.
 * Throws `FlowError` if the engine was already loaded single-threaded. Equivalent: start Node with
 * `NFLOW_THREADS=1`. Only the asynchronous path (`await x.data()`) uses the threads; after one,
 * settle arrays with `await blockUntilReady(tree)` before reading them with `dataSync()`/`js()`
 * (jax-js refuses a synchronous read of an array whose kernels are still running).
 * `options.threads` is fixed by the first call once the workers have started.
 */
export async function enableThreads(options: ThreadOptions = {}): Promise<boolean> {
  validateThreads(options.threads, "enableThreads");
  const p = nodeProcess();
  if (state.installed) {
    if (options.threads !== undefined && options.threads !== state.threads && state.frontCount === 0) state.threads = options.threads;
    return true;
  }
  if (state.engineLoaded) {
    if (state.poolAtLoad) return true;
    throw new FlowError(
      "enableThreads: expected to run before the engine is loaded, but jax-js has already started single-threaded; " +
        "call it before importing the library (then import the library with await import(...)), or set NFLOW_THREADS=1",
    );
  }
  if (!p) return typeof SharedArrayBuffer !== "undefined" && typeof (globalThis as { Worker?: unknown }).Worker !== "undefined";
  if (!canInstall()) return typeof SharedArrayBuffer !== "undefined" && typeof (globalThis as { Worker?: unknown }).Worker !== "undefined";
  const specifier = "node:worker_threads";
  state.workerThreads =
    (p.getBuiltinModule?.(specifier) as WorkerThreadsModule | undefined) ?? ((await import(/* @vite-ignore */ specifier)) as WorkerThreadsModule);
  if (state.engineLoaded) throw new FlowError("enableThreads: the engine was loaded while threads were being enabled; await enableThreads() before importing the library");
  install(p, options.threads);
  return true;
}

/** Whether jax-js's wasm worker pool is (or will be, once the engine loads) in use. */
export function threadsActive(): boolean {
  return state.engineLoaded ? state.poolAtLoad : state.installed;
}

/** Worker threads that serve jax-js's pool (0 when it is single-threaded, or when the host's own `Worker` does). */
export function threadCount(): number {
  return threadsActive() && state.installed ? Math.min(state.threads, poolSize()) : 0;
}

/** Workers jax-js's pool creates: `navigator.hardwareConcurrency`, or 4 without `navigator` (Node 20). */
function poolSize(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return Math.max(1, nav?.hardwareConcurrency || 4);
}

/**
 * Kernels of the asynchronous path so far: `threaded` went to the worker threads, `inline` were
 * cheap enough (< 1 ms) to run on the main thread without a round trip. For diagnostics.
 */
export function threadStats(): { threaded: number; inline: number } {
  return { threaded: state.stats.threaded, inline: state.stats.inline + (jaxSpeed()?.stats.poolInline ?? 0) };
}

/** Worker threads that are running now (0 before the first asynchronous dispatch and after shutdown). */
export function liveThreads(): number {
  return state.pool.filter((t) => t.worker !== null).length;
}

/**
 * Waits until the worker threads have no work in flight, then ends them. Safe to call at any time
 * and more than once; a later asynchronous dispatch starts them again. Not needed for the process
 * to exit (idle threads do not hold it open), but frees their memory and CPU at once.
 */
export async function shutdownThreads(): Promise<void> {
  if (state.pool.some((t) => t.owed.length > 0)) await new Promise<void>((resolve) => state.idleWaiters.push(resolve));
  const ending: Promise<number>[] = [];
  for (const thread of state.pool) {
    const worker = thread.worker;
    if (!worker) continue;
    thread.worker = null;
    ending.push(worker.terminate());
  }
  await Promise.all(ending);
}
