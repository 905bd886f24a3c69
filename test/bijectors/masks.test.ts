import { test } from "node:test";
import assert from "node:assert/strict";
import { channelMask, checkerboardMask, couplingMask, maskIndices, validateMask } from "../../src/bijectors/masks.js";
import { ConfigError } from "../../src/engine/errors.js";

const T = true;
const F = false;

test("coupling masks: half passes the first ⌈D/2⌉ dims, alternating the even ones, flip negates", () => {
  assert.deepEqual(couplingMask(5, "half"), [T, T, T, F, F]);
  assert.deepEqual(couplingMask(4, "half"), [T, T, F, F]);
  assert.deepEqual(couplingMask(5, "half", true), [F, F, F, T, T]);
  assert.deepEqual(couplingMask(5, "alternating"), [T, F, T, F, T]);
  assert.deepEqual(couplingMask(2, "alternating", true), [F, T]);
  assert.deepEqual(maskIndices([T, F, F, T]), { identity: [0, 3], transformed: [1, 2] });
  assert.throws(() => couplingMask(1, "half"), ConfigError);
  assert.throws(() => couplingMask(4, "diagonal" as never), ConfigError);
  assert.throws(() => validateMask([T, T]), /2 of 2 passing/);
  assert.throws(() => validateMask([F, F]), ConfigError);
});

test("image masks: checkerboard on (h + w) parity for every channel, channel mask on the first ⌈C/2⌉ channels", () => {
  // C = 2, H = 2, W = 3, flattened C-major
  assert.deepEqual(checkerboardMask(2, 2, 3), [T, F, T, F, T, F, T, F, T, F, T, F]);
  assert.deepEqual(checkerboardMask(1, 2, 2, true), [F, T, T, F]);
  assert.deepEqual(channelMask(4, 1, 2), [T, T, T, T, F, F, F, F]);
  assert.deepEqual(channelMask(3, 1, 1, true), [F, F, T]);
  assert.throws(() => channelMask(1, 4, 4), ConfigError);
  assert.throws(() => checkerboardMask(1, 1, 1), ConfigError);
  assert.throws(() => checkerboardMask(0, 2, 2), ConfigError);
});
