/** Targets of variational inference: unnormalised log-densities written with the array API, with known log Z. */
export { type Target, columns, checkTargetOutput, hostTarget, hostValuesAndGradients } from "./target.js";
export { TARGET_NAMES, MIXTURE_COMPONENTS, builtinTarget } from "./builtin.js";
