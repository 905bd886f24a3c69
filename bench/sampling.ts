/**
 * A benchmark helper: sampling from flows whose autoregressive layers have a large D.
 */
import { jit, np, type Array, type JsTree } from "../src/engine/jax.js";
import type { Key } from "../src/engine/random.js";
import { disposeTree, refTree } from "../src/engine/tree.js";
import type { Chain, ChainParams } from "../src/bijectors/chain.js";
import { Autoregressive, type AutoregressiveParams } from "../src/bijectors/autoregressive.js";
import { madeApply, type MADEParams } from "../src/nn/made.js";
import type { Flow, FlowParams } from "../src/distributions/flow.js";

/**
 * Sequential sampling for large D with ONE jitted MADE pass per call: x of an autoregressive layer
 * is reached by D calls w ← τ(z; θ(w)) from w = 0 (as Autoregressive.sequential), the other layers
 * (permutations) run eagerly. Neither alternative works at D = 784: one jit of all 5·D passes
 * holds every pass's mask constants, and the eager Flow.sample builds fresh masks in every pass
 * and ran out of wasm memory (measured: "Allocation exceeds the 4 GiB memory32 limit" in
 * madeApply's mask upload, C3, D = 784, sample(10)). Here each layer's masks are constants of
 * its one compiled pass.
 */
export function passwiseSampler(flow: Flow): { sample(p: FlowParams, key: Key, n: number): Promise<Array>; dispose(): void } {
  const chain = flow.bijector as Chain;
  type PassFn = ((pm: MADEParams, z: Array, w: Array) => Array) & { dispose(): void };
  const passes = chain.layers.map((layer) =>
    layer instanceof Autoregressive && layer.forwardPass === "sequential"
      ? (jit(((pm: MADEParams, z: Array, w: Array) => {
          const r = layer.transformer.forward(z, madeApply(layer.made, pm, w));
          r.logDet.dispose();
          return r.y;
        }) as unknown as (...args: any[]) => JsTree<Array>) as unknown as PassFn)
      : undefined,
  );
  return {
    async sample(p: FlowParams, key: Key, n: number): Promise<Array> {
      const layersP = (p.bijector as ChainParams).layers;
      let y = flow.base.sample(p.base, key, n);
      for (let i = 0; i < chain.layers.length; i++) {
        const layer = chain.layers[i]!;
        const pass = passes[i];
        if (!pass) {
          const r = layer.forward(layersP[i]!, y);
          r.logDet.dispose();
          y = r.y;
          continue;
        }
        const pm = (layersP[i] as AutoregressiveParams).made;
        let w = np.zeros(y.shape, { dtype: y.dtype });
        for (let pass_ = 1; pass_ <= layer.dim; pass_++) {
          w = pass(refTree(pm), y.ref, w);
          if (pass_ % 64 === 0) await w.ref.data(); // keep the queue of pending work short
        }
        disposeTree(pm);
        y.dispose();
        y = w;
      }
      return y;
    },
    dispose(): void {
      for (const f of passes) f?.dispose();
    },
  };
}

