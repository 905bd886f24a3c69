/**
 * Node-only additions to the public API: files. Kept apart so that the browser entry
 * (src/browser.ts) never reaches node:fs.
 */
export { readModelFile, writeModelFile } from "./io/model-file.js";
export { writeFileAtomic, type AtomicWriteOptions } from "./io/atomic.js";
export {
  type Table,
  type LoadOptions,
  type DataMeta,
  type MetaFileEntry,
  loadTable,
  parseCsv,
  parseNpy,
  parseBinary,
  selectColumns,
  splitContext,
} from "./data/tabular.js";
export { loadModel } from "./model/load.js";
export {
  type ImageData,
  type ImagePart,
  type ImageLoadOptions,
  MNIST_FILES,
  MNIST_SPLIT,
  readIdxFile,
  mnistFilesDir,
  loadImageData,
} from "./data/image-files.js";
