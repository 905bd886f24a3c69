/** Base densities and the flow (a base pushed through a bijection). */
export { sampleTemperature, temperedNoise, type Distribution, type LogProbWithState, type SampleAndLogProb, type SampleOptions } from "./distribution.js";
export { StandardNormal, type StandardNormalParams } from "./standard-normal.js";
export { DiagNormal, type DiagNormalParams } from "./diag-normal.js";
export {
  ConditionalDiagNormal,
  type ConditionalDiagNormalOptions,
  type ConditionalDiagNormalParams,
} from "./conditional-diag-normal.js";
export { MixtureOfGaussians, type MixtureOfGaussiansParams } from "./mixture-of-gaussians.js";
export { UniformBox, type UniformBoxParams } from "./uniform-box.js";
export { StandardLogistic, type StandardLogisticParams } from "./standard-logistic.js";
export { Flow, type FlowParams } from "./flow.js";
export { initializeFromData, needsDataInitialization, dataInitializedLayers } from "./data-init.js";
