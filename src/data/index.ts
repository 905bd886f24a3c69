/** Data: toy densities, mixtures, standardisation and splits (portable; file loaders: src/node.ts). */
export {
  TOY_NAMES,
  type ToyName,
  type ToyInfo,
  parseToyName,
  sampleToy,
  toyInfo,
  toyLogDensity,
  normalSource,
} from "./toys.js";
export {
  type Standardization,
  fitStandardization,
  applyStandardization,
  invertStandardization,
  logDetStandardization,
} from "./standardize.js";
export { type Rows, type SplitOptions, checkRows, contextWidth, takeRows, splitIndices, splitRows } from "./split.js";
export {
  GMM_COMPONENTS,
  GMM_RANK,
  type GaussianMixture,
  type GmmParams,
  type GmmChecks,
  choleskyLower,
  gmmParams,
  gmmChecks,
  sampleGmm,
  mixtureLogDensity,
  gmmLogDensity,
  gmmEntropy,
} from "./gmm.js";
export {
  type Dequantization,
  checkDequantization,
  checkLevels,
  dequantize,
  dequantizeSeeded,
  bitsPerDim,
  logitLogDet,
  EVAL_NOISE_SEED,
} from "./dequantize.js";
export { type IdxArray, type IdxDType, type ImageSet, parseIdx, imagesFromIdx, takeImages } from "./idx.js";
