/**
 * The lecture's change-of-variables figures, computed rather than copied. Base: z uniform on the
 * square [0, a]² (density 1/a²); f(z) = A z linear. Then
 *     p_x(x) = p_z(z) · |det J_f(z)|⁻¹ = (1/a²) / |det A|,
 * areas scale by |det A|, and a region S and its image S′ = f(S) have the same probability.
 * Panels: (a) the base square with S; (b) the image parallelogram with the right density and S′;
 * (c) the wrong picture that keeps p = 1/a² without the Jacobian: p(S′) ≠ p(S), total mass |det A|.
 * With the lecture's A = [[2, −1], [2, 1]], a = 2 and S = [0, 1] × [0, ½]: 1/4, 1/16, p(S) = p(S′) = 1/8,
 * wrong p(S′) = 1/2 and total 4.
 */
import { Axes } from "./axes.js";
import { FONT_SIZE, INK, figureTitle, newFigure, text, type CanvasFactory, type CanvasLike, type Ctx2D } from "./canvas.js";
import { drawColorbar } from "./colorbar.js";
import { colormap } from "./colormap.js";
import { formatFraction } from "./ticks.js";

/** A 2 × 2 matrix, rows. */
export type Matrix2 = readonly [readonly [number, number], readonly [number, number]];

export interface ChangeOfVariablesSetup {
  /** f(z) = A z (default the lecture's [[2, −1], [2, 1]]). */
  matrix?: Matrix2;
  /** Side a of the base square [0, a]² (default 2). */
  side?: number;
  /** The region S = [x0, x1] × [y0, y1] inside the square (default [0, 1] × [0, 0.5]). */
  region?: readonly [readonly [number, number], readonly [number, number]];
}

/** Every number the figure prints. */
export interface ChangeOfVariablesNumbers {
  matrix: Matrix2;
  side: number;
  region: readonly [readonly [number, number], readonly [number, number]];
  /** det A and |det A| = |det J_f|. */
  det: number;
  absDet: number;
  /** Ω = [0, a]²: area a², density 1/a², p(Ω) = 1. */
  baseArea: number;
  baseDensity: number;
  baseMass: number;
  /** S: area and p(S) = area · p_z. */
  regionArea: number;
  regionProb: number;
  /** Ω′ = f(Ω): area |det A|·a², density p_z/|det A|, mass 1. */
  imageArea: number;
  imageDensity: number;
  imageMass: number;
  /** S′ = f(S): area |det A|·area(S), p(S′) = area · p_x = p(S). */
  regionImageArea: number;
  regionImageProb: number;
  /** Without the Jacobian (density p_z kept): p(S′) and p(Ω′) come out wrong. */
  wrongRegionImageProb: number;
  wrongImageMass: number;
}

const LECTURE_MATRIX: Matrix2 = [[2, -1], [2, 1]];

/** Computes the figure's numbers (areas through the determinant). */
export function changeOfVariablesNumbers(setup: ChangeOfVariablesSetup = {}): ChangeOfVariablesNumbers {
  const matrix = setup.matrix ?? LECTURE_MATRIX;
  const side = setup.side ?? 2;
  const region = setup.region ?? [[0, 1], [0, 0.5]];
  const det = matrix[0][0] * matrix[1][1] - matrix[0][1] * matrix[1][0];
  if (det === 0) throw new RangeError(`change of variables: the matrix must be invertible, got det = 0 for ${JSON.stringify(matrix)}`);
  const [[sx0, sx1], [sy0, sy1]] = region;
  if (!(side > 0 && sx0 >= 0 && sy0 >= 0 && sx1 <= side && sy1 <= side && sx0 < sx1 && sy0 < sy1))
    throw new RangeError(`change of variables: expected a region inside [0, ${side}]², got [${sx0}, ${sx1}] × [${sy0}, ${sy1}]`);
  const absDet = Math.abs(det);
  const baseArea = side * side;
  const baseDensity = 1 / baseArea;
  const regionArea = (sx1 - sx0) * (sy1 - sy0);
  const imageArea = absDet * baseArea;
  const imageDensity = baseDensity / absDet;
  const regionImageArea = absDet * regionArea;
  return {
    matrix,
    side,
    region,
    det,
    absDet,
    baseArea,
    baseDensity,
    baseMass: baseArea * baseDensity,
    regionArea,
    regionProb: regionArea * baseDensity,
    imageArea,
    imageDensity,
    imageMass: imageArea * imageDensity,
    regionImageArea,
    regionImageProb: regionImageArea * imageDensity,
    wrongRegionImageProb: regionImageArea * baseDensity,
    wrongImageMass: imageArea * baseDensity,
  };
}

