// The first layer's weights drawn as images, one tile per Dense unit (its
// weight on each of the side×side pixels) or per Conv2D filter (its kh×kw
// kernel, a cell per weight): red where ink pushes the unit up, blue where it
// pushes it down. The layout and the painting are pure, for the tests.
import { $ } from './dom.js';

const MAX_TILES = 48;
const COLUMNS = 12;
/** Canvas pixels between units' images, between filters (wider, or their grid lines run together), and between a filter's cells. */
const UNIT_GAP = 2;
const FILTER_GAP = 6;
const CELL_LINE = 1;
/** A filter's tile is about a digit's size: K×K cells of ⌊28/K⌋ pixels. */
const FILTER_TILE = 28;

export interface TileLayout {
  kind: 'units' | 'filters';
  /** Units or filters in the layer, and how many are drawn. */
  count: number;
  shown: number;
  /** Weights per tile: rows × cols. */
  rows: number;
  cols: number;
  /** Canvas pixels per weight, grid line included (1 for a Dense unit's image). */
  cell: number;
  columns: number;
  /** Pixels between tiles. */
  gap: number;
  width: number;
  height: number;
  /** Where tile t's weight at (r, c) sits in the row-major kernel. */
  index(t: number, r: number, c: number): number;
}

/**
 * How a first-layer kernel is drawn: a Dense kernel [side², units] as one
 * side×side image per unit; a Conv2D kernel [kh, kw, 1, filters] as one
 * kh×kw grid per filter. Anything else (a Dense layer that does not read the
 * pixels, a filter over several channels) gets a sentence saying why not.
 */
export function tileLayout(shape: readonly number[], side: number): TileLayout | string {
  let kind: TileLayout['kind'];
  let rows: number;
  let cols: number;
  let count: number;
  let cell = 1;
  if (shape.length === 2) {
    if (shape[0] !== side * side) return `The first Dense layer reads ${shape[0]} values, not the ${side}×${side} pixels: its weights are not images.`;
    [kind, rows, cols, count] = ['units', side, side, shape[1]];
  } else if (shape.length === 4) {
    if (shape[2] !== 1) return `The first Conv2D layer's filters span ${shape[2]} channels: only single-channel filters are drawn.`;
    [kind, rows, cols, count] = ['filters', shape[0], shape[1], shape[3]];
    cell = Math.max(2, Math.floor(FILTER_TILE / Math.max(rows, cols)));
  } else {
    return `The first layer's kernel has shape [${shape.join(', ')}]: neither Dense nor Conv2D.`;
  }
  const shown = Math.min(count, MAX_TILES);
  const columns = Math.min(shown, COLUMNS);
  // A filter's grid lines sit between its cells, not after the last one.
  const tileW = cols * cell - (cell > 1 ? CELL_LINE : 0);
  const tileH = rows * cell - (cell > 1 ? CELL_LINE : 0);
  const gridRows = Math.ceil(shown / columns);
  const gap = kind === 'units' ? UNIT_GAP : FILTER_GAP;
  return {
    kind,
    count,
    shown,
    rows,
    cols,
    cell,
    columns,
    gap,
    width: columns * (tileW + gap) - gap,
    height: gridRows * (tileH + gap) - gap,
    // Dense [side², units] and Conv2D [kh, kw, 1, filters] alike: weight p of tile t at p·count + t.
    index: (t, r, c) => (r * cols + c) * count + t,
  };
}

/** White at zero, towards #d62728 (positive) or #1f77b4 (negative), for v in [-1, 1]. */
export function weightColour(v: number): [number, number, number] {
  const t = Math.min(1, Math.abs(v));
  const [r, g, b] = v >= 0 ? [214, 39, 40] : [31, 119, 180];
  return [Math.round(255 + (r - 255) * t), Math.round(255 + (g - 255) * t), Math.round(255 + (b - 255) * t)];
}

const LINE: [number, number, number] = [221, 221, 221];

/** Paints the tiles into RGBA pixels of layout.width × layout.height (white between tiles). */
export function paintTiles(kernel: Float32Array, layout: TileLayout, rgba: Uint8ClampedArray): void {
  const { rows, cols, cell, columns, gap, width } = layout;
  rgba.fill(255);
  const line = cell > 1 ? CELL_LINE : 0;
  const tileW = cols * cell - line;
  const tileH = rows * cell - line;
  for (let t = 0; t < layout.shown; t++) {
    // Each tile on its own scale, the pattern mattering more than the magnitude:
    // ±2.5 root-mean-squares spans the colours, so one outlier cannot wash out the rest.
    let sq = 0;
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) sq += kernel[layout.index(t, r, c)] ** 2;
    const max = 2.5 * Math.sqrt(sq / (rows * cols)) || 1;
    const x0 = (t % columns) * (tileW + gap);
    const y0 = Math.floor(t / columns) * (tileH + gap);
    for (let y = 0; y < tileH; y++) {
      for (let x = 0; x < tileW; x++) {
        const onLine = line > 0 && (x % cell === cell - 1 || y % cell === cell - 1);
        const colour = onLine ? LINE : weightColour(kernel[layout.index(t, Math.floor(y / cell), Math.floor(x / cell))] / max);
        rgba.set(colour, 4 * ((y0 + y) * width + x0 + x));
      }
    }
  }
}

/** Draws the first layer's kernel (shape as in Insight) for side×side digits. */
export function showWeights(kernel: Float32Array, shape: readonly number[], side: number): void {
  const canvas = $<HTMLCanvasElement>('weights');
  const layout = tileLayout(shape, side);
  if (typeof layout === 'string') {
    canvas.hidden = true;
    delete canvas.dataset.kind;
    $('weights-note').textContent = layout;
    return;
  }
  canvas.hidden = false;
  canvas.width = layout.width;
  canvas.height = layout.height;
  canvas.dataset.kind = layout.kind;
  canvas.dataset.shown = String(layout.shown);
  canvas.dataset.tile = `${layout.rows}x${layout.cols}`;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(layout.width, layout.height);
  paintTiles(kernel, layout, img.data);
  ctx.putImageData(img, 0, 0);
  const { shown, count, rows, cols } = layout;
  $('weights-note').textContent =
    layout.kind === 'units'
      ? `${shown} of ${count} first-layer units; each tile is one unit's ${rows * cols} weights (red: ink there excites the unit, blue: inhibits it), on its own scale.`
      : `${shown} of ${count} first-layer Conv2D filters; each tile is one ${rows}×${cols} filter, a cell per weight (red: ink under that cell excites the filter, blue: inhibits it), on its own scale.`;
}
