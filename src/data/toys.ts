/**
 * Seeded 2-D toy densities (the pictures of the flow literature), with exact log-densities and
 * entropies where they exist. Samplers run on the host in float64 with a seeded generator
 * (engine/random.ts hostRng + Box–Muller), so a data set is reproducible from (name, n, seed) on
 * every device. Bit-compatibility with numpy is not a goal; the distributions are.
 *
 * 8gaussians, checkerboard and moons follow docs/reference/CONFIGS.md §1.1 exactly (the C1
 * benchmark); pinwheel, 2spirals and swissroll follow FFJORD's generators; circles and rings are
 * rings with uniform angle and isotropic Gaussian noise, whose density has a closed form:
 *     (1/2π)∫ N(x; r(cos φ, sin φ), σ²I) dφ = (1/(2πσ²)) exp(−(ρ − r)²/(2σ²)) · e^{−z} I₀(z),
 *     ρ = |x|, z = ρ r / σ².
 */
import { ConfigError } from "../engine/errors.js";
import { hostRng } from "../engine/random.js";

export const TOY_NAMES = ["8gaussians", "checkerboard", "moons", "circles", "rings", "pinwheel", "2spirals", "swissroll"] as const;

export type ToyName = (typeof TOY_NAMES)[number];

export interface ToyInfo {
  name: ToyName;
  description: string;
  /** Differential entropy H = −E log p (nats), where known. */
  entropy?: number;
  /** How `entropy` was obtained. */
  entropyMethod?: string;
  /** Exact log-density of rows of a row-major n×2 array, where it exists. */
  logDensity?: (x: Float64Array) => Float64Array;
}

const LOG_2PI = Math.log(2 * Math.PI);

/** Validates a toy name from the command line or a config. */
export function parseToyName(name: unknown): ToyName {
  if (typeof name === "string" && (TOY_NAMES as readonly string[]).includes(name)) return name as ToyName;
  throw new ConfigError(`toy data: expected one of ${TOY_NAMES.join(", ")}, got ${JSON.stringify(name)}`);
}

/** A standard-normal source from a uniform [0, 1) generator (Box–Muller, both draws used). */
export function normalSource(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - uniform())); // 1 − u ∈ (0, 1]: log never sees 0
    const a = 2 * Math.PI * uniform();
    spare = r * Math.sin(a);
    return r * Math.cos(a);
  };
}

// ---------------------------------------------------------------------------- 8gaussians

const G8_RADIUS = 2 * Math.SQRT2;
const G8_SIGMA = 0.5 / Math.SQRT2;
const G8_CENTRES = Array.from({ length: 8 }, (_, k) => [G8_RADIUS * Math.cos((k * Math.PI) / 4), G8_RADIUS * Math.sin((k * Math.PI) / 4)] as const);

function sample8Gaussians(n: number, uniform: () => number, normal: () => number): Float64Array {
  const x = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const [cx, cy] = G8_CENTRES[Math.floor(uniform() * 8)]!;
    x[2 * i] = cx + G8_SIGMA * normal();
    x[2 * i + 1] = cy + G8_SIGMA * normal();
  }
  return x;
}

/** p(x) = (1/8) Σ_k N(x; μ_k, σ² I), by log-sum-exp. */
function logDensity8Gaussians(x: Float64Array): Float64Array {
  const n = x.length / 2;
  const out = new Float64Array(n);
  const s2 = G8_SIGMA * G8_SIGMA;
  const logNorm = -Math.log(8) - LOG_2PI - Math.log(s2);
  const terms = new Float64Array(8);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 8; k++) {
      const [cx, cy] = G8_CENTRES[k]!;
      const dx = x[2 * i]! - cx;
      const dy = x[2 * i + 1]! - cy;
      terms[k] = -(dx * dx + dy * dy) / (2 * s2);
    }
    out[i] = logNorm + logSumExp(terms);
  }
  return out;
}

// ---------------------------------------------------------------------------- checkerboard

function sampleCheckerboard(n: number, uniform: () => number): Float64Array {
  const x = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(uniform() * 8);
    const ci = Math.floor(c / 2);
    const cj = 2 * (c % 2) + (ci % 2);
    x[2 * i] = -4 + 2 * ci + 2 * uniform();
    x[2 * i + 1] = -4 + 2 * cj + 2 * uniform();
  }
  return x;
}

