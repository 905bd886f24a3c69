/**
 * Loading a model file as a ready-to-use FlowModel.
 */
import { readModelFile } from "../io/model-file.js";
import { FlowModel, type FlowModelOptions } from "./model.js";

/**
 * Reads a model file written by `model.save` / `nflow train`. Any problem (missing, truncated,
 * corrupt, another kind of file, a newer format version, tensors that do not fit the config) is a
 * FileFormatError with one line naming the file and the problem.
 */
export async function loadModel(path: string, options: FlowModelOptions = {}): Promise<FlowModel> {
  const { metadata, flow, params, warnings } = await readModelFile(path);
  return new FlowModel(flow, params, { ...metadata, warnings }, options);
}