/** Area of a simple polygon [x0, y0, x1, y1, …] by the shoelace formula. */
export function polygonArea(xy: readonly number[]): number {
  let s = 0;
  const n = xy.length / 2;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    s += xy[2 * i]! * xy[2 * j + 1]! - xy[2 * j]! * xy[2 * i + 1]!;
  }
  return Math.abs(s) / 2;
}

/** The corners of a rectangle [x0, x1] × [y0, y1], mapped through A. */
export function mapRect(A: Matrix2, rect: readonly [readonly [number, number], readonly [number, number]]): number[] {
  const [[x0, x1], [y0, y1]] = rect;
  return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]].flatMap(([x, y]) => [A[0][0] * x! + A[0][1] * y!, A[1][0] * x! + A[1][1] * y!]);
}

export interface ChangeOfVariablesFigureOptions extends ChangeOfVariablesSetup {
  title?: string;
  width?: number;
  height?: number;
  /** Receives the three panels' Axes (the pixel ↔ data mapping). */
  onAxes?: (axes: readonly Axes[]) => void;
}

/** Renders the three panels: base, the right image density, the wrong one. */
export function changeOfVariablesFigure<C extends CanvasLike>(factory: CanvasFactory<C>, opts: ChangeOfVariablesFigureOptions = {}): C {
  const N = changeOfVariablesNumbers(opts);
  const A = N.matrix;
  const I: Matrix2 = [[1, 0], [0, 1]];
  const F = (v: number): string => formatFraction(v);
  const square: readonly [readonly [number, number], readonly [number, number]] = [[0, N.side], [0, N.side]];
  const omega = mapRect(I, square);
  const omegaImage = mapRect(A, square);
  const all = [...omega, ...omegaImage];
  const xs = all.filter((_, i) => i % 2 === 0);
  const ys = all.filter((_, i) => i % 2 === 1);
  const pad = 0.08 * Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  const xlim: [number, number] = [Math.min(...xs) - pad, Math.max(...xs) + pad];
  const ylim: [number, number] = [Math.min(...ys) - pad, Math.max(...ys) + pad];

  const width = opts.width ?? 1000;
  const height = opts.height ?? 560;
  const { canvas, ctx } = newFigure(factory, width, height);
  const det = `${N.det}`.replace("-", "−");
  const mat = `[[${A[0].join(", ")}], [${A[1].join(", ")}]]`.replace(/-/g, "−");
  figureTitle(ctx, opts.title ?? `Change of variables: x = f(z) = ${mat} z,  det J_f = ${det}`, width);
  const barW = 84;
  const pw = (width - barW) / 3;
  const textH = 120;
  const top = 44;
  const cmap = colormap("viridis");
  const pmax = Math.max(N.baseDensity, N.imageDensity);
  const fillFor = (p: number): string => cmap.css(p / pmax);
  const ok = "#007a55";
  const bad = "#c0392b";
  const lines: { s: string; color?: string }[][] = [
    [
      { s: `Area(Ω) = ${F(N.baseArea)}, p(z) = ${F(N.baseDensity)}` },
      { s: `p(S) = ${F(N.regionArea)} × ${F(N.baseDensity)} = ${F(N.regionProb)}` },
      { s: `p(Ω) = ${F(N.baseArea)} × ${F(N.baseDensity)} = ${F(N.baseMass)}  ✓`, color: ok },
    ],
    [
      { s: `p(x) = p(z) / |det J_f| = ${F(N.imageDensity)}` },
      { s: `Area(S′) = ${F(N.absDet)} × ${F(N.regionArea)} = ${F(N.regionImageArea)}` },
      { s: `p(S′) = ${F(N.regionImageArea)} × ${F(N.imageDensity)} = ${F(N.regionImageProb)} = p(S)  ✓`, color: ok },
      { s: `p(Ω′) = ${F(N.imageArea)} × ${F(N.imageDensity)} = ${F(N.imageMass)}  ✓`, color: ok },
    ],
    [
      { s: `keeps p(x) = p(z) = ${F(N.baseDensity)}` },
      { s: `Area(S′) = ${F(N.absDet)} × ${F(N.regionArea)} = ${F(N.regionImageArea)}` },
      { s: `p(S′) = ${F(N.regionImageArea)} × ${F(N.baseDensity)} = ${F(N.wrongRegionImageProb)} ≠ p(S)  ✗`, color: bad },
      { s: `p(Ω′) = ${F(N.imageArea)} × ${F(N.baseDensity)} = ${F(N.wrongImageMass)} ≠ 1  ✗`, color: bad },
    ],
  ];
  const panels = [
    { title: `(a) base: z ~ U([0, ${F(N.side)}]²)`, M: I, density: N.baseDensity, region: "S", xl: "z₁", yl: "z₂" },
    { title: "(b) RIGHT: p(z) / |det J_f|", M: A, density: N.imageDensity, region: "S′", xl: "x₁", yl: "x₂" },
    { title: "(c) WRONG: no Jacobian", M: A, density: N.baseDensity, region: "S′", xl: "x₁", yl: "x₂" },
  ];
  let plotY = 0;
  let plotH = 0;
  const axes: Axes[] = [];
  panels.forEach((p, i) => {
    const ax = new Axes(ctx, { x: i * pw, y: top, w: pw, h: height - top - textH }, {
      xlim,
      ylim,
      equal: true,
      title: p.title,
      xlabel: p.xl,
      ylabel: p.yl,
      ticks: 5,
      margins: { right: 6 },
    });
    axes.push(ax);
    plotY = ax.plot.y;
    plotH = ax.plot.h;
    ax.drawGrid();
    ax.clipped(() => {
      polygon(ax, mapRect(p.M, square), { fill: fillFor(p.density), stroke: INK.frame, width: 1.5 });
      // The image of the z-grid: the point-to-point correspondence of the two spaces.
      const n = 4;
      for (let k = 1; k < n; k++) {
        const t = (k * N.side) / n;
        const a = mapRect(p.M, [[t, t], [0, N.side]]);
        const b = mapRect(p.M, [[0, N.side], [t, t]]);
        ax.polyline([a[0]!, a[4]!], [a[1]!, a[5]!], { color: "rgba(255, 255, 255, 0.55)", width: 1 });
        ax.polyline([b[0]!, b[4]!], [b[1]!, b[5]!], { color: "rgba(255, 255, 255, 0.55)", width: 1 });
      }
      const s = mapRect(p.M, N.region);
      hatch(ax, s, i === 2 ? bad : "#D55E00");
      const [cx, cy] = [(s[0]! + s[2]! + s[4]! + s[6]!) / 4, (s[1]! + s[3]! + s[5]! + s[7]!) / 4];
      text(ctx, p.region, ax.px(cx), ax.py(cy), { size: FONT_SIZE.label, weight: "bold", align: "center", baseline: "middle", color: INK.text, halo: true });
      const o = mapRect(p.M, square);
      const [ox, oy] = [(o[4]! + o[6]!) / 2, (o[5]! + o[7]!) / 2];
      text(ctx, i === 0 ? "Ω" : "Ω′", ax.px(ox), ax.py(oy) - 8, { size: FONT_SIZE.label, weight: "bold", align: "center", baseline: "bottom" });
    });
    ax.drawFrame();
    lines[i]!.forEach((l, k) =>
      text(ctx, l.s, i * pw + pw / 2 + 20, height - textH + 20 + 23 * k, { size: FONT_SIZE.note, align: "center", color: l.color ?? INK.text, weight: l.color ? "bold" : "normal" }),
    );
  });
  drawColorbar(ctx, { x: width - barW + 14, y: plotY + 24, w: 18, h: plotH - 24 }, cmap, 0, pmax, "density");
  opts.onAxes?.(axes);
  return canvas;
}

