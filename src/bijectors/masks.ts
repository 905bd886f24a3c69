/**
 * Coupling masks. mask[d] = true means dimension d passes UNCHANGED and feeds the conditioner
 * (RealNVP's b: x = b⊙z + (1−b)⊙τ(z; θ(b⊙z))); false means d is transformed. Consecutive
 * couplings flip the mask so that every dimension gets transformed.
 */
import { ConfigError } from "../engine/errors.js";

/** Vector coupling mask kinds: "half" = first ⌈D/2⌉ dims pass; "alternating" = even dims pass. */
export type CouplingMaskKind = "half" | "alternating";

/** A coupling mask over `dim` dimensions; `flip` negates it. */
export function couplingMask(dim: number, kind: CouplingMaskKind, flip = false): boolean[] {
  if (!Number.isInteger(dim) || dim < 2)
    throw new ConfigError(`coupling mask: a coupling needs dim ≥ 2 (one part passes, one is transformed), got ${dim}`);
  let mask: boolean[];
  if (kind === "half") {
    const cut = Math.ceil(dim / 2);
    mask = Array.from({ length: dim }, (_, d) => d < cut);
  } else if (kind === "alternating") {
    mask = Array.from({ length: dim }, (_, d) => d % 2 === 0);
  } else {
    throw new ConfigError(`coupling mask: expected "half" or "alternating", got ${JSON.stringify(kind)}`);
  }
  return validateMask(flip ? mask.map((m) => !m) : mask);
}

/**
 * Checkerboard mask over an image [C, H, W], flattened C-major (index c·H·W + h·W + w):
 * true where (h + w) is even, the same for every channel (RealNVP's spatial checkerboard).
 */
export function checkerboardMask(channels: number, height: number, width: number, flip = false): boolean[] {
  checkImageShape(channels, height, width);
  const mask: boolean[] = [];
  for (let c = 0; c < channels; c++)
    for (let h = 0; h < height; h++) for (let w = 0; w < width; w++) mask.push(((h + w) % 2 === 0) !== flip);
  return validateMask(mask, "checkerboard mask");
}

/**
 * Channel mask over an image [C, H, W], flattened C-major: the first ⌈C/2⌉ channels pass
 * (RealNVP's channel-wise coupling after a squeeze).
 */
export function channelMask(channels: number, height: number, width: number, flip = false): boolean[] {
  checkImageShape(channels, height, width);
  const cut = Math.ceil(channels / 2);
  const mask: boolean[] = [];
  for (let c = 0; c < channels; c++) for (let i = 0; i < height * width; i++) mask.push((c < cut) !== flip);
  return validateMask(mask, "channel mask");
}

/** Checks that a mask has at least one passing (true) and one transformed (false) entry. */
export function validateMask(mask: readonly boolean[], what = "coupling mask"): boolean[] {
  const passing = mask.filter((m) => m).length;
  if (passing === 0 || passing === mask.length)
    throw new ConfigError(
      `${what}: expected at least one passing (true) and one transformed (false) dimension, got ${passing} of ${mask.length} passing`,
    );
  return mask.slice();
}

/** Indices of the passing (true) and transformed (false) dimensions of a mask. */
export function maskIndices(mask: readonly boolean[]): { identity: number[]; transformed: number[] } {
  const identity: number[] = [];
  const transformed: number[] = [];
  mask.forEach((m, d) => (m ? identity : transformed).push(d));
  return { identity, transformed };
}

function checkImageShape(channels: number, height: number, width: number): void {
  for (const [name, v] of [["channels", channels], ["height", height], ["width", width]] as const)
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(`image mask: ${name} must be a positive integer, got ${v}`);
}