/** 1/32 on the black cells ((i + j) even) of the 4×4 board over [−4, 4)², 0 elsewhere. */
function logDensityCheckerboard(x: Float64Array): Float64Array {
  const n = x.length / 2;
  const out = new Float64Array(n);
  const inside = -Math.log(32);
  for (let r = 0; r < n; r++) {
    const i = Math.floor((x[2 * r]! + 4) / 2);
    const j = Math.floor((x[2 * r + 1]! + 4) / 2);
    out[r] = i >= 0 && i < 4 && j >= 0 && j < 4 && (i + j) % 2 === 0 ? inside : -Infinity;
  }
  return out;
}

// ---------------------------------------------------------------------------- moons

const MOONS_NOISE = 0.05; // make_moons noise, before the ×2 scaling
const MOONS_QUAD_NODES = 1000;

/** sklearn make_moons(n, noise=0.05, shuffle=True), then x = 2 (x_raw − (0.5, 0.25)). */
function sampleMoons(n: number, uniform: () => number, normal: () => number): Float64Array {
  const nOut = Math.floor(n / 2);
  const nIn = n - nOut;
  const raw = new Float64Array(2 * n);
  const lin = (m: number, i: number): number => (m === 1 ? 0 : (Math.PI * i) / (m - 1));
  for (let i = 0; i < nOut; i++) {
    const t = lin(nOut, i);
    raw[2 * i] = Math.cos(t);
    raw[2 * i + 1] = Math.sin(t);
  }
  for (let i = 0; i < nIn; i++) {
    const t = lin(nIn, i);
    raw[2 * (nOut + i)] = 1 - Math.cos(t);
    raw[2 * (nOut + i) + 1] = 1 - Math.sin(t) - 0.5;
  }
  const x = new Float64Array(2 * n);
  const perm = shuffledIndices(n, uniform);
  for (let i = 0; i < n; i++) {
    const r = perm[i]!;
    x[2 * i] = 2 * (raw[2 * r]! + MOONS_NOISE * normal() - 0.5);
    x[2 * i + 1] = 2 * (raw[2 * r + 1]! + MOONS_NOISE * normal() - 0.25);
  }
  return x;
}

/**
 * The continuous-t limit density of docs/reference/CONFIGS.md §1.1, by 1000-node midpoint quadrature per arc:
 *     p(x) = ½(1/π)∫₀^π N(x; c_out(t), 0.1² I) dt + ½(1/π)∫₀^π N(x; c_in(t), 0.1² I) dt,
 *     c_out(t) = (2cos t − 1, 2sin t − 0.5),  c_in(t) = (1 − 2cos t, 0.5 − 2sin t).
 */
function logDensityMoons(x: Float64Array): Float64Array {
  const n = x.length / 2;
  const out = new Float64Array(n);
  const sigma = 2 * MOONS_NOISE;
  const s2 = sigma * sigma;
  const M = MOONS_QUAD_NODES;
  const cos = new Float64Array(M);
  const sin = new Float64Array(M);
  for (let j = 0; j < M; j++) {
    const t = (Math.PI * (j + 0.5)) / M;
    cos[j] = Math.cos(t);
    sin[j] = Math.sin(t);
  }
  // each node carries weight ½ · (1/M): the two arcs' (1/π)∫dt become means over their nodes
  const logNorm = -Math.log(2 * M) - LOG_2PI - Math.log(s2);
  const terms = new Float64Array(2 * M);
  for (let i = 0; i < n; i++) {
    const a = x[2 * i]!;
    const b = x[2 * i + 1]!;
    for (let j = 0; j < M; j++) {
      let dx = a - (2 * cos[j]! - 1);
      let dy = b - (2 * sin[j]! - 0.5);
      terms[j] = -(dx * dx + dy * dy) / (2 * s2);
      dx = a - (1 - 2 * cos[j]!);
      dy = b - (0.5 - 2 * sin[j]!);
      terms[M + j] = -(dx * dx + dy * dy) / (2 * s2);
    }
    out[i] = logNorm + logSumExp(terms);
  }
  return out;
}

// ---------------------------------------------------------------------------- circles and rings

interface RingSpec {
  radii: readonly number[];
  sigma: number;
}

/** circles: sklearn's make_circles(factor = 0.5, noise = 0.05) scaled ×2, with uniform angles. */
const CIRCLES: RingSpec = { radii: [2, 1], sigma: 0.1 };
/** rings: FFJORD's four rings (radii 0.75 … 3, noise 0.08), with uniform angles. */
const RINGS: RingSpec = { radii: [3, 2.25, 1.5, 0.75], sigma: 0.08 };

