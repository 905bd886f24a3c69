import { test } from "node:test";
import assert from "node:assert/strict";
import { CATEGORICAL, categorical, colormap, wheelColor } from "../../src/plot/colormap.js";

// Relative luminance (WCAG) of an sRGB colour: perceptually uniform sequential maps increase in it.
function relLum([r, g, b]: readonly number[]): number {
  const lin = (c: number): number => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  return 0.2126 * lin(r!) + 0.7152 * lin(g!) + 0.0722 * lin(b!);
}

test("viridis and magma: the published end points and middle, clamped outside [0, 1]", () => {
  const v = colormap("viridis");
  assert.deepEqual(v.rgb(0), [0x44, 0x01, 0x54]);
  assert.deepEqual(v.rgb(1), [0xfd, 0xe7, 0x25]);
  assert.deepEqual(v.rgb(128 / 255), [0x21, 0x91, 0x8c]);
  assert.deepEqual(v.rgb(-3), v.rgb(0));
  assert.deepEqual(v.rgb(7), v.rgb(1));
  const m = colormap("magma");
  assert.deepEqual(m.rgb(0), [0x00, 0x00, 0x04]);
  assert.deepEqual(m.rgb(1), [0xfc, 0xfd, 0xbf]);
  assert.equal(v.css(0), "rgb(68, 1, 84)");
  assert.throws(() => colormap("jet" as never), /viridis/);
});

test("sequential maps get lighter monotonically (what makes a heat map readable)", () => {
  for (const name of ["viridis", "magma"] as const) {
    const map = colormap(name);
    let prev = -1;
    for (let i = 0; i <= 64; i++) {
      const l = relLum(map.rgb(i / 64));
      assert.ok(l > prev, `${name}: luminance not increasing at t = ${i / 64}`);
      prev = l;
    }
  }
});

test("categorical palette cycles and the colour wheel is periodic in the angle", () => {
  assert.equal(categorical(0), CATEGORICAL[0]);
  assert.equal(categorical(CATEGORICAL.length + 2), CATEGORICAL[2]);
  assert.equal(categorical(-1), CATEGORICAL[CATEGORICAL.length - 1]);
  assert.equal(wheelColor(0.3, 0.5), wheelColor(0.3 + 2 * Math.PI, 0.5));
  assert.notEqual(wheelColor(0, 0.5), wheelColor(Math.PI, 0.5));
  assert.notEqual(wheelColor(1, 0), wheelColor(1, 1));
});
