/**
 * Axes: a rectangle of a figure with data limits, the data → pixel mapping, a light grid, a frame
 * with ticks at nice numbers, tick labels, axis labels and a title. Draw order: `drawGrid()`,
 * the data (inside `clipped`), then `drawFrame()` so the frame sits on top.
 */
import { FONT_SIZE, INK, font, text, type Ctx2D, type Rect } from "./canvas.js";
import { formatTick, niceTicks } from "./ticks.js";

/** Margins around the plotting area, in px. */
export interface Margins {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export interface AxesOptions {
  xlim: readonly [number, number];
  ylim: readonly [number, number];
  title?: string;
  xlabel?: string;
  ylabel?: string;
  /** Same data units per pixel on both axes (the limits are widened to fill the box). */
  equal?: boolean;
  /** Light grid lines at the ticks (default true). */
  grid?: boolean;
  /** Tick labels on both axes, or per axis (default true). */
  tickLabels?: boolean | { x: boolean; y: boolean };
  /** About how many ticks per axis (default 5). */
  ticks?: number;
  margins?: Partial<Margins>;
}

export class Axes {
  /** The plotting area in canvas pixels. */
  readonly plot: Rect;
  readonly xlim: readonly [number, number];
  readonly ylim: readonly [number, number];

  constructor(readonly ctx: Ctx2D, outer: Rect, readonly opts: AxesOptions) {
    const labels = tickLabelFlags(opts);
    const m: Margins = {
      left: (labels.y ? 46 : 8) + (opts.ylabel ? 22 : 0),
      right: 12,
      top: opts.title ? 30 : 10,
      bottom: (labels.x ? 26 : 8) + (opts.xlabel ? 24 : 0),
      ...opts.margins,
    };
    this.plot = { x: outer.x + m.left, y: outer.y + m.top, w: Math.max(10, outer.w - m.left - m.right), h: Math.max(10, outer.h - m.top - m.bottom) };
    let [x0, x1] = checkLimits(opts.xlim, "xlim");
    let [y0, y1] = checkLimits(opts.ylim, "ylim");
    if (opts.equal) {
      // Units per pixel s = max(sx, sy); widen the other axis about its centre.
      const s = Math.max((x1 - x0) / this.plot.w, (y1 - y0) / this.plot.h);
      const [cx, cy] = [(x0 + x1) / 2, (y0 + y1) / 2];
      [x0, x1] = [cx - (s * this.plot.w) / 2, cx + (s * this.plot.w) / 2];
      [y0, y1] = [cy - (s * this.plot.h) / 2, cy + (s * this.plot.h) / 2];
    }
    this.xlim = [x0, x1];
    this.ylim = [y0, y1];
  }

  /** Pixel x of data x. */
  px(x: number): number {
    return this.plot.x + ((x - this.xlim[0]) / (this.xlim[1] - this.xlim[0])) * this.plot.w;
  }

  /** Pixel y of data y (y grows upwards). */
  py(y: number): number {
    return this.plot.y + this.plot.h - ((y - this.ylim[0]) / (this.ylim[1] - this.ylim[0])) * this.plot.h;
  }

  /** Data coordinates of a pixel. */
  toData(px: number, py: number): [number, number] {
    return [
      this.xlim[0] + ((px - this.plot.x) / this.plot.w) * (this.xlim[1] - this.xlim[0]),
      this.ylim[0] + ((this.plot.y + this.plot.h - py) / this.plot.h) * (this.ylim[1] - this.ylim[0]),
    ];
  }

  /** Runs `draw` clipped to the plotting area. */
  clipped(draw: () => void): void {
    const { ctx, plot } = this;
    ctx.save();
    ctx.beginPath();
    ctx.rect(plot.x, plot.y, plot.w, plot.h);
    ctx.clip();
    draw();
    ctx.restore();
  }

  xTicks(): { ticks: number[]; step: number } {
    return niceTicks(this.xlim[0], this.xlim[1], this.opts.ticks ?? 5);
  }

  yTicks(): { ticks: number[]; step: number } {
    return niceTicks(this.ylim[0], this.ylim[1], this.opts.ticks ?? 5);
  }

  /** Light grid lines at the ticks. */
  drawGrid(): void {
    if (this.opts.grid === false) return;
    const { ctx, plot } = this;
    ctx.save();
    ctx.strokeStyle = INK.grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const t of this.xTicks().ticks) {
      const x = Math.round(this.px(t)) + 0.5;
      ctx.moveTo(x, plot.y);
      ctx.lineTo(x, plot.y + plot.h);
    }
    for (const t of this.yTicks().ticks) {
      const y = Math.round(this.py(t)) + 0.5;
      ctx.moveTo(plot.x, y);
      ctx.lineTo(plot.x + plot.w, y);
    }
    ctx.stroke();
    ctx.restore();
  }

