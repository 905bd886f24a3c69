/**
 * Data-dependent initialisation (Glow's ActNorm, Kingma & Dhariwal 2018 §3.1): some layers set
 * their params from the first batch that reaches them, once, before training. The protocol:
 *  - such a layer has a state leaf named `initialized` (DATA_INIT_FLAG, shape [1]: 0 until it has
 *    been initialised, then 1). It lives in the params tree, so it is saved with the model and a
 *    loaded model is never initialised again;
 *  - inside `withDataInitialization(fn)`, the layer's inverse (x → z) in training mode computes
 *    its params from its input x wherever its flag is 0, uses them for its output (so the next
 *    layer sees normalised data), and reports them with flag 1 as state updates
 *    (`BijectionResult.state`); a layer whose flag is already 1 reports its params unchanged.
 * Containers already pass state updates up with their paths (Chain, FactorOut, Flow), so ONE
 * eager pass of the normalising direction initialises every such layer in order:
 * distributions/data-init.ts `initializeFromData` is that pass. Outside the scope (every jitted
 * training step) the layers are plain bijections of their params and nothing data-dependent is
 * traced.
 */

/** Name of the 0/1 state leaf of a data-initialised layer. */
export const DATA_INIT_FLAG = "initialized";

let active = false;

/** Whether a data-dependent initialisation pass is running (read by the layers at call time). */
export function dataInitializationActive(): boolean {
  return active;
}

/**
 * Runs `fn` with data-dependent initialisation on: training-mode inverses of data-initialised
 * layers called inside it report their initialised params as state (file comment).
 */
export function withDataInitialization<T>(fn: () => T): T {
  const previous = active;
  active = true;
  try {
    return fn();
  } finally {
    active = previous;
  }
}
