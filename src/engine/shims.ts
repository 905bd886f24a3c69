/**
 * Host shims that jax-js 0.1.25 needs on Node.js 20 (see docs/reference/ENGINE-NOTES.md). This module must be
 * evaluated before `@jax-js/jax` is first used; `engine/jax.ts` imports it first, and every
 * other file of the library reaches jax-js only through `engine/jax.ts`.
 *
 * - `Float16Array` is missing before Node 22, and jax-js tests `value instanceof Float16Array`
 *   when it builds arrays. A stub whose `instanceof` is always false lets every other dtype work.
 * - ES2025 iterator helpers (`Iterator.prototype.map` ...) are missing before Node 22; `einsum`
 *   uses `matchAll(...).map(...)`.
 * Both are installed only when missing, so browsers and newer Node versions are untouched.
 */
import { prepareEngineLoad } from "./threads.js";

const globals = globalThis as unknown as Record<string, unknown>;

if (typeof globals.Float16Array === "undefined") {
  class Float16ArrayUnsupported {
    constructor() {
      throw new Error("float16 is not supported on this JavaScript runtime (no Float16Array)");
    }
    static [Symbol.hasInstance](): boolean {
      return false;
    }
  }
  globals.Float16Array = Float16ArrayUnsupported;
}

type IteratorHelpers = {
  map?: unknown;
  filter?: unknown;
  toArray?: unknown;
  forEach?: unknown;
  some?: unknown;
  every?: unknown;
  reduce?: unknown;
  take?: unknown;
  drop?: unknown;
  flatMap?: unknown;
  find?: unknown;
};

const iteratorPrototype = Object.getPrototypeOf(
  Object.getPrototypeOf([][Symbol.iterator]()),
) as IteratorHelpers & Iterable<unknown>;

function defineHelper(name: keyof IteratorHelpers, fn: (...args: never[]) => unknown): void {
  if (typeof iteratorPrototype[name] !== "function") {
    Object.defineProperty(iteratorPrototype, name, { value: fn, writable: true, configurable: true });
  }
}

defineHelper("map", function* (this: Iterable<unknown>, f: (v: unknown, i: number) => unknown) {
  let i = 0;
  for (const v of this) yield f(v, i++);
} as never);
defineHelper("filter", function* (this: Iterable<unknown>, f: (v: unknown, i: number) => boolean) {
  let i = 0;
  for (const v of this) if (f(v, i++)) yield v;
} as never);
defineHelper("flatMap", function* (this: Iterable<unknown>, f: (v: unknown, i: number) => Iterable<unknown>) {
  let i = 0;
  for (const v of this) yield* f(v, i++);
} as never);
defineHelper("take", function* (this: Iterable<unknown>, n: number) {
  if (n <= 0) return;
  let i = 0;
  for (const v of this) {
    yield v;
    if (++i >= n) return;
  }
} as never);
defineHelper("drop", function* (this: Iterable<unknown>, n: number) {
  let i = 0;
  for (const v of this) if (i++ >= n) yield v;
} as never);
defineHelper("toArray", function (this: Iterable<unknown>) {
  return [...this];
} as never);
defineHelper("forEach", function (this: Iterable<unknown>, f: (v: unknown, i: number) => void) {
  let i = 0;
  for (const v of this) f(v, i++);
} as never);
defineHelper("some", function (this: Iterable<unknown>, f: (v: unknown, i: number) => boolean) {
  let i = 0;
  for (const v of this) if (f(v, i++)) return true;
  return false;
} as never);
defineHelper("every", function (this: Iterable<unknown>, f: (v: unknown, i: number) => boolean) {
  let i = 0;
  for (const v of this) if (!f(v, i++)) return false;
  return true;
} as never);
defineHelper("find", function (this: Iterable<unknown>, f: (v: unknown, i: number) => boolean) {
  let i = 0;
  for (const v of this) if (f(v, i++)) return v;
  return undefined;
} as never);
defineHelper("reduce", function (this: Iterable<unknown>, f: (acc: unknown, v: unknown, i: number) => unknown, ...init: unknown[]) {
  let i = 0;
  let started = init.length > 0;
  let acc = init[0];
  for (const v of this) {
    if (!started) {
      acc = v;
      started = true;
    } else acc = f(acc, v, i);
    i++;
  }
  if (!started) throw new TypeError("Reduce of empty iterator with no initial value");
  return acc;
} as never);

// Last, just before jax-js is evaluated: jax-js decides once, at load, whether it has a worker
// pool, so NFLOW_THREADS is honoured here and enableThreads() is closed from now on (threads.ts).
prepareEngineLoad();
