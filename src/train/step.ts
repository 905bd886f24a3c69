/**
 * Compiled training steps: loss, gradient and Adam update of one step, for any loss of the params
 * and one or two input arrays (a minibatch and its context; a PRNG key). Two shapes:
 *  - fusedStep: the WHOLE step is ONE `jit` (docs/reference/ENGINE-NOTES.md), batch-norm running
 *    statistics written back into the params;
 *  - accumulatingStep: the gradient in several passes over equal slices of the batch, summed, then
 *    one Adam update (bounds the memory of a step).
 */
import { blockUntilReady, jit, np, valueAndGrad, type Array, type JsTree } from "../engine/jax.js";
import { floatDTypeOf, fromValues } from "../engine/dtype.js";
import { refTree, setPath, treeLeaves } from "../engine/tree.js";
import type { FlowParams } from "../distributions/flow.js";
import { adamUpdate, type AdamHyper } from "./adam.js";
import type { StepState } from "./loop.js";

/**
 * A loss of the params and the step's inputs (consumes all of them): the scalar loss and the
 * batch-norm statistics it reports ({} when none), by param path.
 */
export type LossFn = (p: FlowParams, inputs: readonly Array[]) => [Array, Record<string, Array>];

/** A compiled step: consumes the state, lr and inputs; returns the loss and the next state. */
export type StepFn = ((s: StepState, lr: Array, ...inputs: Array[]) => [Array, StepState] | Promise<[Array, StepState]>) & { dispose(): void };

type Traced = (...args: any[]) => JsTree<Array>;

/** `p` with the batch-norm statistics written at their paths (consumes both). */
export function withStats(p: FlowParams, stats: Record<string, Array>): FlowParams {
  let out = p;
  for (const [path, value] of Object.entries(stats)) out = setPath(out, path, value);
  return out;
}

/**
 * jit of `f(s, lr, ...inputs)` for 1 or 2 inputs: jit arguments must be arrays, so an optional
 * input (no context) is a different arity, i.e. a different traced signature.
 */
function jitWithInputs<R>(f: (s: any, lr: Array, inputs: Array[]) => R, inputs: number): (...args: any[]) => R {
  return (inputs === 1
    ? jit(((s: any, lr: Array, a: Array) => f(s, lr, [a])) as unknown as Traced)
    : jit(((s: any, lr: Array, a: Array, b: Array) => f(s, lr, [a, b])) as unknown as Traced)) as unknown as (...args: any[]) => R;
}

/** The whole step (loss, gradient, Adam update, statistics) as one jitted call with `inputs` input arrays. */
export function fusedStep(lossOf: LossFn, hyper: Omit<AdamHyper, "lr">, inputs: 1 | 2): StepFn {
  const body = (state: StepState, lr: Array, xs: Array[]): [Array, StepState] => {
    const [[loss, stats], grads] = valueAndGrad((p: FlowParams) => lossOf(p, xs), { hasAux: true })(refTree(state.params));
    const updated = adamUpdate(state.params, grads as FlowParams, state.adam, { lr, ...hyper });
    return [loss, { params: withStats(updated.params, stats), adam: updated.state }];
  };
  return jitWithInputs(body, inputs) as unknown as StepFn;
}

/**
 * A training step in `passes` gradient passes over equal row slices of the inputs (consumes the
 * state, lr and inputs like the fused step): one jitted function computes the loss and gradient of
 * a slice, the gradients are summed, and one jitted Adam update applies their mean, so the update
 * equals the fused step's (mean of equal-size slice means = batch mean). Batch-norm statistics are
 * those of the last slice. Memory is that of one slice's forward and backward pass: each pass is
 * awaited before the next is issued.
 */
export function accumulatingStep(lossOf: LossFn, hyper: Omit<AdamHyper, "lr">, inputs: 1 | 2, passes: number): StepFn {
  // The gradient leaves concatenated into one [P] output: a compiled call with one output per
  // leaf took 2.3 s instead of 1.3 s per pass of 16 images on the C5 RealNVP (60 leaves).
  const body = (p: FlowParams, xs: Array[]) => {
    const [[loss, stats], grads] = valueAndGrad((q: FlowParams) => lossOf(q, xs), { hasAux: true })(p);
    const flat = np.concatenate(treeLeaves(grads as FlowParams).map((g) => g.reshape([-1])));
    return [loss, stats, flat] as unknown as JsTree<Array>;
  };
  const pass = (inputs === 1
    ? jit(((p: FlowParams, a: Array) => body(p, [a])) as unknown as Traced)
    : jit(((p: FlowParams, a: Array, b: Array) => body(p, [a, b])) as unknown as Traced)) as unknown as ((
    p: FlowParams,
    ...xs: Array[]
  ) => [Array, Record<string, Array>, Array]) & { dispose(): void };
  const update = jit(((state: StepState, lr: Array, gradSum: Array, scale: Array) => {
    const u = adamUpdate(state.params, gradSum.mul(scale), state.adam, { lr, ...hyper });
    return { params: u.params, adam: u.state };
  }) as unknown as Traced) as unknown as ((s: StepState, lr: Array, g: Array, scale: Array) => StepState) & { dispose(): void };
  const fn = (async (state: StepState, lr: Array, ...xs: Array[]): Promise<[Array, StepState]> => {
    const dtype = floatDTypeOf(xs[0]!) ?? "float32";
    const slices = xs.map((x) => splitRowBlocks(x, passes));
    let lossSum: Array | undefined;
    let gradSum: Array | undefined;
    let stats: Record<string, Array> = {};
    for (let i = 0; i < passes; i++) {
      const [loss, st, g] = pass(refTree(state.params), ...slices.map((s) => s[i]!));
      lossSum = lossSum ? lossSum.add(loss) : loss;
      gradSum = gradSum ? gradSum.add(g) : g;
      for (const v of Object.values(stats)) v.dispose();
      stats = st;
      // jax-js allocates a compiled call's buffers when the call is issued and runs its kernels
      // later: without this wait every pass's activations would be allocated at once
      await blockUntilReady(gradSum);
    }
    const next = update(state, lr, gradSum!, fromValues([1 / passes], [], dtype));
    return [lossSum!.mul(fromValues([1 / passes], [], dtype)), { params: withStats(next.params, stats), adam: next.adam }];
  }) as StepFn;
  fn.dispose = () => {
    pass.dispose();
    update.dispose();
  };
  return fn;
}

/** The P equal row blocks of x [B, …] (consumes x): host-side, before the step (x is concrete). */
function splitRowBlocks(x: Array, P: number): Array[] {
  const [B, ...rest] = x.shape as number[];
  const m = B! / P;
  const width = rest.reduce((a, b) => a * b, 1);
  const dtype = floatDTypeOf(x) ?? "float32";
  const values = x.dataSync() as Float32Array | Float64Array;
  return globalThis.Array.from({ length: P }, (_, i) => fromValues(values.subarray(i * m * width, (i + 1) * m * width), [m, ...rest], dtype));
}
