/**
 * The playground's logic without the DOM (unit-tested in Node, test/web/logic.test.ts): the
 * settings form → fit's config and options, the data sources (toys, points drawn with the mouse,
 * a dropped CSV), the loss history the curves are drawn from, the Train / Pause / Step / Reset
 * state machine, and the words of the change-of-variables lesson.
 */
import { hostRng, normalSource, sampleToy, TOY_NAMES, type FitConfig, type FitOptions } from "normalizing-flows";

/** The flows the page offers. */
export const FLOWS = ["realnvp", "nice", "maf", "iaf"] as const;
export type FlowName = (typeof FLOWS)[number];

/** What the settings form holds (strings as typed, checked by `modelSettings`). */
export interface SettingsForm {
  flow: string;
  layers: string;
  hidden: string;
  lr: string;
  batch: string;
  /** Global gradient-norm clipping; empty for none. */
  clip: string;
}

/** Checked settings: the config of `fit` and the training options the page controls. */
export interface ModelSettings {
  config: FitConfig;
  lr: number;
  batchSize: number;
  clipNorm: number | undefined;
}

/** A setting the user typed that cannot be used: the message names the field and what it expects. */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SettingsError";
  }
}

/** "32, 32" → [32, 32]: hidden layer widths, each a whole number from 1 to 1024. */
export function parseHidden(text: string): number[] {
  const parts = text.split(/[\s,×x]+/).filter((p) => p.length > 0);
  if (parts.length === 0) throw new SettingsError("hidden sizes: expected one or more widths, e.g. 32, 32");
  return parts.map((p) => {
    const v = Number(p);
    if (!Number.isInteger(v) || v < 1 || v > 1024) throw new SettingsError(`hidden sizes: expected whole numbers from 1 to 1024, got "${p}"`);
    return v;
  });
}

function wholeNumber(text: string, what: string, lo: number, hi: number): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < lo || v > hi) throw new SettingsError(`${what}: expected a whole number from ${lo} to ${hi}, got "${text}"`);
  return v;
}

/** The form → config and options of `fit` (SettingsError naming the field on bad input). */
export function modelSettings(form: SettingsForm): ModelSettings {
  if (!(FLOWS as readonly string[]).includes(form.flow)) throw new SettingsError(`flow: expected one of ${FLOWS.join(", ")}, got "${form.flow}"`);
  const layers = wholeNumber(form.layers, "layers", 1, 32);
  const hidden = parseHidden(form.hidden);
  const lr = Number(form.lr);
  if (!(lr > 0 && lr <= 1)) throw new SettingsError(`learning rate: expected a number in (0, 1], got "${form.lr}"`);
  const batchSize = wholeNumber(form.batch, "batch", 2, 4096);
  const clip = form.clip.trim() === "" ? undefined : Number(form.clip);
  if (clip !== undefined && !(clip > 0)) throw new SettingsError(`clip norm: expected a number > 0, or nothing for no clipping, got "${form.clip}"`);
  return { config: { flow: form.flow as FlowName, layers, hidden }, lr, batchSize, clipNorm: clip };
}

/** The options of `fit` for a run of the playground (everything else stays at fit's defaults). */
export function fitOptions(settings: ModelSettings, steps: number, evalEvery: number): FitOptions {
  return {
    steps,
    lr: settings.lr,
    batchSize: settings.batchSize,
    ...(settings.clipNorm !== undefined ? { clipNorm: settings.clipNorm } : {}),
    evalEvery,
    seed: 0,
    restoreBest: false,
    source: "playground",
  };
}

// ---- data -----------------------------------------------------------------------------------

/** Data of the page: n rows of 2 values, row-major, and where they came from. */
export interface PointSet {
  x: Float64Array;
  n: number;
  source: string;
}

/** The toys of the library, by name. */
export const TOYS: readonly string[] = TOY_NAMES;

/** n points of a toy (seeded: the same picture every time). */
export function toyPoints(name: string, n: number, seed = 0): PointSet {
  return { x: sampleToy(name, n, seed), n, source: name };
}

/**
 * Points of a CSV (comma, semicolon, tab or spaces between values; a header line and # comments
 * are allowed): the first two columns of every row whose first two values are finite numbers.
 * (The library's CSV reader lives with its Node file loaders; a page needs only this much.)
 * Throws with the reason when the file has fewer than two columns or fewer than 10 usable rows.
 */
export function csvPoints(text: string, file = "dropped file"): PointSet {
  const values: number[] = [];
  let columns = 0;
  let skipped = 0;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const cells = line.split(/\s*[,;\t]\s*|\s+/);
    columns = Math.max(columns, cells.length);
    const [a, b] = [Number(cells[0]), Number(cells[1])];
    if (cells.length >= 2 && cells[0] !== "" && cells[1] !== "" && Number.isFinite(a) && Number.isFinite(b)) values.push(a, b);
    else skipped++;
  }
  if (columns < 2) throw new SettingsError(`${file}: the playground draws 2-D data, this CSV has ${columns} column${columns === 1 ? "" : "s"}`);
  const n = values.length / 2;
  if (n < 10) throw new SettingsError(`${file}: expected at least 10 rows of two numbers, got ${n}`);
  const used = columns > 2 ? ` (columns 1–2 of ${columns})` : "";
  const note = skipped > 0 ? `, ${skipped} line${skipped > 1 ? "s" : ""} skipped` : "";
  return { x: Float64Array.from(values), n, source: `${file}${used}${note}` };
}

