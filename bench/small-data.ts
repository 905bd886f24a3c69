/**
 * `nflow train` defaults against two baselines on the small real tables of ../shared/data, on
 * held-out NLL (nats per row, data units): our own random 80/20 splits of each set's training
 * part (never its held-out 20 %). Baselines: a full-covariance Gaussian (MLE) and a Gaussian KDE
 * with Scott's rule (kernel covariance n^(−2/(D+4))·Σ, as scipy's gaussian_kde).
 * Treatment, the same for every method: columns constant in a training split are dropped (every
 * density is degenerate on them); integer-valued columns are left as they are (continuous
 * densities on the raw values, no dequantisation).
 * Usage: node --import tsx bench/small-data.ts [--splits 2] [--sets a,b] [--extra "--val 0.2 …"] [--tag NAME] > rows.jsonl
 * (--extra: more `nflow train` flags; --tag: a label copied into every row; --no-baselines: skip them)
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { hostPermutation } from "../src/engine/random.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const shared = join(root, "..", "shared", "data");
const SETS: Record<string, string> = {
  "old-faithful": "train.f32",
  "geyser-mass": "train.f32",
  "galaxies-mass": "train.f32",
  quakes: "train.f32",
  "palmer-penguins": "train.f32",
  "boston-housing": "train.f32",
  ionosphere: "train.f32",
  "sklearn-digits": "train.f32",
  "uci-wine-quality": "red.f32",
  "uci-parkinsons-telemonitoring": "data.f32",
};
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const splits = Number(arg("splits") ?? 2);
const only = arg("sets")?.split(",");

function load(set: string): { x: number[][]; cols: string[] } {
  const meta = JSON.parse(readFileSync(join(shared, set, "meta.json"), "utf8"));
  const buf = readFileSync(join(shared, set, SETS[set]!));
  const f = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const cols: string[] = meta.columns ?? meta.files?.[SETS[set]!]?.columns;
  const D = cols.length;
  const n = f.length / D;
  return { x: Array.from({ length: n }, (_, i) => Array.from(f.subarray(i * D, (i + 1) * D))), cols };
}

/** log N(x; μ, Σ) for rows, by Cholesky. */
function gaussLogPdf(rows: number[][], mu: number[], cov: number[][]): number[] {
  const D = mu.length;
  const L = cov.map((r) => r.slice());
  for (let j = 0; j < D; j++) {
    for (let k = 0; k < j; k++) L[j]![j]! -= L[j]![k]! ** 2;
    if (!(L[j]![j]! > 0)) return rows.map(() => -Infinity);
    L[j]![j] = Math.sqrt(L[j]![j]!);
    for (let i = j + 1; i < D; i++) {
      for (let k = 0; k < j; k++) L[i]![j]! -= L[i]![k]! * L[j]![k]!;
      L[i]![j] = L[i]![j]! / L[j]![j]!;
    }
  }
  let logDet = 0;
  for (let j = 0; j < D; j++) logDet += 2 * Math.log(L[j]![j]!);
  return rows.map((x) => {
    const y = new Array<number>(D);
    let q = 0;
    for (let i = 0; i < D; i++) {
      let s = x[i]! - mu[i]!;
      for (let k = 0; k < i; k++) s -= L[i]![k]! * y[k]!;
      y[i] = s / L[i]![i]!;
      q += y[i]! ** 2;
    }
    return -0.5 * (q + logDet + D * Math.log(2 * Math.PI));
  });
}

function meanCov(rows: number[][]): { mu: number[]; cov: number[][] } {
  const n = rows.length;
  const D = rows[0]!.length;
  const mu = Array.from({ length: D }, (_, d) => rows.reduce((s, r) => s + r[d]!, 0) / n);
  const cov = Array.from({ length: D }, (_, a) => Array.from({ length: D }, (_, b) => rows.reduce((s, r) => s + (r[a]! - mu[a]!) * (r[b]! - mu[b]!), 0) / n));
  return { mu, cov };
}

