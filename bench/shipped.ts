/**
 * `npm run bench -- --config shipped [--models DIR] [--test-n N] [--inpaint-n N]`: the figures of
 * the pretrained MNIST models that ship in models/ (docs/images.md):
 *   - test bits/dim of each on MNIST's test images (dequantised at the evaluation seed, as
 *     `nflow eval`; the class-conditional MAF with the true labels), with standard errors;
 *   - NICE inpainting on test digits 0..N−1 (default 100) and the ten masks of docs/reference/CONFIGS-IMAGES.md
 *     §3.4: MAP (500 Adam steps, lr 0.01, clipped) and the MALA posterior mean (200 + 300 steps
 *     from the MAP estimate), PSNR of the hidden pixels next to the mean-image fill (the 50,000
 *     training images) and log p before/after, against the peer's C6 figures;
 *   - class-conditional samples (100 per class, T = 0.7 and 1) scored by a small MLP classifier
 *     trained here on the 50,000 training images (its own test accuracy reported beside).
 * Random masks use this library's seeded generator, not numpy's default_rng(5): the same
 * distribution of masks, not the same pixels.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { blockUntilReady, jit, nn, valueAndGrad, type Array } from "../src/engine/jax.js";
import { fromValues } from "../src/engine/dtype.js";
import { keyFromSeed, hostPermutation } from "../src/engine/random.js";
import { refTree, disposeTree } from "../src/engine/tree.js";
import { mlpApply, mlpInit, type MLPParams, type MLPSpec } from "../src/nn/mlp.js";
import { adamInit, adamUpdate, type AdamState } from "../src/train/adam.js";
import { loadModel } from "../src/model/load.js";
import type { FlowModel } from "../src/model/model.js";
import { loadImageData, type ImageData } from "../src/data/image-files.js";
import { bitsPerDim, dequantizeSeeded, EVAL_NOISE_SEED } from "../src/data/dequantize.js";
import { meanAndStdError } from "../src/train/evaluate.js";
import { INPAINTING_MASKS, inpaintingMask } from "../src/tasks/inpainting-masks.js";
import { inpaintingReport } from "../src/tasks/inpainting.js";
import { labelClasses, labelContext, sampleImages } from "../src/tasks/image-samples.js";
import { env, log, round } from "./common.js";

const MODELS = fileURLToPath(new URL("../models/", import.meta.url));

/** docs/reference/PEERS-IMAGES.md C6 inpainting (PyTorch, 15.2M-parameter NICE after 9,000 steps): PSNR MAP / mean fill, log p after / original. */
const PEER_C6_INPAINTING: Record<string, [number, number, number, number]> = {
  top: [11.52, 12.08, 2248, 2000],
  bottom: [10.86, 11.76, 2142, 2000],
  odd: [18.54, 11.93, 2155, 2000],
  even: [19.27, 11.9, 2332, 2000],
  left: [10.86, 12.22, 2042, 2000],
  right: [11.51, 11.63, 2251, 2000],
  vband: [8.12, 9.36, 2231, 2000],
  hband: [8.91, 10.2, 2282, 2000],
  random75: [11.81, 11.9, 2004, 2000],
  random90: [10.66, 11.92, 1938, 2000],
};

const pixels = (set: ImageData, centre: boolean): Float64Array =>
  centre ? Float64Array.from(set.images, (b) => (b + 0.5) / 256) : dequantizeSeeded(set.images, 256, EVAL_NOISE_SEED);

/** Test bits/dim (and nats) of a model on the test images, in chunks. */
function testScore(model: FlowModel, test: ImageData): Record<string, number> {
  const x = pixels(test, false);
  const K = labelClasses(model);
  const ctx = K > 0 ? labelContext(test.labels!, K) : undefined;
  const lp = new Float64Array(test.n);
  const chunk = 500;
  for (let s = 0; s < test.n; s += chunk) {
    const m = Math.min(chunk, test.n - s);
    lp.set(model.logProb(x.subarray(s * 784, (s + m) * 784), ctx?.subarray(s * K, (s + m) * K)), s);
  }
  const { mean, se } = meanAndStdError(lp);
  return { test_n: test.n, test_ll_nats: round(mean, 2), test_ll_se: round(se, 2), test_bits_per_dim: round(bitsPerDim(mean, 784, 256), 4), test_bits_per_dim_se: round(se / (784 * Math.LN2), 4) };
}

