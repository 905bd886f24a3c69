/**
 * A legend box: a swatch (dot or line) and a label per entry, drawn over a corner of the axes.
 */
import { FONT_SIZE, INK, font, text, type Ctx2D } from "./canvas.js";
import type { Axes } from "./axes.js";

export interface LegendEntry {
  label: string;
  color: string;
  /** Dot (scatter) or line (curves); default dot. */
  kind?: "dot" | "line" | "dash";
}

/** Draws the legend in a corner of the plotting area (default top right). */
export function drawLegend(ax: Axes, entries: readonly LegendEntry[], corner: "top-right" | "top-left" | "bottom-right" | "bottom-left" = "top-right"): void {
  if (entries.length === 0) return;
  const { ctx, plot } = ax;
  ctx.font = font(FONT_SIZE.note);
  const lineH = 20;
  const w = 36 + Math.max(...entries.map((e) => ctx.measureText(e.label).width)) + 10;
  const h = entries.length * lineH + 8;
  const x = corner.endsWith("right") ? plot.x + plot.w - w - 8 : plot.x + 8;
  const y = corner.startsWith("top") ? plot.y + 8 : plot.y + plot.h - h - 8;
  ctx.save();
  ctx.globalAlpha = 0.85;
  ctx.fillStyle = INK.background;
  ctx.fillRect(x, y, w, h);
  ctx.globalAlpha = 1;
  ctx.strokeStyle = "#bbbbbb";
  ctx.lineWidth = 1;
  ctx.strokeRect(Math.round(x) + 0.5, Math.round(y) + 0.5, Math.round(w), Math.round(h));
  entries.forEach((e, i) => {
    const cy = y + 4 + lineH * (i + 0.5);
    swatch(ctx, e, x + 8, cy);
    text(ctx, e.label, x + 32, cy, { size: FONT_SIZE.note, baseline: "middle", color: INK.text });
  });
  ctx.restore();
}

function swatch(ctx: Ctx2D, e: LegendEntry, x: number, y: number): void {
  ctx.save();
  ctx.fillStyle = e.color;
  ctx.strokeStyle = e.color;
  if ((e.kind ?? "dot") === "dot") {
    ctx.beginPath();
    ctx.arc(x + 8, y, 4.5, 0, 2 * Math.PI);
    ctx.fill();
  } else {
    ctx.lineWidth = 2.5;
    ctx.setLineDash(e.kind === "dash" ? [5, 4] : []);
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x + 18, y);
    ctx.stroke();
  }
  ctx.restore();
}
