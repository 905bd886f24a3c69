/**
 * Latent interpolation (RealNVP, Dinh et al. 2017, §5 and fig. 6): four latent codes z₁…z₄ span a
 * two-parameter manifold
 *     z(φ, φ′) = cos φ (cos φ′ z₁ + sin φ′ z₂) + sin φ (cos φ′ z₃ + sin φ′ z₄),   φ, φ′ ∈ [0, π/2],
 * which keeps ‖z‖ at the typical radius of a standard Gaussian base (for independent codes of
 * equal norm), unlike a straight line through its low-density middle. Decoding every point gives
 * a grid whose corners are the four images: (0, 0) → z₁, (0, π/2) → z₂, (π/2, 0) → z₃, (π/2, π/2) → z₄.
 * Rows vary φ, columns φ′.
 */
import { ConfigError, ContextError, ShapeError } from "../engine/errors.js";
import type { FlowModel } from "../model/model.js";

/** The points of a g×g interpolation grid: g² codes of length D, row-major (row = φ, column = φ′). */
export function interpolationCodes(z: readonly ArrayLike<number>[], grid: number): Float64Array {
  if (z.length !== 4) throw new ShapeError(`interpolate: expected four latent codes, got ${z.length}`);
  if (!(Number.isInteger(grid) && grid >= 2)) throw new ConfigError(`interpolate: grid must be an integer ≥ 2, got ${grid}`);
  const D = z[0]!.length;
  if (z.some((c) => c.length !== D)) throw new ShapeError(`interpolate: the four codes must have one length, got ${z.map((c) => c.length).join(", ")}`);
  const out = new Float64Array(grid * grid * D);
  for (let i = 0; i < grid; i++) {
    const phi = (i / (grid - 1)) * (Math.PI / 2);
    for (let j = 0; j < grid; j++) {
      const phi2 = (j / (grid - 1)) * (Math.PI / 2);
      // exact corners: cos(π/2) is 6e-17 in floating point, not 0
      const [c1, s1] = cornerCosSin(i, grid, phi);
      const [c2, s2] = cornerCosSin(j, grid, phi2);
      const w = [c1 * c2, c1 * s2, s1 * c2, s1 * s2];
      const base = (i * grid + j) * D;
      for (let d = 0; d < D; d++) out[base + d] = w[0]! * z[0]![d]! + w[1]! * z[1]![d]! + w[2]! * z[2]![d]! + w[3]! * z[3]![d]!;
    }
  }
  return out;
}

function cornerCosSin(k: number, grid: number, angle: number): [number, number] {
  if (k === 0) return [1, 0];
  if (k === grid - 1) return [0, 1];
  return [Math.cos(angle), Math.sin(angle)];
}

export interface InterpolationResult {
  /** g²×D decoded images, row-major (row = φ, column = φ′). */
  images: Float64Array;
  /** The four latent codes (each D values). */
  codes: Float64Array[];
  grid: number;
}

/** Where the four corners come from: four images (encoded x → z), four codes, or four draws from the model (seeded). */
export type InterpolationCorners = { images: ArrayLike<number> } | { codes: readonly ArrayLike<number>[] } | { seed: number; temperature?: number };

/** The interpolation grid between four corners, decoded z → x (a g×g grid of images). */
export function interpolate(model: FlowModel, from: InterpolationCorners, grid = 9): InterpolationResult {
  if (model.contextDim > 0) throw new ContextError("interpolate: this model is conditional; interpolation needs an unconditional model");
  const D = model.dim;
  let codes: Float64Array[];
  if ("seed" in from) {
    // codes of four samples: encode(sample) is a draw from the base (to float rounding)
    const x = model.sample(4, { seed: from.seed, ...(from.temperature !== undefined ? { temperature: from.temperature } : {}) });
    codes = model.encode(x).map((row) => Float64Array.from(row));
  } else if ("images" in from) {
    if (from.images.length !== 4 * D) throw new ShapeError(`interpolate: expected four images of ${D} values (${4 * D}), got ${from.images.length}`);
    codes = model.encode(Float64Array.from(from.images)).map((row) => Float64Array.from(row));
  } else {
    if (from.codes.length !== 4 || from.codes.some((c) => c.length !== D))
      throw new ShapeError(`interpolate: expected four codes of ${D} values, got ${from.codes.length} of lengths ${from.codes.map((c) => c.length).join(", ")}`);
    codes = from.codes.map((c) => Float64Array.from(c));
  }
  const z = interpolationCodes(codes, grid);
  const rows = model.decode(z);
  const images = new Float64Array(grid * grid * D);
  rows.forEach((r, i) => images.set(r, i * D));
  return { images, codes, grid };
}