/**
 * A brush for drawing data: each stroke point (x, y) in data units adds `perPoint` points around
 * it, Gaussian with standard deviation `spread` (a drawn curve becomes a density, not a line).
 */
export class Brush {
  private readonly normal: () => number;
  private values: number[] = [];

  constructor(seed = 1, readonly perPoint = 4, readonly spread = 0.08) {
    this.normal = normalSource(hostRng(seed));
  }

  add(x: number, y: number): void {
    for (let k = 0; k < this.perPoint; k++) this.values.push(x + this.spread * this.normal(), y + this.spread * this.normal());
  }

  clear(): void {
    this.values = [];
  }

  get n(): number {
    return this.values.length / 2;
  }

  points(): PointSet {
    return { x: Float64Array.from(this.values), n: this.n, source: "drawn with the mouse" };
  }
}

// ---- loss history ---------------------------------------------------------------------------

/** One evaluation of a run (what fit's progress events report, in the data's units). */
export interface LossPoint {
  step: number;
  trainLoss: number;
  valLoss?: number;
}

/** The training and validation curves of a run. */
export class LossHistory {
  readonly steps: number[] = [];
  readonly train: number[] = [];
  readonly valSteps: number[] = [];
  readonly val: number[] = [];

  add(p: LossPoint): void {
    if (Number.isFinite(p.trainLoss)) {
      this.steps.push(p.step);
      this.train.push(p.trainLoss);
    }
    if (p.valLoss !== undefined && Number.isFinite(p.valLoss)) {
      this.valSteps.push(p.step);
      this.val.push(p.valLoss);
    }
  }

  get empty(): boolean {
    return this.train.length === 0;
  }

  /** Mean training loss of the first and the last `k` evaluations (did it fall?). */
  firstAndLast(k = 3): [number, number] {
    const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
    return [mean(this.train.slice(0, k)), mean(this.train.slice(-k))];
  }
}

// ---- Train / Pause / Step / Reset -----------------------------------------------------------

/** Where a run is. */
export type RunState = "idle" | "training" | "paused" | "done";

/** What the buttons do in each state: the page enables exactly these (a finished run only resets). */
export function enabledButtons(state: RunState): { train: boolean; pause: boolean; step: boolean; reset: boolean } {
  return {
    train: state === "idle" || state === "paused",
    pause: state === "training",
    step: state === "idle" || state === "paused",
    reset: state !== "idle",
  };
}

/**
 * The gate between training and the page: training awaits `checkpoint()` at every evaluation;
 * it settles at once while running, and only on `resume()`/`step()` while paused. `step()` lets
 * one more evaluation interval run, then pauses again.
 */
export class PauseGate {
  private paused = false;
  private stepsLeft = 0;
  private wake: (() => void) | undefined;

  get isPaused(): boolean {
    return this.paused;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.stepsLeft = 0;
    this.release();
  }

  /** One evaluation interval more, then paused. */
  step(): void {
    this.paused = true;
    this.stepsLeft = 1;
    this.release();
  }

  /** Awaited by the training loop at each evaluation. */
  async checkpoint(): Promise<void> {
    if (this.stepsLeft > 0) {
      this.stepsLeft--;
      if (this.stepsLeft === 0) return this.wait();
      return;
    }
    if (this.paused) return this.wait();
  }

  private wait(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  private release(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

// ---- the change-of-variables lesson ---------------------------------------------------------

/** What the lesson says about a determinant: its meaning for areas, orientation and density. */
export function determinantNote(det: number): { kind: "positive" | "negative" | "zero"; text: string } {
  const a = Math.abs(det);
  if (a < 1e-9)
    return {
      kind: "zero",
      text:
        "det A = 0: A squashes the square onto a line (or a point). The image has no area, so no density p(x) exists on it — " +
        "the mass 1 would sit on a set of area 0 and 1/|det A| is infinite. A is not invertible: a flow's layers must never do this, " +
        "which is why couplings keep their scales exp(s) > 0.",
    };
  if (det < 0)
    return {
      kind: "negative",
      text:
        `det A = ${fmt(det)} < 0: A flips orientation (a mirror image), and areas still scale by |det A| = ${fmt(a)}. ` +
        "Only the absolute value enters the change of variables, p(x) = p(z)/|det A|, so S and S′ still hold the same probability.",
    };
  return {
    kind: "positive",
    text: `det A = ${fmt(det)}: areas scale by |det A| = ${fmt(a)}, so the density divides by it: p(x) = p(z)/|det A|, and S′ = A·S keeps the probability of S.`,
  };
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v).replace("-", "−") : v.toFixed(3).replace(/0+$/, "").replace("-", "−");
}

/** A dragged matrix entry: the value moved by dx pixels (0.02 per pixel), snapped to 0.05 and kept in [−4, 4]. */
export function dragValue(start: number, dx: number): number {
  const v = Math.round((start + dx * 0.02) / 0.05) * 0.05;
  return Math.max(-4, Math.min(4, Math.round(v * 100) / 100));
}

/** Steps per second, formatted for the device line. */
export function formatRate(stepsPerSec: number): string {
  if (!(stepsPerSec > 0)) return "–";
  return stepsPerSec >= 100 ? stepsPerSec.toFixed(0) : stepsPerSec.toFixed(1);
}
