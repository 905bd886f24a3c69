/**
 * The portable part of normalizing-flows (no Node built-ins: browsers import this through the
 * package's "browser" condition, src/browser.ts). src/index.ts adds the Node file I/O.
 *
 * normalizing-flows: NICE, RealNVP, MAF, IAF and conditional flows in TypeScript on jax-js.
 *
 * Two levels:
 *  - the high-level API (`fit`, `loadModel`, `FlowModel`): plain numbers in and out, no
 *    reference counting;
 *  - the functional layer (bijectors, distributions, flows, train): jax-js arrays and params
 *    pytrees, following jax-js ownership (every function consumes its array arguments).
 */
export * from "./engine/errors.js";
/** The engine (jax-js, with the Node.js shims installed) for users of the functional layer. */
export { jax, np, nn as jaxnn, random, tree, jit, grad, valueAndGrad, vmap, jacfwd, defaultDevice, type Array, type DType, type Device } from "./engine/jax.js";
export { initEngine, isNode, currentDevice } from "./engine/device.js";
export { FLOAT_DTYPES, fromValues, scalar, jaxDType, parseFloatDType, typedArrayFor, floatDTypeOf, type FloatDType } from "./engine/dtype.js";
export { keyFromSeed, splitKey, hostRng, hostPermutation, type Key } from "./engine/random.js";
export {
  refTree,
  disposeTree,
  treeLeaves,
  treePaths,
  countParams,
  mapTree,
  getPath,
  setPath,
  treeToHost,
  zerosLikeTree,
  type Params,
} from "./engine/tree.js";
export * from "./nn/index.js";
export * from "./bijectors/index.js";
export * from "./distributions/index.js";
export * from "./targets/index.js";
export * from "./flows/index.js";
export * from "./train/index.js";
export * from "./data/index.js";
export * from "./io/index.js";
export * from "./model/index.js";
export * from "./tasks/index.js";
/** The exactness check of bijections, flows and models (round trips, log-dets vs autodiff Jacobians, ∫p = 1). */
export * from "./check/index.js";
/** Pictures on the Canvas 2D API (browser or Node); Node's PNG helpers: "normalizing-flows/plot/node". */
export * as plot from "./plot/index.js";
