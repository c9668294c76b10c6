import { ValueError } from '../core/errors.js';
import type { Rgb } from './canvas.js';

/**
 * A series colour: an index into PALETTE, '#rgb' / '#rrggbb', or [r, g, b]
 * with channels 0..255.
 */
export type Color = number | string | Rgb;

/**
 * Twelve colours that stay apart on white: matplotlib's tab10 (the colours
 * Keras users see in their loss curves) plus black and indigo.
 */
export const PALETTE: readonly Rgb[] = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b',
  '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#000000', '#393b79',
].map((hex) => parseColor(hex, 'PALETTE'));

/** Turns a Color into RGB; `where` names the series in the error message. */
export function parseColor(color: Color, where: string): Rgb {
  if (typeof color === 'number') {
    if (!Number.isInteger(color) || color < 0) {
      throw new ValueError(`${where}: a palette colour index must be an integer ≥ 0, got ${color}`);
    }
    return PALETTE[color % PALETTE.length];
  }
  if (typeof color === 'string') {
    const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color);
    if (!m) throw new ValueError(`${where}: colour must be '#rgb' or '#rrggbb', got '${color}'`);
    const hex = m[1].length === 3 ? [...m[1]].map((c) => c + c).join('') : m[1];
    return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)) as unknown as Rgb;
  }
  if (Array.isArray(color) && color.length === 3 && color.every((c) => Number.isInteger(c) && c >= 0 && c <= 255)) {
    return [color[0], color[1], color[2]];
  }
  throw new ValueError(`${where}: colour must be a palette index, '#rrggbb' or [r, g, b] in 0..255, got ${JSON.stringify(color)}`);
}

/**
 * Colours for series that name none: series with the same name share one
 * (so 'train' is the same colour in the loss and the accuracy panel), taken
 * in order of first appearance from the palette entries no series asked for
 * by index.
 */
export function defaultColors(names: readonly string[], takenIndices: ReadonlySet<number>): Map<string, Rgb> {
  const free = PALETTE.map((_, i) => i).filter((i) => !takenIndices.has(i));
  const order = free.length > 0 ? free : PALETTE.map((_, i) => i);
  const out = new Map<string, Rgb>();
  for (const name of names) if (!out.has(name)) out.set(name, PALETTE[order[out.size % order.length]]);
  return out;
}