function polygon(ax: Axes, xy: readonly number[], style: { fill?: string; stroke?: string; width?: number }): void {
  const { ctx } = ax;
  ctx.save();
  path(ax, xy);
  if (style.fill) {
    ctx.fillStyle = style.fill;
    ctx.fill();
  }
  if (style.stroke) {
    ctx.strokeStyle = style.stroke;
    ctx.lineWidth = style.width ?? 1;
    ctx.stroke();
  }
  ctx.restore();
}

function path(ax: Axes, xy: readonly number[]): void {
  const { ctx } = ax;
  ctx.beginPath();
  for (let i = 0; i < xy.length; i += 2) {
    if (i === 0) ctx.moveTo(ax.px(xy[i]!), ax.py(xy[i + 1]!));
    else ctx.lineTo(ax.px(xy[i]!), ax.py(xy[i + 1]!));
  }
  ctx.closePath();
}

/** Diagonal hatching inside the polygon and a thick outline, so S stays visible on any fill. */
function hatch(ax: Axes, xy: readonly number[], color: string): void {
  const ctx: Ctx2D = ax.ctx;
  ctx.save();
  path(ax, xy);
  ctx.clip();
  ctx.strokeStyle = color;
  ctx.globalAlpha = 0.75;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  const { plot } = ax;
  for (let d = -plot.h; d < plot.w; d += 8) {
    ctx.moveTo(plot.x + d, plot.y + plot.h);
    ctx.lineTo(plot.x + d + plot.h, plot.y);
  }
  ctx.stroke();
  ctx.restore();
  ctx.save();
  path(ax, xy);
  ctx.strokeStyle = color;
  ctx.lineWidth = 3;
  ctx.stroke();
  ctx.restore();
}