  /** Frame, tick marks, tick labels, axis labels and title. */
  drawFrame(): void {
    const { ctx, plot, opts } = this;
    ctx.save();
    ctx.strokeStyle = INK.frame;
    ctx.lineWidth = 1;
    ctx.strokeRect(Math.round(plot.x) + 0.5, Math.round(plot.y) + 0.5, Math.round(plot.w), Math.round(plot.h));
    const showLabels = tickLabelFlags(opts);
    const xt = this.xTicks();
    const yt = this.yTicks();
    ctx.beginPath();
    for (const t of xt.ticks) {
      const x = Math.round(this.px(t)) + 0.5;
      ctx.moveTo(x, plot.y + plot.h);
      ctx.lineTo(x, plot.y + plot.h + 5);
    }
    for (const t of yt.ticks) {
      const y = Math.round(this.py(t)) + 0.5;
      ctx.moveTo(plot.x, y);
      ctx.lineTo(plot.x - 5, y);
    }
    ctx.stroke();
    ctx.restore();
    if (showLabels.x)
      for (const t of xt.ticks)
        text(ctx, formatTick(t, xt.step), this.px(t), plot.y + plot.h + 8, { size: FONT_SIZE.tick, align: "center", baseline: "top", color: INK.muted });
    if (showLabels.y)
      for (const t of yt.ticks)
        text(ctx, formatTick(t, yt.step), plot.x - 8, this.py(t), { size: FONT_SIZE.tick, align: "right", baseline: "middle", color: INK.muted });
    if (opts.xlabel)
      text(ctx, opts.xlabel, plot.x + plot.w / 2, plot.y + plot.h + (showLabels.x ? 28 : 8), { size: FONT_SIZE.label, align: "center", baseline: "top" });
    if (opts.ylabel) {
      ctx.font = font(FONT_SIZE.tick);
      const widest = showLabels.y ? Math.max(0, ...yt.ticks.map((t) => ctx.measureText(formatTick(t, yt.step)).width)) : 0;
      const x = plot.x - (showLabels.y ? widest + 14 : 6);
      text(ctx, opts.ylabel, x, plot.y + plot.h / 2, { size: FONT_SIZE.label, align: "center", baseline: "bottom", rotate: -Math.PI / 2 });
    }
    if (opts.title) text(ctx, opts.title, plot.x + plot.w / 2, plot.y - 9, { size: FONT_SIZE.panelTitle, weight: "bold", align: "center" });
  }

  /** A polyline through data points (NaN breaks the line). */
  polyline(xs: ArrayLike<number>, ys: ArrayLike<number>, style: { color: string; width?: number; dash?: number[]; alpha?: number }): void {
    const { ctx } = this;
    ctx.save();
    ctx.strokeStyle = style.color;
    ctx.lineWidth = style.width ?? 1.5;
    ctx.lineJoin = "round";
    ctx.globalAlpha = style.alpha ?? 1;
    ctx.setLineDash(style.dash ?? []);
    ctx.beginPath();
    let pen = false;
    for (let i = 0; i < xs.length; i++) {
      const [x, y] = [xs[i]!, ys[i]!];
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        pen = false;
        continue;
      }
      if (pen) ctx.lineTo(this.px(x), this.py(y));
      else ctx.moveTo(this.px(x), this.py(y));
      pen = true;
    }
    ctx.stroke();
    ctx.restore();
  }
}

/**
 * The outer height of an equal-aspect panel `outerWidth` px wide showing limits with the given
 * aspect (y span / x span), for the default margins with a title and both axis labels; clamped so
 * very flat or tall data still get a readable panel.
 */
export function panelHeightFor(outerWidth: number, aspect: number, min = 260, max = 640): number {
  const plotW = outerWidth - (46 + 22) - 12;
  const plotH = Math.min(max, Math.max(min, plotW * (Number.isFinite(aspect) && aspect > 0 ? aspect : 1)));
  return Math.round(plotH + 30 + 26 + 24);
}

function tickLabelFlags(opts: AxesOptions): { x: boolean; y: boolean } {
  const t = opts.tickLabels ?? true;
  return typeof t === "boolean" ? { x: t, y: t } : t;
}

function checkLimits(lim: readonly [number, number], what: string): [number, number] {
  const [a, b] = lim;
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new RangeError(`${what}: expected finite limits, got [${a}, ${b}]`);
  if (a === b) return [a - 0.5, b + 0.5];
  return a < b ? [a, b] : [b, a];
}
