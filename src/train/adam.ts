/**
 * Adam (Kingma & Ba 2015) over params pytrees, written as a pure function so that a whole training
 * step (loss, gradients, update) fits in one `jit`:
 *     g ← g · min(1, c / ‖g‖₂)                        (optional global-norm clipping, c = clipNorm)
 *     m ← β₁ m + (1 − β₁) g,    v ← β₂ v + (1 − β₂) g²
 *     m̂ = m / (1 − β₁ᵗ),        v̂ = v / (1 − β₂ᵗ)
 *     p ← p − lr · (m̂ / (√v̂ + ε) + λ p)             (decoupled weight decay λ, AdamW)
 * With λ = 0 and no clipping this is exactly torch.optim.Adam. Weight decay is DECOUPLED
 * (Loshchilov & Hutter 2019): it shrinks the parameters directly instead of being added to the
 * gradient, so it is not rescaled by Adam's per-parameter step size.
 *
 * The step counter t and the learning rate are ARRAYS: a jitted step that receives them as
 * arguments is traced once, whatever the step or the schedule. The moments m and v are stored as
 * one flat vector each (see AdamState).
 *
 * Ownership (jax-js convention): `adamUpdate` CONSUMES params, grads, state and hyper.lr.
 * `adamInit` does not consume params.
 */
import { np, tree, type Array } from "../engine/jax.js";
import { floatDTypeOf, jaxDType, type FloatDType } from "../engine/dtype.js";
import { ConfigError } from "../engine/errors.js";
import { treeLeaves, type Params } from "../engine/tree.js";

/**
 * Optimiser state. The moments are ONE flat vector each, over the params' leaves in flatten order
 * (treeLeaves): the update is then a few large fused kernels instead of three small ones per leaf,
 * which matters because jax-js spends most of a small step on per-kernel overhead (measured on the
 * 8-coupling C1 flow, 48 leaves: 31 → 21 ms per step on a busy 2-core machine).
 */
export interface AdamState {
  /** First-moment estimate m, shape [P] (P = number of scalar parameters). */
  m: Array;
  /** Second-moment estimate v, shape [P]. */
  v: Array;
  /** Number of updates applied so far: a scalar array of the params' float dtype. */
  t: Array;
}

/** Hyper-parameters of one update. Only `lr` is an array (it may change every step). */
export interface AdamHyper {
  /** Learning rate: a scalar array (float dtype of the params). */
  lr: Array;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-8. */
  eps?: number;
  /** Decoupled (AdamW) weight decay λ. Default 0. */
  weightDecay?: number;
  /** Clip the global L2 norm of the gradient to this value before the update. Default: no clipping. */
  clipNorm?: number;
}

/** The float dtype shared by a params tree (float32 when it has no leaves). */
export function paramsDType(params: Params): FloatDType {
  for (const leaf of treeLeaves(params)) {
    const d = floatDTypeOf(leaf);
    if (d) return d;
  }
  return "float32";
}

/** Fresh optimiser state: zero moments and t = 0 (does not consume params). */
export function adamInit(params: Params): AdamState {
  const dtype = jaxDType(paramsDType(params));
  const size = treeLeaves(params).reduce((n, leaf) => n + leaf.size, 0);
  return { m: np.zeros([size], { dtype }), v: np.zeros([size], { dtype }), t: np.zeros([], { dtype }) };
}

/** Checks hyper-parameters once, at the public boundary (not inside the traced step). */
export function validateAdamHyper(h: Omit<AdamHyper, "lr">): void {
  const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0, clipNorm } = h;
  if (!(beta1 >= 0 && beta1 < 1)) throw new ConfigError(`adam: beta1 must be in [0, 1), got ${beta1}`);
  if (!(beta2 >= 0 && beta2 < 1)) throw new ConfigError(`adam: beta2 must be in [0, 1), got ${beta2}`);
  if (!(eps > 0)) throw new ConfigError(`adam: eps must be > 0, got ${eps}`);
  if (!(weightDecay >= 0)) throw new ConfigError(`adam: weightDecay must be ≥ 0, got ${weightDecay}`);
  if (clipNorm !== undefined && !(clipNorm > 0))
    throw new ConfigError(`adam: clipNorm must be > 0 (or omitted), got ${clipNorm}`);
}

/** Frees an optimiser state. */
export function disposeAdamState(state: AdamState): void {
  state.m.dispose();
  state.v.dispose();
  state.t.dispose();
}

