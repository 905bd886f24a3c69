import { test } from "node:test";
import assert from "node:assert/strict";
import { TOY_NAMES, sampleToy, toyInfo, toyLogDensity, logI0Scaled } from "../../src/data/toys.js";
import { ConfigError } from "../../src/engine/errors.js";

function moments(x: Float64Array): { mean: [number, number]; cov: [number, number, number] } {
  const n = x.length / 2;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) { mx += x[2 * i]!; my += x[2 * i + 1]!; }
  mx /= n; my /= n;
  let sxx = 0, syy = 0, sxy = 0;
  for (let i = 0; i < n; i++) {
    const a = x[2 * i]! - mx, b = x[2 * i + 1]! - my;
    sxx += a * a; syy += b * b; sxy += a * b;
  }
  return { mean: [mx, my], cov: [sxx / n, syy / n, sxy / n] };
}

/** ∫ p over a square grid by the midpoint rule. */
function gridIntegral(name: string, lo: number, hi: number, m: number): number {
  const h = (hi - lo) / m;
  const x = new Float64Array(2 * m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
    x[2 * (i * m + j)] = lo + (i + 0.5) * h;
    x[2 * (i * m + j) + 1] = lo + (j + 0.5) * h;
  }
  let s = 0;
  for (const v of toyLogDensity(name, x)) s += Math.exp(v);
  return s * h * h;
}

test("toys are seeded: same seed same data, other seed other data; all names sample finite n×2", () => {
  for (const name of TOY_NAMES) {
    const a = sampleToy(name, 500, 7);
    assert.equal(a.length, 1000);
    assert.ok(a.every(Number.isFinite), name);
    assert.deepEqual(sampleToy(name, 500, 7), a, `${name} is reproducible`);
    assert.notDeepEqual(sampleToy(name, 500, 8), a, `${name} depends on the seed`);
  }
  assert.throws(() => sampleToy("spiral", 10), ConfigError);
});

test("8gaussians: centres at radius 2√2, σ = 0.5/√2, moments and per-component spread", () => {
  const n = 40000;
  const x = sampleToy("8gaussians", n, 1);
  const { mean, cov } = moments(x);
  // mean 0; covariance = (r²/2 + σ²) I = (4 + 0.125) I
  assert.ok(Math.abs(mean[0]) < 0.04 && Math.abs(mean[1]) < 0.04, `mean ${mean}`);
  assert.ok(Math.abs(cov[0] - 4.125) < 0.08 && Math.abs(cov[1] - 4.125) < 0.08 && Math.abs(cov[2]) < 0.08, `cov ${cov}`);
  // distance to the nearest centre has E|d|² = 2σ² = 0.25
  let s = 0;
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (let k = 0; k < 8; k++) {
      const dx = x[2 * i]! - 2 * Math.SQRT2 * Math.cos((k * Math.PI) / 4);
      const dy = x[2 * i + 1]! - 2 * Math.SQRT2 * Math.sin((k * Math.PI) / 4);
      best = Math.min(best, dx * dx + dy * dy);
    }
    s += best;
  }
  assert.ok(Math.abs(s / n - 0.25) < 0.01, `E|d|² = ${s / n}`);
});

test("densities integrate to 1 on a grid: 8gaussians, checkerboard, moons, circles, rings", () => {
  assert.ok(Math.abs(gridIntegral("8gaussians", -6, 6, 120) - 1) < 1e-6);
  // checkerboard: cell edges fall on grid lines, so the midpoint rule is exact
  assert.ok(Math.abs(gridIntegral("checkerboard", -5, 5, 200) - 1) < 1e-12);
  assert.ok(Math.abs(gridIntegral("moons", -4, 4, 80) - 1) < 1e-4);
  assert.ok(Math.abs(gridIntegral("circles", -4, 4, 200) - 1) < 1e-4);
  assert.ok(Math.abs(gridIntegral("rings", -4, 4, 200) - 1) < 1e-4);
});

test("checkerboard: samples lie on black cells, density 1/32 there and 0 elsewhere", () => {
  const x = sampleToy("checkerboard", 5000, 3);
  const lp = toyLogDensity("checkerboard", x);
  assert.ok(lp.every((v) => Math.abs(v + Math.log(32)) < 1e-15));
  const cells = new Set<string>();
  for (let i = 0; i < 5000; i++) cells.add(`${Math.floor((x[2 * i]! + 4) / 2)},${Math.floor((x[2 * i + 1]! + 4) / 2)}`);
  assert.equal(cells.size, 8, "all 8 black cells are used");
  const white = toyLogDensity("checkerboard", Float64Array.from([-3, -1, 0.5, -0.5, 4.5, 0]));
  assert.deepEqual([...white], [-Infinity, -Infinity, -Infinity]);
});

test("entropies: Monte Carlo −mean log p agrees with the stated values (8gaussians, moons, circles, rings)", () => {
  for (const [name, n] of [["8gaussians", 60000], ["moons", 8000], ["circles", 40000], ["rings", 40000]] as const) {
    const info = toyInfo(name);
    const lp = toyLogDensity(name, sampleToy(name, n, 11));
    let m = 0, ss = 0;
    for (const v of lp) m += v;
    m /= n;
    for (const v of lp) ss += (v - m) ** 2;
    const se = Math.sqrt(ss / (n - 1) / n);
    const H = -m;
    // moons samples sit on make_moons' linspace grid, which shifts H by < 0.01 nats
    const tol = 4 * se + (name === "moons" ? 0.01 : 0.002);
    assert.ok(Math.abs(H - info.entropy!) < tol, `${name}: MC entropy ${H} ± ${se} vs ${info.entropy}`);
  }
  assert.equal(toyInfo("checkerboard").entropy, Math.log(32));
  assert.equal(toyInfo("pinwheel").logDensity, undefined);
  assert.throws(() => toyLogDensity("swissroll", new Float64Array(2)), ConfigError);
});

test("moons: make_moons construction, noise 0.1 after scaling, arcs centred as in CONFIGS.md", () => {
  const x = sampleToy("moons", 10000, 5);
  const { mean } = moments(x);
  // raw make_moons mean is (0.5, 0.25) (arcs have means (0, 2/π) and (1, 0.5 − 2/π)) → 0 after centring
  assert.ok(Math.abs(mean[0]) < 0.01 && Math.abs(mean[1]) < 0.01, `mean ${mean}`);
  // every point is within a few noise σ (0.1) of one of the two arcs of radius 2
  let worst = 0;
  for (let i = 0; i < 10000; i++) {
    const a = x[2 * i]!, b = x[2 * i + 1]!;
    const dOut = Math.abs(Math.hypot(a + 1, b + 0.5) - 2);
    const dIn = Math.abs(Math.hypot(a - 1, b - 0.5) - 2);
    worst = Math.max(worst, Math.min(dOut, dIn));
  }
  assert.ok(worst < 0.6, `max distance to the arcs ${worst}`);
});

test("log I0 scaled matches a power series", () => {
  for (const z of [0, 0.1, 1, 3.7, 3.8, 10, 50]) {
    let term = 1, sum = 1;
    for (let k = 1; k < 400; k++) { term *= (z / 2) ** 2 / (k * k); sum += term; }
    const ref = Math.log(sum) - z;
    assert.ok(Math.abs(logI0Scaled(z) - ref) < 3e-7, `z = ${z}: ${logI0Scaled(z)} vs ${ref}`);
  }
});