/** Equal-weight rings: ring k ~ uniform over the ring list, angle ~ U[0, 2π), plus N(0, σ²I). */
function sampleRings(spec: RingSpec, n: number, uniform: () => number, normal: () => number): Float64Array {
  const x = new Float64Array(2 * n);
  const K = spec.radii.length;
  for (let i = 0; i < n; i++) {
    const r = spec.radii[Math.floor(uniform() * K)]!;
    const a = 2 * Math.PI * uniform();
    x[2 * i] = r * Math.cos(a) + spec.sigma * normal();
    x[2 * i + 1] = r * Math.sin(a) + spec.sigma * normal();
  }
  return x;
}

/** log of the radial density p(ρ) (a density on R², evaluated at |x| = ρ). */
function logRingDensityAt(spec: RingSpec, rho: number): number {
  const s2 = spec.sigma * spec.sigma;
  const K = spec.radii.length;
  const terms = spec.radii.map((r) => {
    const d = rho - r;
    return -(d * d) / (2 * s2) + logI0Scaled((rho * r) / s2);
  });
  return -Math.log(K) - LOG_2PI - Math.log(s2) + logSumExp(Float64Array.from(terms));
}

function logDensityRings(spec: RingSpec): (x: Float64Array) => Float64Array {
  return (x) => {
    const n = x.length / 2;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = logRingDensityAt(spec, Math.hypot(x[2 * i]!, x[2 * i + 1]!));
    return out;
  };
}

/**
 * Entropy of a radially symmetric density by 1-D midpoint quadrature in ρ:
 *     H = −∫₀^∞ 2πρ p(ρ) log p(ρ) dρ   (error far below 1e-6 nats with 200,000 nodes).
 */
function ringEntropy(spec: RingSpec): number {
  const rMax = Math.max(...spec.radii) + 12 * spec.sigma;
  const M = 200_000;
  const h = rMax / M;
  let H = 0;
  for (let j = 0; j < M; j++) {
    const rho = (j + 0.5) * h;
    const lp = logRingDensityAt(spec, rho);
    H -= 2 * Math.PI * rho * Math.exp(lp) * lp * h;
  }
  return H;
}

/**
 * log(e^{−z} I₀(z)) for z ≥ 0 (Abramowitz & Stegun 9.8.1–9.8.2, relative error < 2e-7).
 */
export function logI0Scaled(z: number): number {
  if (z < 3.75) {
    const t = (z / 3.75) ** 2;
    const i0 = 1 + t * (3.5156229 + t * (3.0899424 + t * (1.2067492 + t * (0.2659732 + t * (0.0360768 + t * 0.0045813)))));
    return Math.log(i0) - z;
  }
  const t = 3.75 / z;
  const poly =
    0.39894228 +
    t * (0.01328592 + t * (0.00225319 + t * (-0.00157565 + t * (0.00916281 + t * (-0.02057706 + t * (0.02635537 + t * (-0.01647633 + t * 0.00392377)))))));
  return Math.log(poly) - 0.5 * Math.log(z);
}

// ---------------------------------------------------------------------------- FFJORD shapes

/** FFJORD's pinwheel: 5 arms, radial std 0.3, tangential std 0.1, rate 0.25, scaled ×2. */
function samplePinwheel(n: number, uniform: () => number, normal: () => number): Float64Array {
  const classes = 5;
  const rate = 0.25;
  const x = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const f0 = 1 + 0.3 * normal();
    const f1 = 0.1 * normal();
    const angle = (2 * Math.PI * Math.floor(uniform() * classes)) / classes + rate * Math.exp(f0);
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    // FFJORD's einsum("ti,tij->tj", f, [[cos, −sin], [sin, cos]]): a rotation by −angle
    x[2 * i] = 2 * (f0 * c + f1 * s);
    x[2 * i + 1] = 2 * (f1 * c - f0 * s);
  }
  return x;
}

/** FFJORD's two spirals: t = √u · 540°, arms (−t cos t, t sin t) and its mirror, /3, noise 0.1. */
function sample2Spirals(n: number, uniform: () => number, normal: () => number): Float64Array {
  const x = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const t = ((Math.sqrt(uniform()) * 540 * 2 * Math.PI) / 360);
    const sign = uniform() < 0.5 ? 1 : -1;
    const a = -Math.cos(t) * t + 0.5 * uniform();
    const b = Math.sin(t) * t + 0.5 * uniform();
    x[2 * i] = (sign * a) / 3 + 0.1 * normal();
    x[2 * i + 1] = (sign * b) / 3 + 0.1 * normal();
  }
  return x;
}

