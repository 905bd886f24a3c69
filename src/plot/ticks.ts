/**
 * Axis ticks at "nice" numbers (1, 2, 2.5, 5 × 10^k; Heckbert, Graphics Gems 1990) and their labels.
 */

/** The nice number closest to x (round) or the smallest nice number ≥ x (ceil). */
export function niceNumber(x: number, mode: "round" | "ceil"): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const exp = Math.floor(Math.log10(x));
  const f = x / 10 ** exp;
  let nf: number;
  if (mode === "round") nf = f < 1.5 ? 1 : f < 2.25 ? 2 : f < 3.5 ? 2.5 : f < 7.5 ? 5 : 10;
  else nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return nf * 10 ** exp;
}

/** Tick positions: a nice step, about `target` ticks, all inside [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 5): { ticks: number[]; step: number } {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new RangeError(`ticks: expected finite limits, got [${lo}, ${hi}]`);
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) return { ticks: [lo], step: 1 };
  const step = niceNumber((hi - lo) / Math.max(1, target), "round");
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) ticks.push(cleanZero(k * step));
  return { ticks, step };
}

/** A tick label with as many decimals as the step needs (scientific for very large/small). */
export function formatTick(v: number, step: number): string {
  if (v === 0) return "0";
  const mag = Math.max(Math.abs(v), step);
  if (mag >= 1e5 || mag < 1e-3) return v.toExponential(Math.max(0, decimalsOf(step / 10 ** Math.floor(Math.log10(mag))))).replace("e+", "e");
  return v.toFixed(decimalsOf(step)).replace("-", "−");
}

/** A number for a label: 3 significant digits, minus sign typeset. */
export function formatNumber(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  const s = a >= 1e5 || a < 1e-3 ? v.toExponential(digits - 1).replace("e+", "e") : String(Number(v.toPrecision(digits)));
  return s.replace("-", "−");
}

/**
 * The fraction p/q (q ≤ maxDen) equal to v within 1e-9 relative, written "p/q" (or "p" when q = 1);
 * else a decimal. Used to print the lecture's exact probabilities (1/8, 1/16 ...).
 */
export function formatFraction(v: number, maxDen = 64): string {
  for (let q = 1; q <= maxDen; q++) {
    const p = Math.round(v * q);
    if (Math.abs(p / q - v) <= 1e-9 * Math.max(1, Math.abs(v))) return (q === 1 ? `${p}` : `${p}/${q}`).replace("-", "−");
  }
  return formatNumber(v, 4);
}

function decimalsOf(step: number): number {
  // 2.5 × 10^k needs one more decimal than 10^k.
  for (let d = 0; d < 12; d++) if (Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) < 1e-6) return d;
  return 12;
}

function cleanZero(v: number): number {
  return Math.abs(v) < 1e-12 ? 0 : Number(v.toPrecision(12));
}
