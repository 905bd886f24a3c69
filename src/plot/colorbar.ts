/**
 * A vertical colour bar: the colour map from `lo` (bottom) to `hi` (top), ticks at nice numbers,
 * and a label above it.
 */
import { FONT_SIZE, INK, text, type Ctx2D, type Rect } from "./canvas.js";
import type { Colormap } from "./colormap.js";
import { formatTick, niceTicks } from "./ticks.js";

/** Draws a colour bar in `rect` (the bar itself; tick labels go to its right). */
export function drawColorbar(ctx: Ctx2D, rect: Rect, cmap: Colormap, lo: number, hi: number, label?: string): void {
  const h = Math.max(1, Math.round(rect.h));
  const y0 = Math.round(rect.y);
  for (let i = 0; i < h; i++) {
    ctx.fillStyle = cmap.css(1 - (i + 0.5) / h);
    ctx.fillRect(Math.round(rect.x), y0 + i, Math.round(rect.w), 1);
  }
  ctx.save();
  ctx.strokeStyle = INK.frame;
  ctx.lineWidth = 1;
  ctx.strokeRect(Math.round(rect.x) + 0.5, y0 + 0.5, Math.round(rect.w), h);
  const span = hi - lo || 1;
  const { ticks, step } = niceTicks(lo, hi, 5);
  ctx.beginPath();
  const ys = ticks.map((t) => y0 + h - ((t - lo) / span) * h);
  for (const y of ys) {
    ctx.moveTo(rect.x + rect.w, Math.round(y) + 0.5);
    ctx.lineTo(rect.x + rect.w + 4, Math.round(y) + 0.5);
  }
  ctx.stroke();
  ctx.restore();
  ticks.forEach((t, i) =>
    text(ctx, formatTick(t, step), rect.x + rect.w + 7, ys[i]!, { size: FONT_SIZE.tick, baseline: "middle", color: INK.muted }),
  );
  // Left-aligned over the bar: a centred label would reach into the panel beside it.
  if (label) text(ctx, label, rect.x - 2, rect.y - 10, { size: FONT_SIZE.label });
}
