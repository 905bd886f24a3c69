/**
 * The model file (safetensors body + JSON metadata, written atomically) and the safetensors codec.
 */
export {
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  MODEL_EXTENSION,
  encodeModelFile,
  decodeModelFile,
  decodeModelMetadata,
  tensorsChecksum,
  readModelFile,
  writeModelFile,
} from "./model-file.js";
export type {
  StandardizationRecord,
  ContextInfo,
  DataInfo,
  TrainingRecord,
  ModelMetadata,
  ModelFileInput,
  LoadedModelFile,
} from "./model-file.js";
export { encodeSafetensors, decodeSafetensors, dtypeOfData } from "./safetensors.js";
export type { SafetensorsDType, SafeTensor, SafetensorsContents } from "./safetensors.js";
export { writeFileAtomic } from "./atomic.js";
export type { AtomicWriteOptions } from "./atomic.js";
export { LIBRARY_VERSION } from "./version.js";
