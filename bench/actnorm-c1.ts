/**
 * ActNorm (Glow's data-initialised activation normalisation) on the C1 budget (docs/reference/CONFIGS.md
 * §1: realnvp, 8 couplings, hidden [64, 64], flipped half masks, batch 256, Adam 1e-3, fresh data),
 * several seeds: C1 itself, C1 with `actnorm: true`, and C1 with actnorm and LU mixing (Glow's
 * step). Test NLL and KL(p‖q) = test NLL − entropy on 20,000 test points; equal steps for all.
 * Figures are recorded in docs/glow.md. Seeds as bench/spline-vs-affine.ts: model key k, data 1 + 10k.
 *
 *   node --import tsx bench/actnorm-c1.ts [--dataset moons] [--seeds 3] [--steps 3000] [--only c1|actnorm|glow]
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

const dataset = parseToyName(flag("dataset", "moons"));
const seeds = Number(flag("seeds", "3"));
const steps = Number(flag("steps", "3000"));
const only = flag("only", "");
const batch = 256;

const C1: FlowConfig = { flow: "realnvp", dim: 2, layers: 8, hidden: [64, 64], mask: "half", permutation: "none", scaleBound: 3, dtype: "float32" };
const VARIANTS: Record<string, FlowConfig> = {
  c1: C1,
  actnorm: { ...C1, actnorm: true },
  glow: { ...C1, permutation: undefined, actnorm: true, mixing: "lu" },
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

const summary: Record<string, unknown> = { dataset, steps, batch, seeds };
for (const [name, config] of Object.entries(VARIANTS)) {
  if (only && name !== only) continue;
  const nlls: number[] = [];
  const secs: number[] = [];
  for (let k = 0; k < seeds; k++) {
    const r = await run(config, k);
    nlls.push(r.testNll);
    secs.push(r.seconds);
    console.error(`${name} seed ${k}: test NLL ${r.testNll.toFixed(4)} ± ${r.se.toFixed(4)} (KL ${r.kl.toFixed(4)}), ${r.seconds.toFixed(1)} s`);
  }
  const e = toyInfo(dataset).entropy!;
  summary[name] = {
    testNll: nlls.map((v) => Number(v.toFixed(4))),
    kl: nlls.map((v) => Number((v - e).toFixed(4))),
    medianKl: Number((median(nlls) - e).toFixed(4)),
    secondsPerRun: Number(median(secs).toFixed(1)),
  };
}
console.log(JSON.stringify(summary, null, 2));
