import { test } from "node:test";
import { defaultDevice } from "../../src/engine/jax.js";
import { FixedLinear } from "../../src/bijectors/fixed-linear.js";
import { Chain } from "../../src/bijectors/chain.js";
import { checkBijector } from "../support/checks.js";

test("fixed linear (lecture matrix) and a chain: round trip and log-det in float64 on cpu", () => {
  defaultDevice("cpu");
  const lecture = new FixedLinear([[2, -1], [2, 1]]);
  checkBijector(lecture, { dtype: "float64", roundTripTol: 1e-10, logDetTol: 1e-9 });
  const chain = new Chain([lecture, new FixedLinear([[1, 0.5], [0, 3]], [1, -2])]);
  checkBijector(chain, { dtype: "float64", roundTripTol: 1e-10, logDetTol: 1e-9 });
});
