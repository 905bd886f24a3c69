/**
 * Spline vs affine coupling flows on a 2-D toy at the C1 budget (docs/reference/CONFIGS.md §1:
 * 8 couplings, hidden [64, 64], flipped half masks, batch 256, Adam 1e-3, 3,000 steps of fresh
 * data), several seeds each: KL(p‖q) = test NLL − entropy on 20,000 test points (C1's estimate),
 * median and spread. The affine flow is C1 itself; the spline flow only swaps the transformer
 * ({transformer: "spline", bins, bound}, RQ-NSF (C)). Quality, not time: figures are recorded in
 * docs/splines.md. Seeds as bench/run.ts's multi-seed C1 (c1Seeds): model key k, data stream 1 + 10k.
 *
 *   node --import tsx bench/spline-vs-affine.ts [--dataset checkerboard] [--seeds 5] [--first-seed 0] [--steps 3000] [--bins 8] [--bound 3] [--only affine|spline]
 *
 * (--first-seed splits one variant's seeds over several processes.)
 */
import { keyFromSeed } from "../src/engine/random.js";
import { build } from "../src/flows/build.js";
import type { FlowConfig } from "../src/flows/config.js";
import { trainFlow } from "../src/train/fit.js";
import { makeEvaluator, meanAndStdError } from "../src/train/evaluate.js";
import { parseToyName, sampleToy, toyInfo } from "../src/data/toys.js";

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const dataset = parseToyName(flag("dataset", "checkerboard"));
const seeds = Number(flag("seeds", "5"));
const firstSeed = Number(flag("first-seed", "0"));
const steps = Number(flag("steps", "3000"));
const bins = Number(flag("bins", "8"));
const bound = Number(flag("bound", "3"));
const only = flag("only", "");
const batch = 256;

const C1: FlowConfig = { flow: "realnvp", dim: 2, layers: 8, hidden: [64, 64], mask: "half", permutation: "none", scaleBound: 3, dtype: "float32" };
const VARIANTS: Record<string, FlowConfig> = {
  affine: C1,
  spline: { ...C1, transformer: "spline", bins, bound },
};

async function run(config: FlowConfig, k: number): Promise<{ kl: number; testNll: number; se: number; seconds: number }> {
  const { flow } = build(config);
  const params = flow.init(keyFromSeed(k), "float32");
  const train = 1 + 10 * k;
  const x = sampleToy(dataset, steps * batch, train);
  const test = { x: sampleToy(dataset, 20000, 2), n: 20000, dim: 2 };
  const t0 = performance.now();
  const result = await trainFlow(flow, params, { x, n: steps * batch, dim: 2 }, { steps, batchSize: batch, lr: 1e-3, restoreBest: false, seed: train });
  const seconds = (performance.now() - t0) / 1000;
  const evaluator = makeEvaluator(flow, { batchSize: 10000 });
  const lp = await evaluator.logProbs(result.params, test);
  evaluator.dispose();
  const { mean, se } = meanAndStdError(lp);
  return { kl: -mean - toyInfo(dataset).entropy!, testNll: -mean, se, seconds };
}

const median = (v: number[]): number => {
  const s = v.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const summary: Record<string, unknown> = { dataset, steps, batch, seeds, firstSeed, bins, bound };
for (const [name, config] of Object.entries(VARIANTS)) {
  if (only && name !== only) continue;
  const kls: number[] = [];
  for (let k = firstSeed; k < firstSeed + seeds; k++) {
    const r = await run(config, k);
    kls.push(r.kl);
    console.error(`${name} seed ${k}: KL ${r.kl.toFixed(4)} (test NLL ${r.testNll.toFixed(4)} ± ${r.se.toFixed(4)}), ${r.seconds.toFixed(1)} s`);
  }
  summary[name] = { kl: kls.map((v) => Number(v.toFixed(4))), median: Number(median(kls).toFixed(4)), min: Number(Math.min(...kls).toFixed(4)), max: Number(Math.max(...kls).toFixed(4)) };
}
console.log(JSON.stringify(summary, null, 2));
