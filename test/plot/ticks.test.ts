import { test } from "node:test";
import assert from "node:assert/strict";
import { formatFraction, formatTick, niceNumber, niceTicks } from "../../src/plot/ticks.js";

test("nice ticks: steps are 1, 2, 2.5 or 5 × 10^k, inside the limits, about the target count", () => {
  assert.deepEqual(niceTicks(0, 1).ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(-3.7, 12.2).ticks, [-2.5, 0, 2.5, 5, 7.5, 10]);
  for (const [lo, hi] of [[-3.7, 12.2], [0.0012, 0.0091], [-250, 13000], [1, 1.05], [-2.6, 4.6]] as const) {
    const { ticks, step } = niceTicks(lo, hi, 5);
    const mantissa = step / 10 ** Math.floor(Math.log10(step));
    assert.ok([1, 2, 2.5, 5].some((m) => Math.abs(m - mantissa) < 1e-9), `step ${step} for [${lo}, ${hi}] is not nice`);
    assert.ok(ticks.length >= 3 && ticks.length <= 9, `${ticks.length} ticks for [${lo}, ${hi}]`);
    for (const t of ticks) assert.ok(t >= lo - 1e-12 && t <= hi + 1e-12, `tick ${t} outside [${lo}, ${hi}]`);
    for (let i = 1; i < ticks.length; i++) assert.ok(Math.abs(ticks[i]! - ticks[i - 1]! - step) < step * 1e-9);
  }
  assert.equal(niceNumber(0.37, "ceil"), 0.5);
  assert.equal(niceNumber(7.6, "round"), 10);
});

test("tick labels carry the decimals the step needs, and typeset minus signs", () => {
  assert.equal(formatTick(0.5, 0.5), "0.5");
  assert.equal(formatTick(-2.5, 2.5), "−2.5");
  assert.equal(formatTick(10, 5), "10");
  assert.equal(formatTick(0.25, 0.05), "0.25");
  assert.equal(formatTick(0, 0.1), "0");
});

test("fractions: the lecture's probabilities print exactly", () => {
  assert.equal(formatFraction(1 / 16), "1/16");
  assert.equal(formatFraction(1 / 8), "1/8");
  assert.equal(formatFraction(0.5), "1/2");
  assert.equal(formatFraction(4), "4");
  assert.equal(formatFraction(-0.75), "−3/4");
  assert.equal(formatFraction(Math.PI), "3.142");
});
