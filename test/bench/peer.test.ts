import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  compare,
  convFlops,
  DEFAULT_PEER_OPTIONS,
  findTorchPython,
  isReferenceBlas,
  meets,
  parseJsonLines,
  parsePeerArgs,
  planJobs,
  qualityLines,
  ratioOf,
  runPeer,
  sideFigure,
  type PeerRun,
  type Tagged,
} from "../../bench/peer.js";
import { renderMarkdown } from "../../bench/report.js";

/** A stand-in python that cannot import torch (prints what python prints, exits 1). */
function fakePython(): string {
  const dir = mkdtempSync(join(tmpdir(), "nflow-peer-test-"));
  const path = join(dir, "python3");
  writeFileSync(path, "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n");
  chmodSync(path, 0o755);
  return path;
}

test("parseJsonLines keeps the JSON objects of a child's stdout (Python's NaN read as null) and skips progress, arrays and broken lines", () => {
  const text = [
    "[bench] progress",
    '{"config": "C1", "ms_per_step_median": 3.4, "kl": NaN}', // Python's NaN is not JSON
    '{"config": "C4", "maf_logprob_b1000": {"items_per_s": 5}}',
    "[1, 2]",
    '{"config": "C2", "ms',
    "",
  ].join("\n");
  const r = parseJsonLines(text);
  assert.equal(r.length, 2);
  assert.deepEqual(r[0], { config: "C1", ms_per_step_median: 3.4, kl: null });
  assert.equal(r[1]!.config, "C4");
});

test("sideFigure: median per thread setting, then the better setting; 'best' takes the best run", () => {
  const v = [
    { setting: "1 thread", value: 5 },
    { setting: "1 thread", value: 7 },
    { setting: "1 thread", value: 6 },
    { setting: "threads", value: 5.5 },
    { setting: "threads", value: null },
  ];
  const med = sideFigure(v, "lower", "median")!;
  assert.equal(med.setting, "threads");
  assert.equal(med.value, 5.5);
  assert.deepEqual(med.by_setting["1 thread"], { median: 6, best: 5, runs: 3 });
  const best = sideFigure(v, "lower", "best")!;
  assert.equal(best.setting, "1 thread");
  assert.equal(best.value, 5);
  const hi = sideFigure(v, "higher", "median")!;
  assert.equal(hi.value, 6);
  assert.equal(sideFigure([{ setting: "x", value: null }], "lower", "median"), null);
});

test("ratioOf and meets: ours / peer, and the target's direction", () => {
  assert.equal(ratioOf(5, 4), 1.25);
  assert.equal(ratioOf(null, 4), null);
  assert.equal(ratioOf(5, 0), null);
  assert.equal(meets(0.9, { op: "<=", value: 1 }), true);
  assert.equal(meets(1.1, { op: "<=", value: 1 }), false);
  assert.equal(meets(0.6, { op: ">=", value: 0.7 }), false);
  assert.equal(meets(0.6, undefined), null);
});

const c1 = (over: Record<string, unknown>): Record<string, unknown> => ({
  config: "C1",
  dataset: "moons",
  ms_per_step_median: 5,
  logprob_throughput: { items_per_s: 200_000 },
  sample_throughput: { items_per_s: 100_000 },
  ...over,
});

test("compare: our median at our best setting over PyTorch's best run at its best setting, timing variant only", () => {
  const all: Tagged[] = [
    { side: "ours", setting: "1 thread", role: "seeds", record: c1({ seed: 0, ms_per_step_median: 4 }) },
    { side: "ours", setting: "1 thread", role: "seeds", record: c1({ seed: 1, ms_per_step_median: 6 }) },
    { side: "ours", setting: "1 thread", role: "seeds", record: c1({ seed: 2, ms_per_step_median: 5 }) },
    { side: "ours", setting: "threads", role: "timing", record: c1({ ms_per_step_median: 9, sample_throughput: { items_per_s: 150_000 } }) },
    { side: "peer", setting: "1 thread", role: "seeds", record: c1({ variant: "affine-exp-zeroinit", ms_per_step_median: 4.5, logprob_throughput: { items_per_s: 400_000 } }) },
    { side: "peer", setting: "1 thread", role: "seeds", record: c1({ variant: "affine-exp-zeroinit", ms_per_step_median: 4.0 }) },
    // another variant: not part of the timing comparison (it would be the fastest)
    { side: "peer", setting: "1 thread", role: "seeds", record: c1({ variant: "affine-sigmoid", ms_per_step_median: 1 }) },
    { side: "peer", setting: "2 threads", role: "timing", record: c1({ variant: "affine-exp-zeroinit", ms_per_step_median: 4.2 }) },
    // another toy
    { side: "ours", setting: "1 thread", role: "seeds", record: c1({ dataset: "checkerboard", ms_per_step_median: 1 }) },
  ];
  const cs = compare(all, "C1", "moons", "affine-exp-zeroinit");
  const train = cs.find((c) => c.metric === "train_ms_per_step")!;
  assert.equal(train.ours, 5); // median of 4, 6, 5 (1 thread beats threads' 9)
  assert.equal(train.ours_setting, "1 thread");
  assert.equal(train.ours_runs, 3);
  assert.equal(train.peer, 4); // the best exp-zeroinit run
  assert.equal(train.ratio, 1.25);
  assert.equal(train.met, false);
  const lp = cs.find((c) => c.metric === "logprob_items_per_s")!;
  assert.equal(lp.peer, 400_000);
  assert.equal(lp.ratio, 0.5);
  assert.equal(lp.met, false);
  const smp = cs.find((c) => c.metric === "sample_items_per_s")!;
  assert.equal(smp.ours_setting, "threads");
  assert.equal(smp.ratio, 1.5);
  assert.equal(smp.met, true);
});

