/**
 * Kernel count per training step and first-call (compile) time, for bench/run.ts's records and
 * bench/step-profile.ts: the "bare" step is loss = −mean log p, valueAndGrad and the Adam update
 * in ONE jit, as train/fit.ts compiles it (without the loop's batch copy).
 */
import { jit, setDebug, valueAndGrad, type Array, type JsTree } from "../src/engine/jax.js";
import { fromValues } from "../src/engine/dtype.js";
import { disposeTree, refTree } from "../src/engine/tree.js";
import type { Flow, FlowParams } from "../src/distributions/flow.js";
import { adamInit, adamUpdate, disposeAdamState, type AdamState } from "../src/train/adam.js";

export type BareState = { params: FlowParams; adam: AdamState };
export type BareStepFn = ((s: BareState, lr: Array, x: Array) => [Array, BareState]) & { dispose(): void };

/** The bare jitted step of a flow (loss, gradient and Adam in one jit). */
export function bareStep(flow: Flow): BareStepFn {
  const body = (s: BareState, lr: Array, x: Array): [Array, BareState] => {
    // mean().neg() as train/fit.ts (a float64 jit(grad) of a loss ending in a bare reduction is wrong)
    const lossOf = (p: FlowParams): Array => flow.logProb(p, x).mean().neg();
    const [loss, grads] = valueAndGrad(lossOf)(refTree(s.params));
    const u = adamUpdate(s.params, grads as FlowParams, s.adam, { lr });
    return [loss, { params: u.params, adam: u.state }];
  };
  return jit(body as unknown as (...a: any[]) => JsTree<Array>) as unknown as BareStepFn;
}

/**
 * Counts the kernel launches of a jitted call by capturing jax-js's debug print (level 4) of the
 * compiled program: one "execute (" line per kernel or routine launch in the last (outermost)
 * program printed. `run` must make the FIRST call of the jitted function (the one that compiles).
 */
export function countKernels(run: () => void): number {
  const info = console.info;
  let text = "";
  console.info = (...m: unknown[]) => {
    text += m.map(String).join(" ") + "\n";
  };
  setDebug(4);
  try {
    run();
  } finally {
    setDebug(0);
    console.info = info;
  }
  const programs = text.split("device = ");
  const last = programs.at(-1) ?? "";
  return (last.match(/execute \(/g) ?? []).length;
}

/** What `stepProbe` measures of one flow's bare training step. */
export interface StepProbe {
  /** Kernel launches of one compiled step. */
  kernels_per_step: number;
  /** Wall time of the first call: tracing, compilation and one step. */
  first_call_ms: number;
  /** Median of `steady` later calls. */
  steady_step_ms: number;
  /** first_call_ms − steady_step_ms: the one-off cost of tracing and compiling the step. */
  compile_ms: number;
  probe: string;
}

/**
 * Builds the bare step of `flow` at `params`' shapes on the batch `x` (rows × dim, float32),
 * times its first call (compile + run, timed WITHOUT the debug print, which slows tracing) and
 * `steady` later calls, then counts the kernels of a second, fresh compilation. Consumes nothing
 * of the caller's: params are copied with refTree and disposed here.
 */
export async function stepProbe(flow: Flow, params: FlowParams, x: Float32Array, rows: number, steady = 5): Promise<StepProbe> {
  const dim = x.length / rows;
  const xb = fromValues(x, [rows, dim], "float32");
  const lr = fromValues([1e-3], [], "float32");
  const step = bareStep(flow);
  let state: BareState = { params: refTree(params), adam: adamInit(params) };
  const t0 = performance.now();
  {
    const [loss, next] = step(state, lr.ref, xb.ref);
    state = next;
    await loss.data();
  }
  const first = performance.now() - t0;
  const times: number[] = [];
  for (let i = 0; i < steady; i++) {
    const t = performance.now();
    const [loss, next] = step(state, lr.ref, xb.ref);
    state = next;
    await loss.data();
    times.push(performance.now() - t);
  }
  step.dispose();
  // a fresh jit of the same step, compiled under the debug print, for the kernel count
  const counted = bareStep(flow);
  let pending: Array | undefined;
  const kernels = countKernels(() => {
    const [loss, next] = counted(state, lr.ref, xb.ref);
    state = next;
    pending = loss;
  });
  await pending?.data(); // asynchronously: with worker threads a synchronous read may be refused
  counted.dispose();
  disposeTree(state.params);
  disposeAdamState(state.adam);
  lr.dispose();
  xb.dispose();
  const sorted = times.slice().sort((a, b) => a - b);
  const steadyMs = sorted.length ? sorted[sorted.length >> 1]! : NaN;
  const r = (v: number): number => Number(v.toFixed(1));
  return {
    kernels_per_step: kernels,
    first_call_ms: r(first),
    steady_step_ms: r(steadyMs),
    compile_ms: r(first - steadyMs),
    probe: "bare step (loss, valueAndGrad, Adam in one jit) on one batch: kernels of the compiled program; first call = trace + compile + one step",
  };
}
