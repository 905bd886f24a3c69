/** Hidden-layer activations of conditioner networks, by name (the name is what configs store). */
import { nn, np, type Array } from "../engine/jax.js";
import { ConfigError } from "../engine/errors.js";
import { softplus, tanh } from "../engine/math.js";

export type ActivationName = "relu" | "tanh" | "elu" | "gelu" | "silu" | "leaky_relu" | "softplus";

export const ACTIVATIONS: readonly ActivationName[] = ["relu", "tanh", "elu", "gelu", "silu", "leaky_relu", "softplus"];

/** The activation function for a name (consumes its argument). */
export function activation(name: ActivationName): (x: Array) => Array {
  switch (name) {
    case "relu":
      return (x) => nn.relu(x);
    case "tanh":
      return (x) => tanh(x); // engine/math.ts: accurate in float64 too
    case "elu":
      return (x) => nn.elu(x);
    case "gelu":
      return (x) => nn.gelu(x);
    case "silu":
      return (x) => nn.silu(x);
    case "leaky_relu":
      return (x) => nn.leakyRelu(x, 0.01);
    case "softplus":
      return (x) => softplus(x);
    default:
      throw new ConfigError(`activation: expected one of ${ACTIVATIONS.join(", ")}, got ${JSON.stringify(name)}`);
  }
}

/** Validates an activation name from a config. */
export function parseActivation(value: unknown): ActivationName {
  if (typeof value === "string" && (ACTIVATIONS as readonly string[]).includes(value)) return value as ActivationName;
  throw new ConfigError(`activation: expected one of ${ACTIVATIONS.join(", ")}, got ${JSON.stringify(value)}`);
}
