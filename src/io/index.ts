/**
 * The model file format (safetensors body + JSON metadata) and the safetensors codec: pure byte
 * encoding, usable in browsers. Reading and writing files (atomically) is Node-only: src/node.ts.
 */
export {
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  MODEL_EXTENSION,
  encodeModelFile,
  decodeModelFile,
  decodeModelMetadata,
  tensorsChecksum,
  checkFileChecksum,
  sealModelFile,
  FILE_CHECKSUM_KEY,
} from "./model-format.js";
export { canonicalLayout, toCanonical, fromCanonical, UndescribableFlowError } from "./canonical.js";
export type { LayerDescription, FlowDescription, CanonicalEntry, HostTensor } from "./canonical.js";
export type {
  StandardizationRecord,
  ContextInfo,
  DataInfo,
  TrainingRecord,
  ModelMetadata,
  ModelFileInput,
  LoadedModelFile,
} from "./model-format.js";
export { encodeSafetensors, decodeSafetensors, dtypeOfData } from "./safetensors.js";
export type { SafetensorsDType, SafeTensor, SafetensorsContents } from "./safetensors.js";
export { LIBRARY_VERSION } from "./version.js";
