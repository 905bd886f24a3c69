/**
 * docs/benchmarks.md from ONE `npm run bench -- --peer … --markdown FILE` run (bench/peer.ts):
 * machine, date, versions, exact commands, the load from other processes, every figure of the
 * run. Regenerate it by running the command it quotes; never edit it by hand.
 */
import type { Comparison, EngineLine, JobResult, PeerRun, QualityLine, SeedSummary } from "./peer.js";

const FULL_STEPS: Record<string, number> = { C1: 3000, C2: 2000, C3: 1500, C5: 5000, C6: 9000 };

function f(v: unknown, digits?: number): string {
  if (typeof v !== "number" || !Number.isFinite(v)) return "—";
  if (digits !== undefined) return v.toFixed(digits);
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString("en-US");
  return String(Number(v.toFixed(a >= 10 ? 2 : a >= 1 ? 3 : 4)));
}

function get(r: Record<string, unknown>, ...path: string[]): unknown {
  return path.reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), r);
}

function table(head: string[], rows: string[][]): string {
  const esc = (c: string): string => c.replace(/\|/g, "\\|");
  return [`| ${head.map(esc).join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`)].join("\n") + "\n";
}

function seeds(s: SeedSummary | null | undefined): string {
  return s ? `${f(s.median)} [${f(s.min)}, ${f(s.max)}] (n = ${s.n})` : "—";
}

/** Other processes' share of the CPUs, from a record (ours: a number; the peer's: an object). */
function contention(r: Record<string, unknown>): number | null {
  const c = r.train_contention;
  if (typeof c === "number") return c;
  const o = get(r, "train_contention", "other_busy_frac");
  return typeof o === "number" ? o : null;
}

function comparisonRows(cs: readonly Comparison[]): string[][] {
  return cs.map((c) => [
    `${c.config}${c.dataset ? ` ${c.dataset}` : ""}`,
    c.label,
    c.ours === null ? "—" : `${f(c.ours)} (${c.ours_setting}, ${c.ours_runs} run${c.ours_runs === 1 ? "" : "s"})`,
    c.peer === null ? "—" : `${f(c.peer)} (${c.peer_setting}, ${c.peer_runs} run${c.peer_runs === 1 ? "" : "s"})`,
    c.ratio === null ? "—" : f(c.ratio, c.ratio >= 10 ? 1 : 2),
    c.target ?? "",
    c.met === null ? "" : c.met ? "met" : "**not met**",
  ]);
}

function qualityRows(qs: readonly QualityLine[]): string[][] {
  return qs.map((q) => [
    q.dataset,
    q.metric === "kl" ? "KL (nats)" : "test NLL (nats)",
    `${seeds(q.ours)}${q.ours_diverged.length ? `; diverged: seed ${q.ours_diverged.join(", ")}` : ""}`,
    (q.peer_diverged.length ? `diverged: seed ${q.peer_diverged.join(", ")}<br>` : "") + Object.entries(q.peer).map(([v, s]) => `${v}: ${seeds(s)}`).join("<br>"),
    q.difference === null ? "—" : f(q.difference, 4),
    q.spread === null ? "—" : f(q.spread, 4),
    q.met === null ? "" : q.met ? "met" : "**not met**",
  ]);
}

function engineRows(es: readonly EngineLine[]): string[][] {
  return es.map((e) => [`${e.config}${e.dataset ? ` ${e.dataset}` : ""}`, f(e.kernels_per_step), f(e.compile_ms), f(e.steady_step_ms), f(e.first_step_ms)]);
}

function shortLabel(r: Record<string, unknown>): string {
  const config = String(r.config);
  const steps = typeof r.steps === "number" ? r.steps : null;
  const full = FULL_STEPS[config];
  if (steps === null || full === undefined) return "";
  return steps >= full ? "full" : `${steps} of ${full} steps`;
}