test("qualityLines: median and spread over seeds, against the best PyTorch variant; strict on checkerboard", () => {
  const rec = (side: "ours" | "peer", dataset: string, seed: number, kl: number, variant?: string): Tagged => ({
    side,
    setting: "1 thread",
    role: "seeds",
    record: { config: "C1", dataset, seed, kl, test_nll: 1 + kl, ...(variant ? { variant } : {}) },
  });
  const all: Tagged[] = [];
  for (const d of ["moons", "checkerboard"])
    for (let k = 0; k < 5; k++) {
      all.push(rec("ours", d, k, 0.1 + 0.01 * k)); // median 0.12, range 0.04
      all.push(rec("peer", d, k, 0.09 + 0.005 * k, "a")); // median 0.10, range 0.02
      all.push(rec("peer", d, k, 0.3, "b"));
    }
  all.push({ side: "ours", setting: "threads", role: "timing", record: { config: "C1", dataset: "moons", kl: 9 } }); // not a seed run
  const [moonsKl] = qualityLines(all, "moons");
  assert.equal(moonsKl!.ours!.n, 5);
  assert.ok(Math.abs(moonsKl!.ours!.median - 0.12) < 1e-12);
  assert.equal(moonsKl!.best_peer_variant, "a");
  assert.ok(Math.abs(moonsKl!.difference! - 0.02) < 1e-12);
  assert.ok(Math.abs(moonsKl!.spread! - 0.04) < 1e-12);
  assert.equal(moonsKl!.met, true); // worse by less than the spread
  assert.deepEqual(moonsKl!.ours_diverged, []);
  const [checkKl] = qualityLines(all, "checkerboard");
  assert.equal(checkKl!.met, false); // must be at least as good
  all.push({ side: "ours", setting: "1 thread", role: "seeds", record: { config: "C1", dataset: "moons", seed: 5, kl: 3, stop_reason: "diverged" } });
  assert.deepEqual(qualityLines(all, "moons")[0]!.ours_diverged, [5]);
});

test("findTorchPython says why the peer is skipped when no candidate imports torch", () => {
  const fake = fakePython();
  const r = findTorchPython([fake, "/nonexistent/python3"]);
  assert.ok("skipped" in r);
  assert.match(r.skipped, /No module named 'torch'/);
  assert.match(r.skipped, /ENOENT/);
  assert.match(r.skipped, /python3-torch/);
});

test("runPeer without torch: one JSON line saying the peer was skipped and why, then our jobs only", async () => {
  const lines: string[] = [];
  const code = await runPeer(["--python", fakePython(), "--config", "C1,C4", "--datasets", "moons", "--dry-run"], { out: (l) => void lines.push(l), err: () => {} });
  assert.equal(code, 0);
  const first = JSON.parse(lines[0]!);
  assert.equal(first.peer, "skipped");
  assert.match(first.reason, /No module named 'torch'/);
  const plan = lines.slice(1).map((l) => JSON.parse(l));
  assert.ok(plan.length > 0);
  assert.ok(plan.every((p) => p.kind === "plan" && !String(p.command).includes("peer_torch")), "no peer job is planned");
});

