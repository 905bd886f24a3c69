/**
 * engine/select.ts columnSplit: the three forms (halves, even/odd, general selection) split and
 * join exactly, and their gradients under jit equal those of the selection-matrix form.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { grad, jit, np, type Array } from "../../src/engine/jax.js";
import { columnSplit, placeColumns, takeColumns } from "../../src/engine/select.js";
import { fromValues } from "../../src/engine/dtype.js";

const D = 8;
const cases: Record<string, [number[], number[]]> = {
  "low half first": [[0, 1, 2, 3], [4, 5, 6, 7]],
  "high half first": [[4, 5, 6, 7], [0, 1, 2, 3]],
  "even first": [[0, 2, 4, 6], [1, 3, 5, 7]],
  "odd first": [[1, 3, 5, 7], [0, 2, 4, 6]],
  general: [[0, 1, 5, 6], [2, 3, 4, 7]],
};

test("columnSplit: split gives x[:, first] and x[:, second] exactly; join inverts it", () => {
  const values = Array.from({ length: 3 * D }, (_, i) => Math.sin(i + 1) * 10);
  for (const [name, [first, second]] of Object.entries(cases)) {
    const s = columnSplit(D, first, second);
    const [a, b] = s.split(fromValues(values, [3, D], "float64"));
    const av = Array.from(a.ref.dataSync() as Float64Array);
    const bv = Array.from(b.ref.dataSync() as Float64Array);
    for (let r = 0; r < 3; r++) {
      first.forEach((d, j) => assert.equal(av[r * 4 + j], values[r * D + d], `${name}: first column ${j}`));
      second.forEach((d, j) => assert.equal(bv[r * 4 + j], values[r * D + d], `${name}: second column ${j}`));
    }
    assert.deepEqual(Array.from(s.join(a, b).dataSync() as Float64Array), values, `${name}: join(split(x)) = x`);
  }
});

test("columnSplit: gradients under jit equal the selection-matrix form's", () => {
  const w = fromValues(Array.from({ length: D }, (_, i) => i - 3.5), [1, D], "float64");
  const x0 = Array.from({ length: 2 * D }, (_, i) => Math.cos(i));
  for (const [name, [first, second]] of Object.entries(cases)) {
    const s = columnSplit(D, first, second);
    // a loss that treats the parts differently and joins them back
    const viaSplit = (x: Array): Array => {
      const [a, b] = s.split(x);
      return s.join(np.square(a), b.mul(3)).mul(w.ref).sum();
    };
    const viaSelect = (x: Array): Array => {
      const a = takeColumns(x.ref, first);
      const b = takeColumns(x, second);
      return placeColumns(np.square(a), first, D).add(placeColumns(b.mul(3), second, D)).mul(w.ref).sum();
    };
    const g1 = Array.from(jit(grad(viaSplit))(fromValues(x0, [2, D], "float64")).dataSync() as Float64Array);
    const g2 = Array.from(grad(viaSelect)(fromValues(x0, [2, D], "float64")).dataSync() as Float64Array);
    g1.forEach((g, i) => assert.ok(Math.abs(g - g2[i]!) < 1e-12, `${name}: d/dx_${i} ${g} vs ${g2[i]}`));
  }
});