function recordRows(results: readonly JobResult[]): string[][] {
  const rows: string[][] = [];
  for (const res of results)
    for (const r of res.records) {
      if (r.config === "MATMUL") {
        rows.push([res.job.side, res.job.setting, "MATMUL", "", "", "", `${f(r.ms_median)} ms/call`, "", "", "", "", "", `${f(r.gflops_per_s)} GFLOP/s`]);
        continue;
      }
      if (r.config === "CONV") {
        rows.push([res.job.side, res.job.setting, "CONV", String(r.impl ?? ""), "", `${String(r.shape ?? "")} ${String(r.pass ?? "")}`, `${f(r.ms_median)} ms/call`, f(r.contention), "", "", "", "", `${f(r.gflops_per_s)} GFLOP/s`]);
        continue;
      }
      if (r.skipped) {
        rows.push([res.job.side, res.job.setting, String(r.config), "", "", "", "skipped", "", "", "", "", "", String(r.skipped)]);
        continue;
      }
      const c4 = r.config === "C4";
      rows.push([
        res.job.side,
        res.job.setting,
        `${String(r.config)}${res.job.dataset ? ` ${res.job.dataset}` : ""}`,
        r.config === "C1" && res.job.side === "peer" ? String(r.variant ?? "") : "",
        r.seed === undefined ? "" : String(r.seed),
        shortLabel(r),
        c4 ? "" : `${f(r.ms_per_step_median)} (${f(r.ms_per_step_p10)}–${f(r.ms_per_step_p90)}); all ${f(r.ms_per_step_median_all)}`,
        f(contention(r)),
        c4 ? f(get(r, "maf_logprob_b10000", "items_per_s")) : f(get(r, "logprob_throughput", "items_per_s")),
        c4 ? f(get(r, "iaf_sample_b10000", "items_per_s")) : f(get(r, "sample_throughput", "items_per_s")),
        f(r.test_nll ?? r.test_bits_per_dim),
        f(r.kl),
        [
          r.stop_reason && r.stop_reason !== "completed" ? `**${String(r.stop_reason)}** at step ${String(r.steps)}` : "",
          r.first_nonfinite_step !== null && r.first_nonfinite_step !== undefined && res.job.side === "peer" ? `**non-finite loss** at step ${String(r.first_nonfinite_step)}` : "",
          r.config === "C1" || r.config === "C2" ? `first step ${f(r.first_step_ms)} ms${r.kernels_per_step !== undefined ? `, ${f(r.kernels_per_step)} kernels` : ""}` : "",
        ]
          .filter(Boolean)
          .join("; "),
      ]);
    }
  return rows;
}

function weightedLoad(results: readonly JobResult[]): number | null {
  let w = 0;
  let s = 0;
  for (const r of results)
    if (r.other_load !== null) {
      w += r.wall_s;
      s += r.wall_s * r.other_load;
    }
  return w > 0 ? s / w : null;
}

/** Our records' relaxed-SIMD state (src/engine/wasm-simd.ts), e.g. "enabled" (fused multiply-add on). */
function relaxed(run: PeerRun): string {
  const states = new Set(run.results.filter((r) => r.job.side === "ours").flatMap((r) => r.records.map((x) => get(x, "env", "relaxed_simd"))).filter((v) => typeof v === "string"));
  return states.size ? [...states].join(", ") : "?";
}