test("planJobs alternates ours and the peer's per configuration, each thread setting, the seeds in one job per side", () => {
  const o = { ...parsePeerArgs(["--config", "C1,C4", "--datasets", "moons", "--seeds", "3"]), peerDir: "/peer" };
  const jobs = planJobs(o, "/usr/bin/python3", "node");
  const ids = jobs.map((j) => j.id);
  assert.deepEqual(ids, [
    "MATMUL ours 1 thread",
    "MATMUL peer 1 thread",
    "MATMUL ours threads",
    "MATMUL peer 2 threads",
    "C1 moons ours 1 thread seeds",
    "C1 moons peer 1 thread seeds",
    "C1 moons ours threads",
    "C1 moons peer 2 threads",
    "C4 ours 1 thread",
    "C4 peer 1 thread",
    "C4 ours threads",
    "C4 peer 2 threads",
  ]);
  const ourSeeds = jobs[4]!;
  assert.ok(ourSeeds.argv.includes("--seeds") && ourSeeds.argv.includes("0,1,2"));
  assert.ok(!ourSeeds.argv.includes("--threads"));
  assert.ok(jobs[6]!.argv.includes("--threads"));
  const peerSeeds = jobs[5]!;
  assert.equal(peerSeeds.env.OMP_WAIT_POLICY, "PASSIVE");
  assert.deepEqual(peerSeeds.argv.slice(-2), ["--threads", "1"]);
  assert.ok(peerSeeds.argv.includes("/peer/peer_torch.py"));
  assert.deepEqual(jobs[7]!.argv.slice(-2), ["--threads", "2"]);
  assert.equal(DEFAULT_PEER_OPTIONS.c1Steps, 3000);
  assert.throws(() => parsePeerArgs(["--config", "C9"]), /unknown C9/);
  assert.throws(() => parsePeerArgs(["--seeds", "0"]), /--seeds: expected an integer ≥ 1/);
});

