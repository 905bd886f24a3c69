/**
 * The change-of-variables lesson: z uniform on [0, 2]², x = A z. The user drags the four entries
 * of A; the figure (plot.changeOfVariablesFigure, the demo's picture) shows the parallelogram with
 * density (1/4)/|det A|, and S, S′ = A·S both with probability 1/8. A zero determinant has no
 * picture of a density (the square collapses onto a line): the page draws the collapse and says why.
 */
import { plot } from "normalizing-flows";
import { determinantNote, dragValue } from "./logic.js";
import { show } from "./views.js";

type Entries = [number, number, number, number];

export function mountLesson(root: HTMLElement): void {
  const entries: Entries = [2, -1, 2, 1];
  const figure = root.querySelector<HTMLElement>("#cov-figure")!;
  const note = root.querySelector<HTMLElement>("#cov-note")!;
  const cells = [...root.querySelectorAll<HTMLInputElement>("input.matrix-entry")];

  const redraw = (): void => {
    cells.forEach((c, i) => {
      if (document.activeElement !== c) c.value = String(entries[i]);
    });
    const A: plot.Matrix2 = [[entries[0], entries[1]], [entries[2], entries[3]]];
    const det = entries[0] * entries[3] - entries[1] * entries[2];
    const what = determinantNote(det);
    note.textContent = what.text;
    note.dataset.kind = what.kind;
    if (what.kind === "zero") show(figure, collapsed(A));
    else show(figure, plot.changeOfVariablesFigure(plot.browserCanvasFactory, { matrix: A, width: 1100 }));
  };

  cells.forEach((cell, i) => {
    cell.addEventListener("change", () => {
      const v = Number(cell.value);
      if (Number.isFinite(v)) entries[i] = Math.max(-4, Math.min(4, v));
      redraw();
    });
    // drag sideways on an entry to change it (0.02 per pixel, in steps of 0.05)
    let start: { x: number; v: number } | undefined;
    cell.addEventListener("pointerdown", (e) => {
      start = { x: e.clientX, v: entries[i]! };
      cell.setPointerCapture(e.pointerId);
    });
    cell.addEventListener("pointermove", (e) => {
      if (!start) return;
      const v = dragValue(start.v, e.clientX - start.x);
      if (v !== entries[i]) {
        entries[i] = v;
        redraw();
      }
    });
    const end = (): void => {
      start = undefined;
    };
    cell.addEventListener("pointerup", end);
    cell.addEventListener("pointercancel", end);
  });
  root.querySelector<HTMLButtonElement>("#cov-reset")!.addEventListener("click", () => {
    entries.splice(0, 4, 2, -1, 2, 1);
    redraw();
  });
  redraw();
}

/** det A = 0: the square [0, 2]² and its image, a segment or a point (no area, so no density). */
function collapsed(A: plot.Matrix2): unknown {
  const { canvas, ctx } = plot.newFigure(plot.browserCanvasFactory, 1100, 420);
  plot.figureTitle(ctx, "det A = 0: the image of the square has no area — no density exists on it", 1100);
  const square = plot.mapRect([[1, 0], [0, 1]], [[0, 2], [0, 2]]);
  const image = plot.mapRect(A, [[0, 2], [0, 2]]);
  const all = [...square, ...image];
  const lim = Math.max(2.5, ...all.map((v) => Math.abs(v) + 0.5));
  const panels: [string, number[]][] = [["z ~ uniform on [0, 2]²", square], ["x = A z: squashed onto a line", image]];
  panels.forEach(([title, poly], k) => {
    const ax = new plot.Axes(ctx, { x: k * 550, y: 44, w: 550, h: 370 }, { xlim: [-lim, lim], ylim: [-lim, lim], equal: true, title, ticks: 5 });
    ax.drawGrid();
    const xs = [...poly.filter((_, i) => i % 2 === 0), poly[0]!];
    const ys = [...poly.filter((_, i) => i % 2 === 1), poly[1]!];
    ax.polyline(xs, ys, { color: k === 0 ? "#2a6f97" : "#d1495b", width: 3 });
    ax.drawFrame();
  });
  return canvas;
}
