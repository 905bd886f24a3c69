/**
 * The one data-dependent initialisation pass of a flow (Glow's ActNorm initialisation; the
 * protocol is bijectors/data-init.ts): the batch goes through the flow in the normalising direction
 * (x → z) once, eagerly, in training mode, and every data-initialised layer whose `initialized`
 * flag is 0 takes its params from the batch that reaches it (after the layers before it have
 * been initialised), so that its output has zero mean and unit variance. The training loop
 * (train/fit.ts) calls it before the first step when `needsDataInitialization` says so; layers
 * already initialised (a second training run, a loaded model) keep their params.
 */
import type { Array } from "../engine/jax.js";
import { getPath, refTree, setPath } from "../engine/tree.js";
import { DATA_INIT_FLAG, withDataInitialization } from "../bijectors/data-init.js";
import type { Flow, FlowParams } from "./flow.js";

/** The params paths (inside a flow's params) of the data-initialised layers, in tree order. */
export function dataInitializedLayers(flow: Flow): string[] {
  const suffix = `.${DATA_INIT_FLAG}`;
  return flow.stateLeaves.filter((s) => s.endsWith(suffix)).map((s) => s.slice(0, -suffix.length));
}

/** Whether some data-initialised layer of the flow is not initialised yet (does not consume). */
export function needsDataInitialization(flow: Flow, params: FlowParams): boolean {
  return dataInitializedLayers(flow).some((layer) => {
    const flag = (getPath(params, `${layer}.${DATA_INIT_FLAG}`).ref.dataSync() as Float32Array | Float64Array)[0]!;
    return !(flag > 0.5);
  });
}

/**
 * Initialises every data-initialised layer whose flag is 0 from the batch `x` [N, D] (and its
 * context, for conditional flows), in the order the normalising direction visits them; returns the
 * new params. Other layers' params (batch-norm running statistics included) are unchanged.
 * CONSUMES `params`, `x` and `context`.
 */
export function initializeFromData(flow: Flow, params: FlowParams, x: Array, context?: Array): FlowParams {
  const layers = dataInitializedLayers(flow);
  if (layers.length === 0) {
    x.dispose();
    context?.dispose();
    return params;
  }
  try {
    flow.validate(x, context, flow.dtypeOf(params), "initialisation batch");
  } catch (e) {
    x.dispose();
    context?.dispose();
    throw e;
  }
  const r = withDataInitialization(() => flow.logProbAndState(refTree(params), x, context, { training: true }));
  r.logProb.dispose();
  let out = params;
  for (const [path, value] of Object.entries(r.state ?? {})) {
    const owner = path.slice(0, path.lastIndexOf("."));
    if (layers.includes(owner)) out = setPath(out, path, value);
    else value.dispose(); // another layer's state (batch-norm statistics): not part of the initialisation
  }
  return out;
}