test("renderMarkdown quotes the command, the machine and every comparison of the run", () => {
  const all: Tagged[] = [
    { side: "ours", setting: "1 thread", role: "seeds", record: c1({ seed: 0, kl: 0.1, test_nll: 1.8, steps: 3000 }) },
    { side: "peer", setting: "1 thread", role: "seeds", record: c1({ seed: 0, kl: 0.09, test_nll: 1.79, variant: "affine-exp-zeroinit", steps: 3000, ms_per_step_median: 4 }) },
  ];
  const comparisons = compare(all, "C1", "moons", "affine-exp-zeroinit");
  const job = (side: "ours" | "peer") => ({ id: `C1 moons ${side}`, config: "C1" as const, dataset: "moons", side, setting: "1 thread", role: "seeds" as const, argv: [], env: {}, command: `cmd-${side}` });
  const run: PeerRun = {
    options: DEFAULT_PEER_OPTIONS,
    python: { python: "/usr/bin/python3", torch: "1.13.0", numpy: "1.24.2", version: "3.11.2" },
    argv: ["--config", "C1"],
    started: "2026-12-02T15:40:00.000Z",
    finished: "2026-12-02T15:55:00.000Z",
    results: [
      { job: job("ours"), records: [all[0]!.record], wall_s: 20, other_load: 0.05, exit_code: 0, started: "" },
      { job: job("peer"), records: [all[1]!.record], wall_s: 10, other_load: 0.02, exit_code: 0, started: "" },
    ],
    comparisons,
    quality: qualityLines(all, "moons"),
    engine: [{ kind: "engine", config: "C1", dataset: "moons", setting: "1 thread", kernels_per_step: 313, compile_ms: 1200, first_step_ms: 700, steady_step_ms: 5 }],
    machine: { nproc: 2, cpu: "Test CPU", cpu_mhz: 2600, node: "v20", jax_js: "0.1.25", torch: "1.13.0", numpy: "1.24.2", python: "/usr/bin/python3" },
  };
  const md = renderMarkdown(run);
  assert.match(md, /npm run bench -- --peer --config C1/);
  assert.match(md, /Test CPU, 2600 MHz/);
  assert.match(md, /\| C1 moons \| train step, ms/);
  assert.match(md, /\| 1\.25 \| <= 1 \| \*\*not met\*\* \|/);
  assert.match(md, /\| 313 \| 1,200 \|/);
  assert.match(md, /4\.0% \(mean over jobs/);
  assert.match(md, /`cmd-peer`/);
});

test("isReferenceBlas: Debian's libblas3 alone is the reference BLAS; OpenBLAS or MKL is not", () => {
  assert.equal(isReferenceBlas(["/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"]), true);
  assert.equal(isReferenceBlas(["/x/openblas-pthread/libblas.so.3", "/x/openblas-pthread/libopenblasp-r0.3.21.so"]), false);
  assert.equal(isReferenceBlas([]), false);
});

test("convFlops: 2·N·H·W·c_in·c_out·9 forward, 3× that forward+backward (C5's 32→32 at 28×28 and 14×14, batch 64)", () => {
  assert.equal(convFlops(64, 28, 28, 32, 32, "fwd"), 924_844_032);
  assert.equal(convFlops(64, 28, 28, 32, 32, "fwd+bwd"), 3 * 924_844_032);
  assert.equal(convFlops(64, 14, 14, 32, 32, "fwd"), 924_844_032 / 4);
  assert.equal(convFlops(1, 1, 1, 1, 1, "fwd"), 18);
});

test("CONV records (bench/conv.ts, bench/peer_conv.py) parse and compare per shape and pass; lax.conv only in its reference row", () => {
  const ours = [
    "[bench] progress",
    '{"config":"CONV","impl":"taps","shape":"28x28","pass":"fwd","ms_median":76.5,"gflops_per_s":12.08}',
    '{"config":"CONV","impl":"taps","shape":"28x28","pass":"fwd+bwd","ms_median":287.7,"gflops_per_s":9.64}',
    '{"config":"CONV","impl":"taps","shape":"14x14","pass":"fwd","ms_median":18.3,"gflops_per_s":12.63}',
    '{"config":"CONV","impl":"lax.conv","shape":"14x14","pass":"fwd","ms_median":1660,"gflops_per_s":0.14}',
  ].join("\n");
  const peer = [
    '{"config": "CONV", "impl": "torch.conv2d", "shape": "28x28", "pass": "fwd", "gflops_per_s": 43.81, "contention": NaN, "kernels": ["aten::mkldnn_convolution"]}',
    '{"config": "CONV", "impl": "torch.conv2d", "shape": "28x28", "pass": "fwd+bwd", "gflops_per_s": 63.2}',
    '{"config": "CONV", "impl": "torch.conv2d", "shape": "14x14", "pass": "fwd", "gflops_per_s": 83.5}',
  ].join("\n");
  const o = parseJsonLines(ours);
  const p = parseJsonLines(peer);
  assert.equal(o.length, 4);
  assert.equal(p.length, 3);
  assert.equal(p[0]!.contention, null);
  const all: Tagged[] = [
    ...o.map((record) => ({ side: "ours" as const, setting: "1 thread", role: "timing" as const, record })),
    ...p.map((record) => ({ side: "peer" as const, setting: "1 thread", role: "timing" as const, record })),
    { side: "peer", setting: "2 threads", role: "timing", record: { config: "CONV", impl: "torch.conv2d", shape: "28x28", pass: "fwd", gflops_per_s: 35.5 } },
  ];
  const cs = compare(all, "CONV", null);
  const by = (k: string) => cs.find((c) => c.metric === k)!;
  assert.deepEqual(cs.map((c) => c.metric), ["conv_28x28_fwd_gflops", "conv_28x28_fwdbwd_gflops", "conv_14x14_fwd_gflops", "conv_14x14_fwdbwd_gflops", "conv_14x14_fwd_lax_gflops"]);
  assert.equal(by("conv_28x28_fwd_gflops").ours, 12.08);
  assert.equal(by("conv_28x28_fwd_gflops").peer, 43.81); // the better of 1 and 2 threads
  assert.equal(by("conv_28x28_fwd_gflops").peer_setting, "1 thread");
  assert.equal(by("conv_28x28_fwd_gflops").ratio, 0.276);
  assert.equal(by("conv_28x28_fwdbwd_gflops").ours, 9.64);
  assert.equal(by("conv_14x14_fwd_gflops").ours, 12.63); // not lax.conv's 0.14
  assert.equal(by("conv_14x14_fwdbwd_gflops").ours, null);
  const lax = by("conv_14x14_fwd_lax_gflops");
  assert.equal(lax.ours, 0.14);
  assert.equal(lax.peer, 83.5);
  assert.match(lax.label, /lax\.conv/);
});

test("planJobs: CONV comes with C5 or C6 (or alone), right after MATMUL, ours and the peer alternating; lax.conv in the first setting only", () => {
  assert.ok(!parsePeerArgs(["--config", "C1,C4"]).configs.includes("CONV"));
  assert.deepEqual(parsePeerArgs(["--config", "C5"]).configs, ["MATMUL", "CONV", "C5"]);
  assert.deepEqual(parsePeerArgs(["--config", "all"]).configs, ["MATMUL", "CONV", "C1", "C2", "C3", "C4", "C5", "C6"]);
  const o = { ...parsePeerArgs(["--config", "conv"]), peerDir: "/peer" };
  assert.deepEqual(o.configs, ["MATMUL", "CONV"]);
  const jobs = planJobs(o, "/usr/bin/python3", "node").filter((j) => j.config === "CONV");
  assert.deepEqual(jobs.map((j) => j.id), ["CONV ours 1 thread", "CONV peer 1 thread", "CONV ours threads", "CONV peer 2 threads"]);
  assert.ok(jobs[0]!.argv.includes("bench/conv.ts"));
  assert.deepEqual(jobs[0]!.argv.slice(-2), ["--lax", "14"]);
  assert.ok(jobs[2]!.argv.includes("--threads") && jobs[2]!.argv.includes("none"));
  assert.ok(jobs[1]!.argv.some((a) => a.endsWith("bench/peer_conv.py")));
  assert.equal(jobs[1]!.env.OMP_WAIT_POLICY, "PASSIVE");
  assert.deepEqual(jobs[3]!.argv.slice(-2), ["--threads", "2"]);
  assert.match(jobs[3]!.command, /^OMP_WAIT_POLICY=PASSIVE .*bench\/peer_conv\.py --reps 10 --threads 2$/);
});

test("runPeer --config CONV without torch: the peer is skipped, only our CONV and MATMUL jobs are planned", async () => {
  const lines: string[] = [];
  const code = await runPeer(["--python", fakePython(), "--config", "CONV", "--dry-run"], { out: (l) => void lines.push(l), err: () => {} });
  assert.equal(code, 0);
  assert.equal(JSON.parse(lines[0]!).peer, "skipped");
  const plan = lines.slice(1).map((l) => JSON.parse(l));
  assert.deepEqual(plan.map((p) => p.id), ["MATMUL ours 1 thread", "MATMUL ours threads", "CONV ours 1 thread", "CONV ours threads"]);
  assert.ok(plan.every((p) => !String(p.command).includes("peer_conv")));
});

test("renderMarkdown: the CONV records sit in § Ceilings next to the matmul, and the C5/C6 target lines quote the convolution's GFLOP/s", () => {
  const rec = (side: "ours" | "peer", over: Record<string, unknown>): Record<string, unknown> => ({ config: "CONV", shape: "28x28", pass: "fwd+bwd", reps: 10, ms_median: 10, contention: 0.25, ...over });
  const records = {
    ours: [rec("ours", { impl: "taps", gflops_per_s: 9.64 }), rec("ours", { impl: "lax.conv", shape: "14x14", pass: "fwd", gflops_per_s: 0.14 })],
    peer: [rec("peer", { impl: "torch.conv2d", gflops_per_s: 63.2, kernels: ["aten::mkldnn_convolution"] })],
  };
  const all: Tagged[] = (["ours", "peer"] as const).flatMap((side) => records[side].map((record) => ({ side, setting: "1 thread", role: "timing" as const, record })));
  const job = (side: "ours" | "peer") => ({ id: `CONV ${side} 1 thread`, config: "CONV" as const, side, setting: "1 thread", role: "timing" as const, argv: [], env: {}, command: `cmd-${side}` });
  const run: PeerRun = {
    options: { ...DEFAULT_PEER_OPTIONS, configs: ["MATMUL", "CONV", "C5"] },
    python: { python: "/usr/bin/python3", torch: "1.13.0" },
    argv: ["--config", "CONV"],
    started: "2026-12-02T19:00:00.000Z",
    finished: "2026-12-02T19:01:00.000Z",
    results: (["ours", "peer"] as const).map((side) => ({ job: job(side), records: records[side], wall_s: 20, other_load: 0.25, exit_code: 0, started: "" })),
    comparisons: compare(all, "CONV", null),
    quality: [],
    engine: [],
    machine: { nproc: 2, cpu: "Test CPU" },
  };
  const md = renderMarkdown(run);
  assert.match(md, /## Ceilings/);
  assert.match(md, /\| ours, nine tap matmuls \| 1 thread \| 28x28 \| fwd\+bwd \| 10 \(10 calls\) \| 9\.64 \| 25% \|/);
  assert.match(md, /\| PyTorch conv2d \(oneDNN\) \| 1 thread \| 28x28 \| fwd\+bwd \| 10 \(10 calls\) \| 63\.2 \|/);
  assert.match(md, /ours, jax-js lax\.conv \(reference\)/);
  assert.match(md, /C5 measured and reported: .*3×3 conv forward\+backward GFLOP\/s ours 9\.64, PyTorch 63\.2 at 28×28/);
});
