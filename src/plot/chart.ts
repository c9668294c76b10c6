import { ValueError } from '../core/errors.js';
import { Canvas, checkSize, type Rect, type RgbaImage, type Rgb } from './canvas.js';
import { drawText, GLYPH_ROWS, LINE_GAP, textWidth } from './font.js';
import { defaultColors, PALETTE, parseColor, type Color } from './palette.js';
import { DASH, drawPanel, INK, LINE_WIDTH, type ResolvedPanel, type ResolvedSeries } from './panel.js';
import { strokeRuns } from './stroke.js';

/** One line: e.g. the training loss of a run. Points need not be sorted. */
export interface SeriesSpec {
  /** Shown in the legend; series with the same name share a default colour. */
  name: string;
  /** [x, y] pairs; a NaN or ±Infinity coordinate leaves a gap, a lone point is drawn as a dot. */
  points: ReadonlyArray<readonly [number, number]>;
  /** A palette index, '#rrggbb' or [r, g, b]; by default one palette colour per name. */
  color?: Color;
  /** Dashed, e.g. for the validation curve beside a solid training curve of the same colour. */
  dashed?: boolean;
}

/** One set of axes, e.g. "loss" over epochs. */
export interface PanelSpec {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  series: SeriesSpec[];
  /** Fixed axis ranges [lo, hi]; otherwise the data range plus a 5% margin. */
  xRange?: readonly [number, number];
  yRange?: readonly [number, number];
}

export interface ChartSpec {
  panels: PanelSpec[];
  /** Image size in pixels; 900 × 400 by default. */
  width?: number;
  height?: number;
  /** Panels per row: all side by side by default, 1 to stack them. */
  columns?: number;
  /** A legend strip under the panels (colour, dash and name of each series); on by default. */
  legend?: boolean;
  /** Integer size of the text; titles are one step larger. Default 1. */
  textScale?: number;
}

const BACKGROUND: Rgb = [255, 255, 255];
const SWATCH = 24;
const PAD = 8;

/** The rendered image, plus where each panel's plot area landed (for tests, or mapping a mouse to data). */
export interface Chart extends RgbaImage {
  /** Plot area of each panel in pixels, in spec order; series are drawn only inside it. */
  readonly plots: Rect[];
}

/** Renders line-chart panels and an optional legend into a new RGBA image. */
export function renderChart(spec: ChartSpec): Chart {
  const { width, height, columns, scale, panels } = resolve(spec);
  const canvas = new Canvas(width, height);
  canvas.fill(BACKGROUND);
  const entries = spec.legend === false ? [] : legendEntries(panels);
  const legendH = drawLegend(canvas, entries, scale);
  const rows = Math.ceil(panels.length / columns);
  const cellW = Math.floor(width / columns);
  const cellH = Math.floor((height - legendH) / rows);
  const plots = panels.map((p, i) => {
    const cell: Rect = { x: (i % columns) * cellW, y: Math.floor(i / columns) * cellH, w: cellW, h: cellH };
    return drawPanel(canvas, cell, p, scale);
  });
  return { width, height, rgba: canvas.rgba, plots };
}

interface Resolved {
  width: number;
  height: number;
  columns: number;
  scale: number;
  panels: ResolvedPanel[];
}

function resolve(spec: ChartSpec): Resolved {
  if (!spec || !Array.isArray(spec.panels) || spec.panels.length === 0) {
    throw new ValueError('renderChart: spec.panels must be a non-empty array of panels');
  }
  const width = spec.width ?? 900;
  const height = spec.height ?? 400;
  checkSize(width, height, 'renderChart');
  const columns = spec.columns ?? spec.panels.length;
  if (!Number.isInteger(columns) || columns < 1 || columns > spec.panels.length) {
    throw new ValueError(`renderChart: columns must be an integer in 1..${spec.panels.length} (the number of panels), got ${columns}`);
  }
  const scale = spec.textScale ?? 1;
  if (!Number.isInteger(scale) || scale < 1 || scale > 8) throw new ValueError(`renderChart: textScale must be an integer in 1..8, got ${scale}`);
  const raw = spec.panels.map((p, i) => checkPanel(p, i));
  const taken = new Set<number>();
  for (const p of raw) for (const s of p.series) if (typeof s.color === 'number') taken.add(s.color % PALETTE.length);
  const defaults = defaultColors(raw.flatMap((p) => p.series.filter((s) => s.color === undefined).map((s) => s.name)), taken);
  const panels = raw.map((p) => ({
    ...p,
    series: p.series.map((s, j): ResolvedSeries => ({
      name: s.name,
      points: s.points,
      dashed: s.dashed ?? false,
      color: s.color === undefined ? defaults.get(s.name)! : parseColor(s.color, `${p.where} series ${j} ('${s.name}')`),
    })),
  }));
  return { width, height, columns, scale, panels };
}