/** One line per target of issue 10: the figures, and met / not met / not measured. */
export function targetLines(run: PeerRun): string[] {
  const lines: string[] = [];
  const verdict = (ok: boolean | null): string => (ok === null ? "not measured" : ok ? "met" : "**not met**");
  const ratios = (config: string, metric: string): { text: string; ok: boolean | null } => {
    const cs = run.comparisons.filter((c) => c.config === config && c.metric === metric);
    const measured = cs.filter((c) => c.ratio !== null);
    if (!measured.length)
      return { text: (run.options.configs as readonly string[]).includes(config) ? "not measured in this run (skipped or failed: § Jobs)" : `not in this run (${config} not in --config)`, ok: null };
    return {
      text: measured.map((c) => `${c.dataset ?? c.config} ${f(c.ratio, 2)}`).join(", "),
      ok: measured.every((c) => c.met !== false),
    };
  };
  const t1 = ratios("C1", "train_ms_per_step");
  lines.push(`C1 train step ≤ 1.0 × PyTorch's: ${t1.text} — ${verdict(t1.ok)}`);
  const lp = ratios("C1", "logprob_items_per_s");
  const sm = ratios("C1", "sample_items_per_s");
  lines.push(`C1 log-prob throughput ≥ 0.7 of PyTorch's: ${lp.text} — ${verdict(lp.ok)}; sampling: ${sm.text} — ${verdict(sm.ok)}`);
  for (const config of ["C2", "C3"]) {
    const t = ratios(config, "train_ms_per_step");
    const g = run.comparisons.filter((c) => c.config === config && c.metric === "train_gflops" && c.ours !== null);
    const gf = g.length ? `; GFLOP/s per step ours ${g.map((c) => f(c.ours)).join(", ")}, PyTorch ${g.map((c) => f(c.peer)).join(", ")} (ceilings: § Ceilings)` : "";
    lines.push(`${config} train step ≤ 2.0 × PyTorch's: ${t.text} — ${verdict(t.ok)}${gf}`);
  }
  // the convolution's GFLOP/s beside the matmul's (§ Ceilings): ours / PyTorch, forward+backward at 28×28
  const cell = (config: string, metric: string): string => {
    const c = run.comparisons.find((x) => x.config === config && x.metric === metric);
    return c && (c.ours !== null || c.peer !== null) ? `ours ${f(c.ours)}, PyTorch ${f(c.peer)}` : "not measured";
  };
  const convNote = run.comparisons.some((c) => c.config === "CONV" && (c.ours !== null || c.peer !== null))
    ? `; 3×3 conv forward+backward GFLOP/s ${cell("CONV", "conv_28x28_fwdbwd_gflops")} at 28×28, ${cell("CONV", "conv_14x14_fwdbwd_gflops")} at 14×14, beside the 512³ matmul's ${cell("MATMUL", "matmul_gflops")} (§ Ceilings)`
    : "";
  for (const config of ["C5", "C6"]) {
    const t = ratios(config, "train_ms_per_step");
    lines.push(`${config} measured and reported: ${t.ok === null && !run.comparisons.some((c) => c.config === config && c.ratio !== null) ? t.text : `train-step ratio ${t.text} (short run)`}${convNote}`);
  }
  for (const q of run.quality.filter((x) => x.metric === "kl"))
    lines.push(
      `C1 ${q.dataset} quality (KL over ${q.ours?.n ?? 0} seeds; ${q.target}): ours ${seeds(q.ours)}, best PyTorch variant ${q.best_peer_variant ?? "—"} ${seeds(q.best_peer_variant ? q.peer[q.best_peer_variant] : null)} — ${verdict(q.met)}`,
    );
  return lines;
}