function kdeScott(train: number[][], test: number[][]): number[] {
  const n = train.length;
  const D = train[0]!.length;
  const { cov } = meanCov(train);
  // scipy: unbiased covariance × factor², factor = n^(−1/(D+4))
  const f2 = n ** (-2 / (D + 4));
  const H = cov.map((r) => r.map((v) => (v * n) / (n - 1) * f2));
  const out: number[] = [];
  for (const x of test) {
    const lps = gaussLogPdf(train.map((t) => x.map((v, d) => v - t[d]!)), new Array(D).fill(0), H);
    const m = Math.max(...lps);
    out.push(m + Math.log(lps.reduce((s, v) => s + Math.exp(v - m), 0)) - Math.log(n));
  }
  return out;
}

const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
const csv = (rows: number[][], cols: string[]): string => [cols.join(","), ...rows.map((r) => r.join(","))].join("\n") + "\n";

const work = mkdtempSync(join(tmpdir(), "nflow-small-"));
try {
  for (const set of Object.keys(SETS)) {
    if (only && !only.includes(set)) continue;
    const { x, cols } = load(set);
    for (let s = 0; s < splits; s++) {
      const perm = hostPermutation(x.length, 1000 + s);
      const nTest = Math.round(0.2 * x.length);
      const testAll = perm.slice(0, nTest).map((i) => x[i]!);
      const trainAll = perm.slice(nTest).map((i) => x[i]!);
      const keep = cols.map((_, d) => d).filter((d) => trainAll.some((r) => r[d] !== trainAll[0]![d]));
      const pick = (rows: number[][]) => rows.map((r) => keep.map((d) => r[d]!));
      const train = pick(trainAll);
      const test = pick(testAll);
      const { mu, cov } = meanCov(train);
      const baselines = !process.argv.includes("--no-baselines");
      const gauss = baselines ? -mean(gaussLogPdf(test, mu, cov)) : null;
      const kde = baselines ? -mean(kdeScott(train, test)) : null;
      const trainCsv = join(work, `${set}-${s}-train.csv`);
      const testCsv = join(work, `${set}-${s}-test.csv`);
      const kc = keep.map((d) => cols[d]!.replace(/[ ,]/g, "_"));
      writeFileSync(trainCsv, csv(train, kc));
      writeFileSync(testCsv, csv(test, kc));
      const model = join(work, `${set}-${s}.nflow`);
      const t0 = Date.now();
      const tr = spawnSync(process.execPath, ["--import", "tsx", join(root, "src/cli/main.ts"), "train", "--data", trainCsv, "--out", model, "--seed", String(s), "--json", ...(process.argv.includes("--extra") ? arg("extra")!.split(" ").filter(Boolean) : [])], { encoding: "utf8" });
      const seconds = (Date.now() - t0) / 1000;
      // exit 4 (diverged: the validation loss ran away) still leaves the best model at --out
      const status = tr.status === 0 ? "ok" : `exit ${tr.status}`;
      let run: { stopReason?: string; steps?: number; bestStep?: number } = {};
      try {
        const r = JSON.parse(tr.stdout.trim().split("\n").at(-1) ?? "{}");
        run = { stopReason: r.stopReason, steps: r.steps, bestStep: r.bestStep };
      } catch {
        // no JSON result (a usage error): the status and stderr say why
      }
      let flow: number | string = `train ${status}: ${tr.stderr.trim().split("\n").at(-1)}`;
      if (existsSync(model)) {
        const ev = spawnSync(process.execPath, ["--import", "tsx", join(root, "src/cli/main.ts"), "eval", "--model", model, "--data", testCsv, "--json"], { encoding: "utf8" });
        const last = ev.stdout.trim().split("\n").at(-1) ?? "{}";
        flow = JSON.parse(last).nll ?? `eval exit ${ev.status}`;
      }
      console.log(JSON.stringify({ tag: arg("tag") ?? null, ...run, set, split: s, nTrain: train.length, nTest: test.length, dim: keep.length, dropped: cols.length - keep.length, gauss, kde, flow, trainStatus: status, trainSeconds: seconds }));
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
