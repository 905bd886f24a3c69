/**
 * Minibatches of training rows for maximum likelihood: a seeded shuffle per epoch, a fixed batch
 * size (the last partial batch of an epoch is dropped, so the compiled step never retraces), and
 * optionally fresh uniform dequantisation noise per batch, x = (b + u)/L (data/dequantize.ts).
 */
import type { Array } from "../engine/jax.js";
import { fromValues, typedArrayFor, type FloatDType } from "../engine/dtype.js";
import { hostRng } from "../engine/random.js";
import type { Rows } from "../data/split.js";

/** One minibatch: rows [B, D] and, for a conditional flow, their context [B, K]. */
export interface Minibatch {
  x: Array;
  c?: Array;
}

/**
 * The batch source of one run: every call returns the next `batch` rows of `train` (host values
 * cast to `dtype`); K > 0 takes the context too; `levels` dequantises. Deterministic from `seed`.
 */
export function minibatches(train: Rows, o: { batch: number; seed: number; dtype: FloatDType; contextDim: number; levels?: number }): () => Minibatch {
  const { batch, dtype, levels } = o;
  const K = o.contextDim;
  const nTrain = train.n;
  const stepsPerEpoch = Math.floor(nTrain / batch);
  const rng = hostRng((o.seed ^ 0x5eed) >>> 0);
  const noise = hostRng((o.seed ^ 0xde9a) >>> 0); // dequantisation noise, its own stream
  const invLevels = levels === undefined ? 0 : 1 / levels;
  const order = globalThis.Array.from({ length: nTrain }, (_, i) => i);
  let cursor = stepsPerEpoch * batch; // forces a shuffle before the first batch
  const Typed = typedArrayFor(dtype);
  const { dim } = train;
  return () => {
    if (cursor + batch > stepsPerEpoch * batch) {
      for (let i = nTrain - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      cursor = 0;
    }
    const xb = new Typed(batch * dim);
    const cb = K > 0 ? new Typed(batch * K) : undefined;
    for (let i = 0; i < batch; i++) {
      const r = order[cursor + i]!;
      if (levels === undefined) for (let d = 0; d < dim; d++) xb[i * dim + d] = train.x[r * dim + d]!;
      else for (let d = 0; d < dim; d++) xb[i * dim + d] = (train.x[r * dim + d]! + noise()) * invLevels;
      if (cb) for (let k = 0; k < K; k++) cb[i * K + k] = train.context![r * K + k]!;
    }
    cursor += batch;
    return cb ? { x: fromValues(xb, [batch, dim], dtype), c: fromValues(cb, [batch, K], dtype) } : { x: fromValues(xb, [batch, dim], dtype) };
  };
}
