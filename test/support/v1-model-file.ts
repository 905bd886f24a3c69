// A model file in format version 1, as the library wrote it before format 2: tensors by in-memory
// path (stacked layouts included), no `layers` list, and `tensorsCrc32` over the tensor bytes only
// (not the metadata). For the tests that check that old files still load and read alike.
import { treeToHost } from "../../src/engine/tree.js";
import { encodeSafetensors } from "../../src/io/safetensors.js";
import { tensorsChecksum } from "../../src/io/model-format.js";
import type { FlowModel } from "../../src/model/model.js";

/** The creation time written into every v1 file made here. */
export const V1_CREATED_AT = "2026-01-02T03:04:05.000Z";

/** The version 1 bytes of `model` (its config, dtype, preprocessing and context record). */
export function v1ModelFileBytes(model: FlowModel, options: { withCrc?: boolean } = {}): Uint8Array {
  const host = treeToHost(model.params);
  const tensors = Object.entries(host).map(([k, t]) => [k, { shape: t.shape, data: t.data }] as [string, { shape: number[]; data: Float32Array | Float64Array }]);
  const metadata: Record<string, string> = {
    format: "normalizing-flows-model",
    formatVersion: "1",
    libraryVersion: "0.1.0",
    config: JSON.stringify(model.config),
    dtype: model.dtype,
    preprocessing: JSON.stringify(model.preprocessing),
    context: JSON.stringify(model.contextInfo),
    data: JSON.stringify(null),
    training: JSON.stringify(null),
    createdAt: V1_CREATED_AT,
  };
  if (options.withCrc ?? true) metadata.tensorsCrc32 = tensorsChecksum(new Map(tensors.map(([k, t]) => [k, t.data])));
  return encodeSafetensors(tensors, metadata);
}
