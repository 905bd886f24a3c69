export { checkBijector, type BijectorCheckOptions } from "./check-bijector.js";
export { checkFlow, randomFlowParams, type FlowCheckOptions } from "./check-flow.js";
export { defaultTolerances, formatReport, type CheckEntry, type CheckReport, type CheckStatus, type CheckTolerances } from "./report.js";
export { jacobian, jacobianColumns } from "./jacobian.js";
export { logAbsDetHost } from "./linear-algebra.js";
export { castParams, perturbParams } from "./params.js";
