/**
 * The high-level API: fit a flow to plain data, load a saved model, and use it with plain numbers.
 */
export { FlowModel, flatRows, toRows } from "./model.js";
export type { ContextInput, FlowModelOptions, ModelInfo, ModelRecord, ModelSampleOptions, RowsInput } from "./model.js";
export { fit } from "./fit.js";
export type { FitConfig, FitData, FitOptions } from "./fit.js";
export { fitVariationalModel } from "./variational.js";
export type { VariationalConfig, VariationalModelOptions } from "./variational.js";
