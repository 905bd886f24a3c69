/**
 * The browser entry of normalizing-flows: everything but Node file I/O. Models travel as bytes:
 * `FlowModel.fromBytes(bytes)` / `model.toBytes()`; pictures draw on a browser canvas
 * (`plot.browserCanvasFactory`).
 */
export * from "./portable.js";
