/**
 * normalizing-flows: NICE, RealNVP, MAF, IAF and conditional flows in TypeScript on jax-js.
 *
 * Two levels:
 *  - the high-level API (`fit`, `loadModel`, `FlowModel`): plain numbers in and out, no
 *    reference counting;
 *  - the functional layer (bijectors, distributions, flows, train): jax-js arrays and params
 *    pytrees, following jax-js ownership (every function consumes its array arguments).
 *
 * This is the Node entry: everything portable (src/portable.ts) plus file I/O (src/node.ts).
 * Browsers get src/browser.ts through the package's "browser" export condition.
 */
export * from "./portable.js";
export * from "./node.js";
