/** Training: Adam, learning-rate schedules, the maximum-likelihood fit loop and exact evaluation. */
export { type AdamState, type AdamHyper, adamInit, adamUpdate, disposeAdamState, validateAdamHyper, paramsDType } from "./adam.js";
export { type Schedule, SCHEDULE_KINDS, learningRate, parseSchedule } from "./schedules.js";
export {
  type TrainData,
  type TrainOptions,
  type TrainResult,
  type HistoryEntry,
  type ProgressEvent,
  type StopReason,
  trainFlow,
} from "./fit.js";
export { type LogProbEvaluator, type EvaluatorOptions, DEFAULT_EVAL_BATCH, makeEvaluator, meanAndStdError } from "./evaluate.js";
export { type Objective, type StepState, type LoopSettings, type LoopResult, type OptimizerOptions, OPTIMIZER_OPTION_KEYS, runTrainingLoop } from "./loop.js";
export {
  type LogTarget,
  type VariationalOptions,
  type VariationalResult,
  type VariationalEstimates,
  VARIATIONAL_OPTION_KEYS,
  fitVariational,
  estimateVariational,
  importanceEstimates,
} from "./variational.js";
