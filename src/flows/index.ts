/** Ready-made architectures (nice, realnvp, maf, iaf) from one JSON config format. */
export {
  FLOW_KINDS,
  type BaseConfig,
  type ConditionerKind,
  type FlowConfig,
  type FlowKind,
  type MaskKind,
  type PermutationKind,
  TRANSFORMER_KINDS,
  type TransformerKind,
} from "./config.js";
export {
  build,
  buildBase,
  buildBijector,
  buildLayers,
  describe,
  isFlowKind,
  normalizeConfig,
  DEFAULT_SCALE_BOUND,
  defaultTransformer,
  buildTransformer,
  type BuiltFlow,
  type NormalizedFlowConfig,
} from "./build.js";
