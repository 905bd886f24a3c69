/**
 * Pytree helpers over params trees (nested objects/arrays of jax arrays).
 */
import { np, tree, type Array, type JsTree } from "./jax.js";

/** A params pytree: nested plain objects and arrays whose leaves are jax arrays. */
export type Params = JsTree<Array>;

/** Adds one reference to every leaf and returns the same tree (jax-js `.ref` for trees). */
export function refTree<T extends Params>(p: T): T {
  return tree.ref(p) as T;
}

/** Drops one reference from every leaf. */
export function disposeTree(p: Params | null | undefined): void {
  tree.dispose(p);
}

/** Leaves of a tree in a fixed order (jax-js flatten order). Does not touch reference counts. */
export function treeLeaves(p: Params): Array[] {
  return tree.leaves(p) as Array[];
}

/** Number of scalar parameters in a tree. */
export function countParams(p: Params): number {
  return treeLeaves(p).reduce((n, a) => n + a.size, 0);
}

/**
 * Leaf paths in flatten order, e.g. `layers.3.W`. Object keys are visited in the order jax-js
 * flattens them (sorted), so paths and `treeLeaves` line up one to one.
 */
export function treePaths(p: Params, prefix = ""): string[] {
  const [leaves, def] = tree.flatten(p);
  const marked = leaves.map((_, i) => i);
  const indexTree = tree.unflatten(def, marked) as unknown as JsTree<number>;
  const paths: string[] = new globalThis.Array(leaves.length);
  const walk = (node: unknown, path: string): void => {
    if (typeof node === "number") {
      paths[node] = path;
    } else if (globalThis.Array.isArray(node)) {
      node.forEach((child, i) => walk(child, path ? `${path}.${i}` : String(i)));
    } else if (node && typeof node === "object") {
      for (const [k, child] of Object.entries(node)) walk(child, path ? `${path}.${k}` : k);
    }
  };
  walk(indexTree, prefix);
  return paths;
}

/** Maps every leaf through `fn` (consumes the tree's leaves only if `fn` does). */
export function mapTree<T extends Params>(p: T, fn: (leaf: Array, path: string) => Array): T {
  const [leaves, def] = tree.flatten(p);
  const paths = treePaths(p);
  return tree.unflatten(def, (leaves as Array[]).map((leaf, i) => fn(leaf, paths[i]!))) as T;
}

/** Reads the leaf at a dotted path without touching reference counts. */
export function getPath(p: Params, path: string): Array {
  let node: unknown = p;
  for (const part of path.split(".")) node = (node as Record<string, unknown>)[part];
  if (!node) throw new Error(`no parameter at path ${path}`);
  return node as Array;
}

/**
 * Returns a copy of the tree structure with the leaf at `path` replaced by `value`. The old leaf
 * is disposed; every other leaf is moved (not referenced twice).
 */
export function setPath<T extends Params>(p: T, path: string, value: Array): T {
  const parts = path.split(".");
  const rec = (node: unknown, i: number): unknown => {
    if (i === parts.length) {
      (node as Array).dispose();
      return value;
    }
    const key = parts[i]!;
    if (globalThis.Array.isArray(node)) {
      const copy = node.slice();
      copy[Number(key)] = rec(node[Number(key)], i + 1);
      return copy;
    }
    const obj = node as Record<string, unknown>;
    if (!(key in obj)) throw new Error(`no parameter at path ${path}`);
    return { ...obj, [key]: rec(obj[key], i + 1) };
  };
  return rec(p, 0) as T;
}

/** Copies every leaf to host memory: `{ path: { shape, dtype, data } }` (does not consume). */
export function treeToHost(p: Params): Record<string, { shape: number[]; dtype: string; data: Float32Array | Float64Array }> {
  const out: Record<string, { shape: number[]; dtype: string; data: Float32Array | Float64Array }> = {};
  const paths = treePaths(p);
  treeLeaves(p).forEach((leaf, i) => {
    out[paths[i]!] = {
      shape: leaf.shape.slice(),
      dtype: String(leaf.dtype),
      data: leaf.ref.dataSync() as Float32Array | Float64Array,
    };
  });
  return out;
}

/** Zeros with the shape and dtype of every leaf (does not consume). */
export function zerosLikeTree<T extends Params>(p: T): T {
  return tree.map((leaf: Array) => np.zeros(leaf.shape, { dtype: leaf.dtype }), p) as T;
}
