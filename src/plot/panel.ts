import { ValueError } from '../core/errors.js';
import type { Canvas, Rect, Rgb } from './canvas.js';
import { drawText, GLYPH_ROWS, LINE_GAP, textWidth } from './font.js';
import { strokeRuns } from './stroke.js';
import { chooseAxis, paddedRange, type Axis } from './ticks.js';

/** A series after validation: its colour resolved, its points still raw. */
export interface ResolvedSeries {
  readonly name: string;
  readonly color: Rgb;
  readonly dashed: boolean;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export interface ResolvedPanel {
  readonly where: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly ResolvedSeries[];
  readonly xRange?: readonly [number, number];
  readonly yRange?: readonly [number, number];
}

export const INK: Rgb = [34, 34, 34];
const FRAME: Rgb = [90, 90, 90];
const GRID: Rgb = [230, 230, 230];
export const LINE_WIDTH = 2;
export const DASH: readonly [number, number] = [7, 5];
const DOT_RADIUS = 3;
const PAD = 8;
const TICK = 4;
const MIN_PLOT = 24;

/** Draws one panel (title, axes, grid, ticks, labels, series) inside `cell`; returns its plot area. */
export function drawPanel(canvas: Canvas, cell: Rect, panel: ResolvedPanel, scale: number): Rect {
  const lineH = (GLYPH_ROWS + LINE_GAP) * scale;
  const titleScale = scale + 1;
  const top = cell.y + PAD + (panel.title ? (GLYPH_ROWS + LINE_GAP) * titleScale : 0);
  const bottom = cell.y + cell.h - PAD - (panel.xLabel ? lineH : 0) - lineH - TICK;
  const plotH = bottom - top;
  const ext = extents(panel.series);
  const [ylo, yhi] = panel.yRange ?? paddedRange(ext.ylo, ext.yhi);
  // Vertical labels need a line of height each; a comfortable grid is ~3 lines apart.
  const yAxis = chooseAxis(ylo, yhi, plotH, () => lineH + 2, () => Math.max(3.5 * lineH, 36), false);
  const yTickW = Math.max(0, ...yAxis.labels.map((l) => textWidth(l, scale)));
  const left = cell.x + PAD + (panel.yLabel ? lineH : 0) + yTickW + 3 + TICK;
  const right = cell.x + cell.w - PAD - textWidth('00', scale); // room for half of the last x label
  const plot: Rect = { x: left, y: top, w: right - left, h: plotH };
  if (plot.w < MIN_PLOT || plot.h < MIN_PLOT) {
    throw new ValueError(
      `renderChart: ${panel.where} has a plot area of only ${plot.w}×${plot.h} px inside its ${cell.w}×${cell.h} px cell ` +
        `(at least ${MIN_PLOT}×${MIN_PLOT} needed); make the chart larger, use fewer panels per row or a smaller textScale`,
    );
  }
  const [xlo, xhi] = panel.xRange ?? paddedRange(ext.xlo, ext.xhi);
  const widest = (ls: string[]) => Math.max(0, ...ls.map((l) => textWidth(l, scale)));
  const xAxis = chooseAxis(
    xlo,
    xhi,
    plot.w,
    (ls) => widest(ls) + textWidth('0', scale),
    (ls) => Math.max(widest(ls) + textWidth('000', scale), 40 * scale),
    ext.integerX && !panel.xRange,
  );
  drawAxes(canvas, plot, xAxis, yAxis, scale);
  for (const s of panel.series) {
    const runs = toPixelRuns(s.points, plot, xAxis, yAxis);
    strokeRuns(canvas, plot, runs, s.color, { width: LINE_WIDTH, dash: s.dashed ? DASH : undefined, dotRadius: DOT_RADIUS });
  }
  const midX = plot.x + plot.w / 2;
  if (panel.title) {
    drawText(canvas, panel.title, Math.round(midX - textWidth(panel.title, titleScale) / 2), cell.y + PAD, INK, { scale: titleScale });
  }
  if (panel.xLabel) {
    drawText(canvas, panel.xLabel, Math.round(midX - textWidth(panel.xLabel, scale) / 2), bottom + TICK + lineH + 2, INK, { scale });
  }
  if (panel.yLabel) {
    const y = Math.round(plot.y + plot.h / 2 - textWidth(panel.yLabel, scale) / 2);
    drawText(canvas, panel.yLabel, cell.x + PAD, y, INK, { scale, vertical: true });
  }
  return plot;
}

interface Extents {
  xlo: number;
  xhi: number;
  ylo: number;
  yhi: number;
  /** Every finite x is a whole number (epochs), so ticks need no fractions. */
  integerX: boolean;
}

/** Ranges of the finite points; NaN and ±Infinity neither draw nor stretch the axes. */
function extents(series: readonly ResolvedSeries[]): Extents {
  const e = { xlo: Infinity, xhi: -Infinity, ylo: Infinity, yhi: -Infinity, integerX: true };
  for (const s of series) {
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      e.xlo = Math.min(e.xlo, x);
      e.xhi = Math.max(e.xhi, x);
      e.ylo = Math.min(e.ylo, y);
      e.yhi = Math.max(e.yhi, y);
      if (!Number.isInteger(x)) e.integerX = false;
    }
  }
  return e;
}

