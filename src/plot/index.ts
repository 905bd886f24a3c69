/**
 * Pictures of flows on the standard Canvas 2D API, from plain numbers. Works in the browser
 * (`browserCanvasFactory`) and in Node (`nodeCanvasFactory` and `savePng` from
 * "plot/node-canvas.js", kept out of this index so that a browser bundle never sees Node code).
 */
export { browserCanvasFactory, newFigure, text, figureTitle, font, FONT_FAMILY, FONT_SIZE, INK } from "./canvas.js";
export type { CanvasFactory, CanvasLike, Ctx2D, ImageDataLike, Rect } from "./canvas.js";
export { colormap, categorical, wheelColor, rgbCss, CATEGORICAL } from "./colormap.js";
export type { Colormap, ColormapName, RGB } from "./colormap.js";
export { niceTicks, niceNumber, formatTick, formatNumber, formatFraction } from "./ticks.js";
export { flatPoints, columns, quantile, boundsOf } from "./points.js";
export type { Points, Bounds } from "./points.js";
export { Axes } from "./axes.js";
export type { AxesOptions, Margins } from "./axes.js";
export { drawColorbar } from "./colorbar.js";
export { drawLegend } from "./legend.js";
export type { LegendEntry } from "./legend.js";
export { drawScatter, scatterFigure } from "./scatter.js";
export type { ScatterStyle, ScatterSeries, ScatterPanel, ScatterFigureOptions } from "./scatter.js";
export { marchingSquares, massLevels } from "./contour.js";
export { densityGrid, gridPoints, sampleGrid } from "./grid.js";
export type { Grid, LogDensityFn } from "./grid.js";
export { drawHeatmap, drawContours } from "./heatmap.js";
export { densityFigure } from "./density.js";
export type { DensityPanel, DensityFigureOptions } from "./density.js";
export { layersFigure, startColors, pickStages } from "./layers.js";
export type { LayersFigureOptions, ColorBy } from "./layers.js";
export { densityStepsFigure } from "./density-steps.js";
export type { DensityStepsOptions } from "./density-steps.js";
export { lossFigure, movingAverage } from "./loss.js";
export type { Curve, LossFigureOptions } from "./loss.js";
export { imageGridFigure } from "./image-grid.js";
export type { ImageGridOptions } from "./image-grid.js";
export { pairPlotFigure, histogram } from "./pair-plot.js";
export type { PairPlotOptions, PairSeries } from "./pair-plot.js";
export { changeOfVariablesFigure, changeOfVariablesNumbers, polygonArea, mapRect } from "./change-of-variables.js";
export type { ChangeOfVariablesSetup, ChangeOfVariablesNumbers, ChangeOfVariablesFigureOptions, Matrix2 } from "./change-of-variables.js";