/**
 * One Adam update; returns the new params and state (consumes params, grads, state, hyper.lr).
 * `grads` is a tree like the params, or one flat [P] vector over the leaves in flatten order (as
 * the moments are; what a gradient pass that returns one output instead of one per leaf gives).
 */
export function adamUpdate<P extends Params>(params: P, grads: P | Array, state: AdamState, hyper: AdamHyper): { params: P; state: AdamState } {
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0, clipNorm } = hyper;
  const [pLeaves, def] = tree.flatten(params) as [Array[], unknown];
  const gLeaves = treeLeaves(grads as Params);
  const size = pLeaves.reduce((n, leaf) => n + leaf.size, 0);
  const flat = gLeaves.length === 1 && gLeaves[0]!.ndim === 1 && gLeaves[0]!.size === size;
  if (!flat && (gLeaves.length !== pLeaves.length || gLeaves.some((g, i) => g.size !== pLeaves[i]!.size)))
    throw new ConfigError(
      `adam: grads do not match the params (${gLeaves.length} leaves of sizes [${gLeaves.map((g) => g.size).join(", ")}], ` +
        `params ${pLeaves.length} leaves of sizes [${pLeaves.map((p) => p.size).join(", ")}])`,
    );
  if (state.m.size !== size || state.v.size !== size)
    throw new ConfigError(`adam: the state holds ${state.m.size} moments, the params ${size} values (state of another model?)`);
  const dtypeName = paramsDType(params);
  pLeaves.forEach((leaf, i) => {
    if (floatDTypeOf(leaf) !== dtypeName)
      throw new ConfigError(`adam: every parameter must be ${dtypeName}, leaf ${i} is ${String(leaf.dtype)}`);
  });

  // Constants are arrays of the params' dtype: under jit a plain JS number becomes a float32
  // constant even in float64 arithmetic (measured: x·0.1 errs by 1.5e-9 relative), which would
  // make float64 training silently float32-accurate.
  const dtype = jaxDType(dtypeName);
  const c = (value: number): Array => np.full([], value, { dtype });
  const t = state.t.add(c(1));
  if (size === 0) {
    lr.dispose();
    for (const g of gLeaves) g.dispose();
    return { params, state: { m: state.m, v: state.v, t } };
  }

  let g = np.concatenate(gLeaves.map((leaf) => leaf.reshape([-1])));
  if (clipNorm !== undefined) {
    // g ← g · min(1, c/‖g‖) = g / max(1, ‖g‖/c)
    const shrink = np.maximum(np.sqrt(np.square(g.ref).sum()).div(c(clipNorm)), c(1));
    g = g.div(shrink);
  }
  const m = state.m.mul(c(beta1)).add(g.ref.mul(c(1 - beta1)));
  const v = state.v.mul(c(beta2)).add(np.square(g).mul(c(1 - beta2)));

  // Bias corrections 1 − βᵗ = 1 − exp(t log β), from the array t so that nothing retraces;
  // torch's form of the step: p ← p − (lr/bc1) · m / (√v/√bc2 + ε).
  const bc1 = c(1).sub(np.exp(t.ref.mul(c(Math.log(beta1)))));
  const bc2 = c(1).sub(np.exp(t.ref.mul(c(Math.log(beta2)))));
  const decay = weightDecay > 0 ? c(1).sub(lr.ref.mul(c(weightDecay))) : undefined;
  // The two scalars are forced into kernels of their own (reshape + sum) so that the fused update
  // kernel does not recompute both exp() for every parameter (a few % of a C1 step, measured).
  const stepSize = lr.div(bc1).reshape([1]).sum();
  const invSqrtBc2 = c(1).div(np.sqrt(bc2)).reshape([1]).sum();
  const update = m.ref.div(np.sqrt(v.ref).mul(invSqrtBc2).add(c(eps))).mul(stepSize);

  // Back to the leaves: slicing is safe here, no gradient flows through the optimiser.
  const newP: Array[] = [];
  let offset = 0;
  for (const leaf of pLeaves) {
    const n = leaf.size;
    const u = update.ref.slice([offset, offset + n]).reshape(leaf.shape);
    newP.push((decay ? leaf.mul(decay.ref) : leaf).sub(u));
    offset += n;
  }
  update.dispose();
  decay?.dispose();
  return { params: tree.unflatten(def as never, newP) as P, state: { m, v, t } };
}