/** The markdown page of one run. */
export function renderMarkdown(run: PeerRun): string {
  const m = run.machine;
  const cmd = `npm run bench -- --peer ${run.argv.join(" ")}`.trim();
  const load = weightedLoad(run.results);
  const mhz = typeof m.cpu_mhz === "number" ? m.cpu_mhz : null;
  const cores = typeof m.nproc === "number" ? m.nproc : null;
  const matmul = run.results.filter((r) => r.job.config === "MATMUL");
  const conv = run.results.filter((r) => r.job.config === "CONV");
  const out: string[] = [];
  out.push("# Benchmarks: this library beside plain PyTorch, one run\n\n");
  out.push(
    `Generated by \`${cmd}\` (bench/peer.ts, bench/report.ts); regenerate it with the same command, do not edit it by hand. ` +
      "Every figure below comes from this one run on this one machine: ours and PyTorch's jobs ran one after the other, " +
      "alternating per configuration (ours, PyTorch, ours, PyTorch …), each side at its best thread setting. " +
      "The reference workloads are docs/reference/CONFIGS.md and CONFIGS-IMAGES.md; PyTorch is ../shared/bench/peer_torch.py and peer_torch_images.py " +
      "(plain PyTorch, no flow library) run unchanged.\n\n",
  );
  out.push("## Machine and run\n\n");
  out.push(
    table(
      ["", ""],
      [
        ["date (UTC)", `${run.started} → ${run.finished}`],
        ["CPUs (`nproc`)", String(m.nproc ?? "?")],
        ["CPU model", `${String(m.cpu)}${mhz ? `, ${mhz} MHz` : ""}; SIMD flags: ${(m.simd as string[] | undefined)?.join(", ") ?? "?"}`],
        ["Node.js / jax-js", `${String(m.node)} / ${String(m.jax_js)} (wasm backend, float32; relaxed SIMD: ${relaxed(run)})`],
        ["PyTorch / numpy / python", run.python && "torch" in run.python ? `${String(m.torch)} / ${String(m.numpy ?? "?")} / ${String(m.python)}` : `skipped: ${(run.python as { skipped: string }).skipped}`],
        ["PyTorch's BLAS (mapped after `import torch`)", `${((m.peer_blas as string[] | undefined) ?? []).join(", ") || "?"}${m.peer_blas_dir ? ` (via LD_LIBRARY_PATH=${String(m.peer_blas_dir)})` : ""}${m.peer_blas_warning ? ` — **${String(m.peer_blas_warning)}**` : ""}`],
        ["commit", String(m.git ?? "?")],
        ["load average at the start", String(m.loadavg_start ?? "?")],
        ["other processes' share of the CPUs during the run", load === null ? "?" : `${(100 * load).toFixed(1)}% (mean over jobs, weighted by their wall time; per job below)`],
      ],
    ),
  );
  out.push(
    "\nThread settings: ours \"1 thread\" is the default (single-threaded wasm), \"threads\" is `--threads` (jax-js's worker pool on every core, src/engine/threads.ts); " +
      "PyTorch runs with `OMP_WAIT_POLICY=PASSIVE` and `--threads 1` or `2` (torch.set_num_threads and its BLAS pools). " +
      "For each figure and side the median over that setting's runs is taken and the better setting kept; PyTorch's figure is the best of its runs at its best setting (ours the median), so the ratio does not flatter us. " +
      "ratio = ours / PyTorch: for times ≤ 1 means we are faster, for throughputs ≥ 1 means we are faster. " +
      "PyTorch runs with `--no-wait` (it would otherwise wait for a quiet machine before each block, which our runs do not).\n",
  );
  out.push("\n## Side by side\n\n");
  out.push(table(["config", "figure", "ours", "PyTorch", "ratio", "target (issue 10)", ""], comparisonRows(run.comparisons)));
  out.push("\n### Targets of issue 10\n\n");
  out.push(targetLines(run).map((l) => `- ${l}\n`).join(""));
  const shortened = [...new Set(run.results.flatMap((r) => r.records.map((x) => (shortLabel(x) && shortLabel(x) !== "full" ? `${String(x.config)} (${shortLabel(x)})` : ""))).filter(Boolean))];
  if (shortened.length)
    out.push(
      `\nShortened runs: ${shortened.join(", ")}. Their step times are medians over the timed window (steps 100..599, or the steps run when fewer) or, for the image ` +
        "configurations, over all steps of a short run; their NLLs, KLs and bits/dim are those of undertrained models and are not quality figures.\n",
    );
  if (run.quality.length) {
    out.push("\n## C1 quality at equal budget, several seeds\n\n");
    out.push(
      "Seed k: weights from seed k, training batches from seed 1 + 10k (k = 0 is the default run of either side); the test set (20,000 points) and the entropy estimate are the same for every seed. " +
        "peer_torch.py has no seed option: bench/peer_seeds.py imports it unchanged and sets its SEED_MODEL / SEED_TRAIN constants per seed. " +
        "Figures: median [min, max] over the seeds. Ours is the affine-softclamp3 RealNVP (log-scale 3·tanh(raw/3), zero-initialised output layer); " +
        "PyTorch's variants are normflows' exp-scale zero-init RealNVP (affine-exp-zeroinit) and nflows' affine coupling with its general scale activation (affine-softplus-clamp3). " +
        "difference = ours median − the best PyTorch variant's median; spread = the larger of the two seed ranges.\n\n",
    );
    out.push(table(["toy", "metric", "ours", "PyTorch (per variant)", "difference", "spread", "target"], qualityRows(run.quality)));
    out.push("\nTargets: 8gaussians and checkerboard: ours median ≤ the best PyTorch variant's; moons: no worse than it by more than the spread.\n");
  }
  if (run.engine.length) {
    out.push("\n## Our engine per training step\n\n");
    out.push(
      "Kernel launches of one compiled training step (loss, gradient and Adam in one jit, bench/kernels.ts) and the one-off cost of tracing and compiling it; " +
        "the probe runs first in its process, so compile_ms is the real first-call cost; trainFlow's first step comes after it and reuses the kernels it compiled (what remains is tracing and setup).\n\n",
    );
    out.push(table(["config", "kernels per step", "compile, ms", "next calls, ms (median of the probe's 2–5 calls after the first; still warming up)", "first trainFlow step, ms (after the probe)"], engineRows(run.engine)));
  }
  if (matmul.length || conv.length) {
    out.push("\n## Ceilings\n\n");
    const rows = matmul.flatMap((r) => r.records.map((x) => [r.job.side === "ours" ? "ours (jax-js wasm, one jitted call)" : "PyTorch torch.mm", r.job.setting, f(x.ms_median), f(x.gflops_per_s)]));
    if (rows.length) out.push(table(["512³ float32 matmul", "setting", "ms (median of 15)", "GFLOP/s"], rows));
    if (conv.length) {
      out.push(
        "\nThe C5/C6 conditioner's convolution alone (docs/reference/CONFIGS-IMAGES.md §2.2: 3×3, stride 1, zero padding 1, bias, 32→32 maps, batch 64), " +
          "read next to the matmul above. Ours: one hidden convolution of src/nn/resnet.ts as resnetApply runs it (`resnetHiddenConv`: relu, pad of the flat channel-last grid, " +
          "nine tap matmuls over shifted views, bias, mask), jitted; forward+backward is jit(grad) of Σ y⊙c w.r.t. input, W and b (bench/conv.ts). " +
          "PyTorch: torch.nn.functional.conv2d, NCHW, and .backward(c) (bench/peer_conv.py; the kernel it ran is named). " +
          "FLOPs: forward 2·N·H·W·c_in·c_out·9, forward+backward 3× that; GFLOP/s = FLOPs / median call time.\n\n",
      );
      const convRows = conv.flatMap((r) =>
        r.records.map((x) => [
          r.job.side === "ours" ? (x.impl === "lax.conv" ? "ours, jax-js lax.conv (reference)" : "ours, nine tap matmuls") : `PyTorch conv2d${Array.isArray(x.kernels) && x.kernels.some((k) => String(k).includes("mkldnn")) ? " (oneDNN)" : ""}`,
          r.job.setting,
          String(x.shape ?? ""),
          String(x.pass ?? ""),
          `${f(x.ms_median)} (${String(x.reps ?? "?")} calls)`,
          f(x.gflops_per_s),
          x.contention === null || x.contention === undefined ? "?" : `${(100 * Number(x.contention)).toFixed(0)}%`,
        ]),
      );
      out.push(table(["3×3 conv 32→32, batch 64", "setting", "image", "pass", "ms (median)", "GFLOP/s", "other processes"], convRows));
    }
    if (mhz && cores)
      out.push(
        `\nHardware, theoretical: ${cores} cores × ${(mhz / 1000).toFixed(2)} GHz; 128-bit wasm SIMD holds 4 float32 lanes, so with two vector units per core ` +
          `${f((cores * mhz * 4 * 2) / 1000)} GFLOP/s without fused multiply-add (separate mul and add) and ${f((cores * mhz * 4 * 2 * 2) / 1000)} GFLOP/s with it (relaxed SIMD); ` +
          "PyTorch's native AVX2/AVX-512 code is not bound by 128-bit lanes. The train-step GFLOP/s in the table above count ≈ 6·batch·params FLOP per step " +
          "(every weight's forward product and its two backward products; masked MADE weights included, as a dense matmul computes them).\n",
      );
  }
  out.push("\n## Jobs, in the order they ran\n\n");
  out.push(
    table(
      ["#", "job", "command", "wall, s", "other processes", "result"],
      run.results.map((r, i) => [String(i + 1), r.job.id, `\`${r.job.command}\``, f(r.wall_s), r.other_load === null ? "?" : `${(100 * r.other_load).toFixed(0)}%`, r.error ? `error: ${r.error}` : `${r.records.length} record(s)`]),
    ),
  );
  if (run.skippedJobs?.length)
    out.push(`\nNot run (over the time budget, --budget-s ${String(run.options.budgetS)}): ${run.skippedJobs.map((j) => j.id).join("; ")}.\n`);
  out.push("\n## Every run's figures\n\n");
  out.push(
    "Per record: step time median over steps 100..599 (p10–p90) and the median of all steps, ms; other processes' CPU share during training; " +
      "log-prob and sampling items/s (C4: MAF log-prob and IAF sampling at 10,000); test NLL (images: bits/dim) and KL; notes. " +
      "C1 PyTorch rows name the variant; ours is affine-softclamp3 throughout.\n\n",
  );
  out.push(table(["side", "setting", "config", "variant", "seed", "steps", "ms/step", "other", "log-prob/s", "sample/s", "test NLL", "KL", "notes"], recordRows(run.results)));
  return out.join("");
}