/** A 784-256-10 MLP classifier trained on the training images (3 epochs, Adam 1e-3, batch 128); returns predict(). */
async function trainClassifier(train: ImageData): Promise<{ predict: (x: Float64Array, n: number) => number[]; dispose: () => void }> {
  const spec: MLPSpec = { inputDim: 784, hidden: [256], outputDim: 10, activation: "relu", zeroLast: false };
  let params: MLPParams = mlpInit(spec, keyFromSeed(11), "float32");
  let opt: AdamState = adamInit(params);
  const B = 128;
  type Step = (p: MLPParams, s: AdamState, x: Array, y: Array, lr: Array) => [MLPParams, AdamState, Array];
  const body: Step = (p, s, x, y, lr) => {
    const [loss, g] = valueAndGrad((q: MLPParams) => nn.logSoftmax(mlpApply(spec, q, x), 1).mul(y).sum().div(-B))(refTree(p));
    const r = adamUpdate(p, g, s, { lr });
    return [r.params, r.state, loss];
  };
  const step = jit(body as never) as unknown as Step;
  const xs = pixels(train, true);
  const ys = labelContext(train.labels!, 10);
  for (let epoch = 0; epoch < 3; epoch++) {
    const order = hostPermutation(train.n, 100 + epoch);
    for (let b = 0; b + B <= train.n; b += B) {
      const xb = new Float32Array(B * 784);
      const yb = new Float32Array(B * 10);
      for (let i = 0; i < B; i++) {
        const r = order[b + i]!;
        xb.set(xs.subarray(r * 784, (r + 1) * 784), i * 784);
        yb.set(ys.subarray(r * 10, (r + 1) * 10), i * 10);
      }
      const [p2, s2, loss] = step(params, opt, fromValues(xb, [B, 784], "float32"), fromValues(yb, [B, 10], "float32"), fromValues([1e-3], [], "float32"));
      [params, opt] = [p2, s2];
      // one step at a time: a compiled call allocates its buffers when issued (wasm's 4 GiB)
      await blockUntilReady(loss);
      loss.dispose();
    }
  }
  const logits = jit((p: MLPParams, x: Array) => mlpApply(spec, p, x));
  return {
    predict(x, n) {
      const out: number[] = [];
      for (let s = 0; s < n; s += 500) {
        const m = Math.min(500, n - s);
        const v = logits(refTree(params), fromValues(x.subarray(s * 784, (s + m) * 784), [m, 784], "float32")).dataSync() as Float32Array;
        for (let i = 0; i < m; i++) {
          let best = 0;
          for (let k = 1; k < 10; k++) if (v[i * 10 + k]! > v[i * 10 + best]!) best = k;
          out.push(best);
        }
      }
      return out;
    },
    dispose: () => {
      disposeTree(params);
      disposeTree(opt as never);
    },
  };
}