/** Pixel runs of consecutive finite points: a NaN or ±Infinity breaks the line there. */
function toPixelRuns(points: ReadonlyArray<readonly [number, number]>, plot: Rect, xa: Axis, ya: Axis): [number, number][][] {
  const runs: [number, number][][] = [];
  let run: [number, number][] = [];
  for (const [x, y] of points) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      if (run.length > 0) runs.push(run);
      run = [];
      continue;
    }
    run.push([plot.x + ((x - xa.lo) / (xa.hi - xa.lo)) * plot.w, plot.y + plot.h - ((y - ya.lo) / (ya.hi - ya.lo)) * plot.h]);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

function drawAxes(canvas: Canvas, plot: Rect, xAxis: Axis, yAxis: Axis, scale: number): void {
  const capH = 7 * scale;
  xAxis.ticks.forEach((v, i) => {
    const x = Math.min(plot.x + plot.w - 1, Math.floor(plot.x + ((v - xAxis.lo) / (xAxis.hi - xAxis.lo)) * plot.w));
    canvas.fillRect(x, plot.y, 1, plot.h, GRID);
    canvas.fillRect(x, plot.y + plot.h, 1, TICK, FRAME);
    const label = xAxis.labels[i];
    drawText(canvas, label, Math.round(x - textWidth(label, scale) / 2), plot.y + plot.h + TICK + 3, INK, { scale });
  });
  yAxis.ticks.forEach((v, i) => {
    const y = Math.min(plot.y + plot.h - 1, Math.floor(plot.y + plot.h - ((v - yAxis.lo) / (yAxis.hi - yAxis.lo)) * plot.h));
    canvas.fillRect(plot.x, y, plot.w, 1, GRID);
    canvas.fillRect(plot.x - TICK, y, TICK, 1, FRAME);
    const label = yAxis.labels[i];
    drawText(canvas, label, plot.x - TICK - 3 - textWidth(label, scale), Math.round(y - capH / 2), INK, { scale });
  });
  // The frame sits just outside the plot rectangle, so series never paint over it.
  canvas.fillRect(plot.x - 1, plot.y - 1, plot.w + 2, 1, FRAME);
  canvas.fillRect(plot.x - 1, plot.y + plot.h, plot.w + 2, 1, FRAME);
  canvas.fillRect(plot.x - 1, plot.y - 1, 1, plot.h + 2, FRAME);
  canvas.fillRect(plot.x + plot.w, plot.y - 1, 1, plot.h + 2, FRAME);
}
