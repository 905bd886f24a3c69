export { activation, parseActivation, ACTIVATIONS, type ActivationName } from "./activation.js";
export { linearUniform, zeros } from "./init.js";
export { mlpInit, mlpApply, type MLPParams, type MLPSpec } from "./mlp.js";
export { resnetInit, resnetApply, type ResNetParams, type ResNetSpec } from "./resnet.js";
export {
  madeDegrees,
  madeSpec,
  madeMasks,
  madeInit,
  madeApply,
  type MADEDegrees,
  type MADESpec,
  type MADESpecOptions,
  type MADEParams,
  type MADEMasks,
} from "./made.js";