export async function runShipped(o: { models?: string; testN?: number; inpaintN?: number; perClass?: number }): Promise<Record<string, unknown>> {
  const dir = o.models ?? MODELS;
  const test = loadImageData("mnist", { part: "test", ...(o.testN ? { n: o.testN } : {}) });
  const train = loadImageData("mnist", { part: "train" });
  const record: Record<string, unknown> = { config: "shipped", models: dir };

  for (const [name, file] of [["nice", "mnist-nice.nflow"], ["realnvp", "mnist-realnvp.nflow"], ["maf", "mnist-maf-conditional.nflow"]] as const) {
    const t0 = performance.now();
    if (!existsSync(join(dir, file))) {
      record[name] = { file, missing: true };
      log(`${name}: ${file} is not in ${dir}; skipped`);
      continue;
    }
    const model = await loadModel(join(dir, file));
    const info = model.info();
    const score = testScore(model, test);
    record[name] = {
      file,
      parameters: info.parameterCount,
      steps: model.training?.steps,
      train_wall_s: round(model.training?.wallTimeSec ?? NaN, 1),
      ...score,
      eval_s: round((performance.now() - t0) / 1000, 1),
    };
    log(`${name}: ${JSON.stringify(record[name])}`);
    model.dispose();
  }

  // NICE inpainting, 100 test digits × 10 masks, MAP and posterior mean
  {
    const nice = await loadModel(join(dir, "mnist-nice.nflow"));
    const n = o.inpaintN ?? 100;
    const digits = Float64Array.from(test.images.subarray(0, n * 784), (b) => (b + 0.5) / 256);
    const mean = new Float64Array(784);
    for (let i = 0; i < train.n; i++) for (let d = 0; d < 784; d++) mean[d]! += train.images[i * 784 + d]!;
    for (let d = 0; d < 784; d++) mean[d] = (mean[d]! / train.n + 0.5) / 256;
    const t0 = performance.now();
    let lastLog = 0;
    const outcomes = await inpaintingReport(
      nice,
      digits,
      INPAINTING_MASKS.map((name) => ({ name, hidden: inpaintingMask(name, [1, 28, 28], n) })),
      mean,
      {
        withMean: true,
        onProgress: (done, total) => {
          if (performance.now() - lastLog > 30_000) {
            lastLog = performance.now();
            log(`inpainting: ${done}/${total} steps`);
          }
        },
      },
    );
    const seconds = (performance.now() - t0) / 1000;
    const rows = outcomes.map(({ report: r }) => ({
      mask: r.mask,
      hidden_share: round(r.hiddenShare, 3),
      psnr_map: round(r.psnrMap, 2),
      psnr_mean: round(r.psnrMean!, 2),
      psnr_mean_fill: round(r.psnrMeanFill, 2),
      psnr_start: round(r.psnrStart, 2),
      logp_start: round(r.logProbStart, 0),
      logp_map: round(r.logProbMap, 1),
      logp_mean: round(r.logProbMean!, 1),
      logp_mean_fill: round(r.logProbMeanFill, 1),
      logp_original: round(r.logProbOriginal, 1),
      acceptance: round(r.acceptance!, 3),
      peer_psnr_map: PEER_C6_INPAINTING[r.mask]![0],
      peer_psnr_mean_fill: PEER_C6_INPAINTING[r.mask]![1],
      peer_logp_map: PEER_C6_INPAINTING[r.mask]![2],
    }));
    const avg = (k: keyof (typeof rows)[number]): number => round(rows.reduce((s, r) => s + (r[k] as number), 0) / rows.length, 2);
    record.inpainting = {
      digits: n,
      seconds: round(seconds, 1),
      masks: rows,
      mean_psnr_map: avg("psnr_map"),
      mean_psnr_mean: avg("psnr_mean"),
      mean_psnr_mean_fill: avg("psnr_mean_fill"),
      map_logp_at_least_original: rows.filter((r) => r.logp_map >= r.logp_original).length,
      mean_beats_map: rows.filter((r) => r.psnr_mean > r.psnr_map).length,
      mean_beats_mean_fill: rows.filter((r) => r.psnr_mean > r.psnr_mean_fill).length,
      map_beats_mean_fill: rows.filter((r) => r.psnr_map > r.psnr_mean_fill).length,
    };
    log(`inpainting: ${JSON.stringify(record.inpainting)}`);
    nice.dispose();
  }

  // class-conditional samples scored by a classifier
  {
    const t0 = performance.now();
    const clf = await trainClassifier(train);
    const testX = pixels(test, true);
    const pred = clf.predict(testX, test.n);
    const clfAcc = pred.filter((k, i) => k === test.labels![i]).length / test.n;
    const maf = await loadModel(join(dir, "mnist-maf-conditional.nflow"));
    const per = o.perClass ?? 100;
    const labels = Array.from({ length: 10 * per }, (_, i) => Math.floor(i / per));
    const scores: Record<string, unknown> = { classifier: "MLP 784-256-10, 3 epochs on the 50,000 training images", classifier_test_accuracy: round(clfAcc, 4), samples_per_class: per };
    for (const T of [0.7, 1]) {
      const ts = performance.now();
      const x = sampleImages(maf, labels.length, { labels, seed: 1, temperature: T });
      for (let i = 0; i < x.length; i++) x[i] = Math.min(1, Math.max(0, x[i]!));
      const p = clf.predict(x, labels.length);
      const acc = p.filter((k, i) => k === labels[i]).length / labels.length;
      const perClass = Array.from({ length: 10 }, (_, k) => round(p.slice(k * per, (k + 1) * per).filter((v) => v === k).length / per, 2));
      scores[`T${T}`] = { accuracy: round(acc, 4), per_class: perClass, sample_s: round((performance.now() - ts) / 1000, 1) };
      log(`class-conditional samples at T = ${T}: classifier accuracy ${acc}`);
    }
    scores.seconds = round((performance.now() - t0) / 1000, 1);
    record.class_conditional = scores;
    maf.dispose();
    clf.dispose();
  }
  record.env = env();
  record.timestamp = new Date().toISOString();
  return record;
}
