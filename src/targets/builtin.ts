/**
 * The built-in 2-D targets people test variational inference on (normflows' target.py, Rezende &
 * Mohamed 2015, Neal 2003), each with its log Z, so that an estimate can be checked against it:
 *
 *   two-moons  log p̃ = −½((‖x‖ − 2)/0.2)² + log(e^{−½((x₀−2)/0.3)²} + e^{−½((x₀+2)/0.3)²})
 *              (normflows TwoMoons); log Z = 0.804214448631 by quadrature (grid step 0.001 on
 *              [−5, 5]², agreeing with step 0.002 on [−4, 4]² to 1e-12).
 *   ring       log p̃ = −½((‖x‖ − r)/σ)², r = 2, σ = 1/4 (normflows RingMixture with one ring);
 *              Z = 2π ∫₀^∞ ρ e^{−(ρ−r)²/2σ²} dρ = 2π(σ² e^{−r²/2σ²} + rσ√(π/2)(1 + erf(r/(σ√2)))),
 *              where 1 + erf(8/√2) = 2 to double precision.
 *   banana     log p̃ = −x₀²/2a² − (x₁ − b(x₀² − a²))²/2s², a = 1, b = 1, s = ½: x₀ ~ N(0, a²) and
 *              x₁ | x₀ ~ N(b(x₀² − a²), s²), a Rosenbrock-type curved valley; Z = 2π·a·s.
 *   funnel     Neal's funnel, log p̃ = −v²/18 − ½x² e^{−v} − v/2 for (v, x): v ~ N(0, 3²), x | v ~
 *              N(0, e^{v}); Z = √(2π·9)·√(2π) = 6π.
 *   mixture    Σ_k w_k N(x; μ_k, diag σ_k²) with weights w = (0.5, 1, 1.5) that do not sum to one:
 *              Z = Σ w_k = 3 exactly.
 */
import { nn, np, type Array } from "../engine/jax.js";
import { ConfigError } from "../engine/errors.js";
import { nearestKnown } from "../engine/validate.js";
import { columns, type Target } from "./target.js";

const LOG_2PI = Math.log(2 * Math.PI);

/** logsumexp over k of the [N] arrays `terms` (consumes them). */
function logSumExp(terms: Array[]): Array {
  const N = terms[0]!.shape[0]!;
  return nn.logsumexp(np.concatenate(terms.map((t) => t.reshape([N, 1])), 1), 1);
}

/** ‖x‖ of rows given as columns (consumes them). */
function radius(a: Array, b: Array): Array {
  return np.sqrt(np.square(a).add(np.square(b)));
}

const RING_R = 2;
const RING_S = 0.25;

/** Components of `mixture`: weight, mean, standard deviations. */
export const MIXTURE_COMPONENTS: readonly { weight: number; mean: readonly [number, number]; std: readonly [number, number] }[] = [
  { weight: 0.5, mean: [-1.5, -0.5], std: [0.5, 0.8] },
  { weight: 1.0, mean: [1.2, -0.8], std: [0.7, 0.5] },
  { weight: 1.5, mean: [0.0, 1.2], std: [0.9, 0.6] },
];

const BUILTINS: Record<string, Target> = {
  "two-moons": {
    name: "two-moons",
    dim: 2,
    description: "two half-moons on a ring of radius 2 (normflows' TwoMoons energy)",
    logDensity(x) {
      const [a, b] = columns(x);
      const r = radius(a!.ref, b!);
      const ring = np.square(r.sub(2).mul(1 / 0.2)).mul(-0.5);
      const left = np.square(a!.ref.sub(2).mul(1 / 0.3)).mul(-0.5);
      const right = np.square(a!.add(2).mul(1 / 0.3)).mul(-0.5);
      return ring.add(logSumExp([left, right]));
    },
    logZ: 0.804214448631,
    logZMethod: "quadrature",
    bounds: [[-3.5, 3.5], [-3.5, 3.5]],
  },
  ring: {
    name: "ring",
    dim: 2,
    description: `a ring of radius ${RING_R} and width ${RING_S} (normflows' RingMixture, one ring)`,
    logDensity(x) {
      const [a, b] = columns(x);
      return np.square(radius(a!, b!).sub(RING_R).mul(1 / RING_S)).mul(-0.5);
    },
    logZ: Math.log(2 * Math.PI * (RING_S ** 2 * Math.exp(-(RING_R ** 2) / (2 * RING_S ** 2)) + RING_R * RING_S * Math.sqrt(2 * Math.PI))),
    logZMethod: "exact",
    bounds: [[-3.5, 3.5], [-3.5, 3.5]],
  },
  banana: {
    name: "banana",
    dim: 2,
    description: "a curved (Rosenbrock-type) valley: x0 ~ N(0, 1), x1 | x0 ~ N(x0² − 1, 0.5²)",
    logDensity(x) {
      const [a, b] = columns(x);
      const valley = b!.sub(np.square(a!.ref).sub(1));
      return np.square(a!).mul(-0.5).sub(np.square(valley).mul(2)); // 1/(2s²) = 2
    },
    logZ: Math.log(2 * Math.PI * 1 * 0.5),
    logZMethod: "exact",
    bounds: [[-3.5, 3.5], [-2, 8]],
  },
  funnel: {
    name: "funnel",
    dim: 2,
    description: "Neal's funnel: v ~ N(0, 3²), x | v ~ N(0, e^v)",
    logDensity(x) {
      const [v, u] = columns(x);
      return np
        .square(v!.ref)
        .mul(-1 / 18)
        .sub(np.square(u!).mul(np.exp(v!.ref.neg())).mul(0.5))
        .sub(v!.mul(0.5));
    },
    logZ: Math.log(6 * Math.PI),
    logZMethod: "exact",
    bounds: [[-7, 7], [-10, 10]],
  },
  mixture: {
    name: "mixture",
    dim: 2,
    description: "three Gaussians with weights 0.5, 1, 1.5 (Z = 3): the target whose log Z is known exactly",
    logDensity(x) {
      const [a, b] = columns(x);
      const terms = MIXTURE_COMPONENTS.map(({ weight, mean, std }, k) => {
        const last = k === MIXTURE_COMPONENTS.length - 1;
        const u = (last ? a! : a!.ref).sub(mean[0]).mul(1 / std[0]);
        const w = (last ? b! : b!.ref).sub(mean[1]).mul(1 / std[1]);
        const c = Math.log(weight) - LOG_2PI - Math.log(std[0]) - Math.log(std[1]);
        return np.square(u).add(np.square(w)).mul(-0.5).add(c);
      });
      return logSumExp(terms);
    },
    logZ: Math.log(MIXTURE_COMPONENTS.reduce((s, c) => s + c.weight, 0)),
    logZMethod: "exact",
    bounds: [[-4, 4], [-4, 4]],
  },
};

/** Names of the built-in targets. */
export const TARGET_NAMES: readonly string[] = Object.keys(BUILTINS);

/** A built-in target by name; an unknown name is a ConfigError with the nearest name and the list. */
export function builtinTarget(name: string): Target {
  const t = BUILTINS[name];
  if (t) return t;
  const near = nearestKnown(name, TARGET_NAMES);
  throw new ConfigError(`target: unknown target ${JSON.stringify(name)}${near ? ` (did you mean ${near}?)` : ""}; built-in targets: ${TARGET_NAMES.join(", ")}, or a .mjs/.js file exporting logDensity(x)`);
}