type CheckedPanel = Omit<ResolvedPanel, 'series'> & { series: SeriesSpec[] };

function checkPanel(p: PanelSpec, i: number): CheckedPanel {
  const where = `panel ${i}${p?.title ? ` ('${p.title}')` : ''}`;
  if (!p || !Array.isArray(p.series)) throw new ValueError(`renderChart: ${where} needs a series array`);
  for (const key of ['title', 'xLabel', 'yLabel'] as const) {
    if (p[key] !== undefined && typeof p[key] !== 'string') throw new ValueError(`renderChart: ${where} ${key} must be a string, got ${typeof p[key]}`);
  }
  for (const key of ['xRange', 'yRange'] as const) {
    const r = p[key];
    if (r !== undefined && !(Array.isArray(r) && r.length === 2 && Number.isFinite(r[0]) && Number.isFinite(r[1]) && r[0] < r[1])) {
      throw new ValueError(`renderChart: ${where} ${key} must be [lo, hi] with finite lo < hi, got ${JSON.stringify(r)}`);
    }
  }
  p.series.forEach((s, j) => checkSeries(s, `${where} series ${j}`));
  return { where, title: p.title ?? '', xLabel: p.xLabel ?? '', yLabel: p.yLabel ?? '', series: p.series, xRange: p.xRange, yRange: p.yRange };
}

function checkSeries(s: SeriesSpec, where: string): void {
  if (!s || typeof s.name !== 'string') throw new ValueError(`renderChart: ${where} needs a string name`);
  const at = `${where} ('${s.name}')`;
  if (!Array.isArray(s.points)) throw new ValueError(`renderChart: ${at} points must be an array of [x, y] pairs`);
  s.points.forEach((pt, k) => {
    if (!Array.isArray(pt) || pt.length !== 2 || typeof pt[0] !== 'number' || typeof pt[1] !== 'number') {
      throw new ValueError(`renderChart: ${at} point ${k} must be an [x, y] pair of numbers, got ${JSON.stringify(pt)}`);
    }
  });
  if (s.dashed !== undefined && typeof s.dashed !== 'boolean') throw new ValueError(`renderChart: ${at} dashed must be a boolean`);
}

interface LegendEntry {
  name: string;
  color: Rgb;
  dashed: boolean;
}

/** One entry per distinct (name, colour, dash), in order of first appearance. */
function legendEntries(panels: readonly ResolvedPanel[]): LegendEntry[] {
  const seen = new Map<string, LegendEntry>();
  for (const p of panels) {
    for (const s of p.series) {
      const key = `${s.name}\u0000${s.color.join(',')}\u0000${s.dashed}`;
      if (s.name && !seen.has(key)) seen.set(key, { name: s.name, color: s.color, dashed: s.dashed });
    }
  }
  return [...seen.values()];
}

/**
 * Lays the entries out in a grid of equal columns along the bottom (so a
 * dozen stay aligned and readable) and returns the height it took.
 */
function drawLegend(canvas: Canvas, entries: readonly LegendEntry[], scale: number): number {
  if (entries.length === 0) return 0;
  const rowH = Math.max((GLYPH_ROWS + LINE_GAP) * scale, 10) + 4;
  const colW = Math.max(...entries.map((e) => SWATCH + 6 + textWidth(e.name, scale))) + 18;
  const cols = Math.max(1, Math.min(entries.length, Math.floor((canvas.width - 2 * PAD) / colW)));
  const rows = Math.ceil(entries.length / cols);
  const height = rows * rowH + PAD;
  const x0 = Math.max(PAD, Math.round((canvas.width - cols * colW + 18) / 2));
  const y0 = canvas.height - height;
  entries.forEach((e, i) => {
    const x = x0 + (i % cols) * colW;
    const y = y0 + Math.floor(i / cols) * rowH;
    const mid = y + Math.round((7 * scale) / 2);
    const swatch: Rect = { x, y: mid - 3, w: SWATCH, h: 7 };
    const line: [number, number][] = [[x, mid], [x + SWATCH, mid]];
    strokeRuns(canvas, swatch, [line], e.color, { width: LINE_WIDTH, dash: e.dashed ? DASH : undefined, dotRadius: 0 });
    drawText(canvas, e.name, x + SWATCH + 6, y, INK, { scale });
  });
  return height;
}