/** FFJORD's swiss roll: sklearn make_swiss_roll(noise = 1) columns (x, z), divided by 5. */
function sampleSwissroll(n: number, uniform: () => number, normal: () => number): Float64Array {
  const x = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const t = 1.5 * Math.PI * (1 + 2 * uniform());
    uniform(); // the unused height coordinate of the 3-D roll keeps the stream aligned with it
    x[2 * i] = (t * Math.cos(t) + normal()) / 5;
    x[2 * i + 1] = (t * Math.sin(t) + normal()) / 5;
  }
  return x;
}

// ---------------------------------------------------------------------------- public API

/** n samples (row-major n×2, float64) of a toy density, reproducible from the seed. */
export function sampleToy(name: ToyName | string, n: number, seed = 0): Float64Array {
  const toy = parseToyName(name);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`toy data: n must be an integer ≥ 0, got ${n}`);
  const uniform = hostRng(seed);
  const normal = normalSource(uniform);
  switch (toy) {
    case "8gaussians":
      return sample8Gaussians(n, uniform, normal);
    case "checkerboard":
      return sampleCheckerboard(n, uniform);
    case "moons":
      return sampleMoons(n, uniform, normal);
    case "circles":
      return sampleRings(CIRCLES, n, uniform, normal);
    case "rings":
      return sampleRings(RINGS, n, uniform, normal);
    case "pinwheel":
      return samplePinwheel(n, uniform, normal);
    case "2spirals":
      return sample2Spirals(n, uniform, normal);
    case "swissroll":
      return sampleSwissroll(n, uniform, normal);
  }
}

const entropyCache = new Map<ToyName, number>();

/** Name, description, entropy and exact log-density (where known) of a toy. */
export function toyInfo(name: ToyName | string): ToyInfo {
  const toy = parseToyName(name);
  switch (toy) {
    case "8gaussians":
      return {
        name: toy,
        description: "8 Gaussians (σ = 0.5/√2) on a circle of radius 2√2",
        entropy: 2.83107,
        entropyMethod: "Monte Carlo, 10⁶ samples (docs/reference/CONFIGS.md §1.1; ± 0.00097)",
        logDensity: logDensity8Gaussians,
      };
    case "checkerboard":
      return {
        name: toy,
        description: "uniform on the 8 black cells of a 4×4 board over [−4, 4]²",
        entropy: Math.log(32),
        entropyMethod: "exact (log 32)",
        logDensity: logDensityCheckerboard,
      };
    case "moons":
      return {
        name: toy,
        description: "two interleaved half circles (make_moons, noise 0.05, scaled ×2 and centred)",
        entropy: 1.6747,
        entropyMethod: "Monte Carlo, 10⁵ samples of the quadrature density (docs/reference/PEERS.md; ± 0.0023)",
        logDensity: logDensityMoons,
      };
    case "circles":
    case "rings": {
      const spec = toy === "circles" ? CIRCLES : RINGS;
      if (!entropyCache.has(toy)) entropyCache.set(toy, ringEntropy(spec));
      return {
        name: toy,
        description:
          toy === "circles"
            ? "two concentric circles (radii 1 and 2, noise 0.1)"
            : "four concentric rings (radii 0.75, 1.5, 2.25, 3, noise 0.08)",
        entropy: entropyCache.get(toy)!,
        entropyMethod: "radial quadrature of the exact density",
        logDensity: logDensityRings(spec),
      };
    }
    case "pinwheel":
      return { name: toy, description: "five curved arms (FFJORD pinwheel)" };
    case "2spirals":
      return { name: toy, description: "two interleaved spirals (FFJORD 2spirals)" };
    case "swissroll":
      return { name: toy, description: "a 2-D swiss roll (FFJORD swissroll)" };
  }
}

/** Exact log-density of the rows of x (n×2) under a toy; ConfigError for toys without one. */
export function toyLogDensity(name: ToyName | string, x: Float64Array): Float64Array {
  const info = toyInfo(name);
  if (!info.logDensity)
    throw new ConfigError(`toy data: ${info.name} has no closed-form density (those with one: ${TOY_NAMES.filter((t) => toyInfo(t).logDensity).join(", ")})`);
  if (x.length % 2 !== 0) throw new ConfigError(`toy data: x must hold n×2 values, got ${x.length}`);
  return info.logDensity(x);
}

function logSumExp(v: Float64Array): number {
  let m = -Infinity;
  for (const a of v) if (a > m) m = a;
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (const a of v) s += Math.exp(a - m);
  return m + Math.log(s);
}

function shuffledIndices(n: number, uniform: () => number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}
