import { ValueError } from '../core/errors.js';
import type { Canvas, Rgb } from './canvas.js';

/**
 * A 5×7 bitmap font (plus two descender rows for g, j, p, q, y, ',' and '_'),
 * drawn at integer scale so that labels stay crisp in a PNG with no font
 * engine. Glyphs are proportional: each is trimmed to its inked columns, so
 * '1', '.', 'i' and ':' take less room than 'M'.
 */

/** Rows in a glyph cell: 7 above the baseline, 2 below it. */
export const GLYPH_ROWS = 9;
/** Pixels between lines of text (at scale 1), on top of GLYPH_ROWS. */
export const LINE_GAP = 2;

// Rows from the top, '#' = ink: 7 rows, up to 9 where the glyph reaches below the baseline.
const SOURCE: Record<string, string> = {
  ' ': '... ... ... ... ... ... ...',
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '##### ...#. ..#.. ...#. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
  A: '.###. #...# #...# ##### #...# #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '###.. #..#. #...# #...# #...# #..#. ###..',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####',
  a: '..... ..... .###. ....# .#### #...# .####',
  b: '#.... #.... #.##. ##..# #...# #...# ####.',
  c: '..... ..... .###. #.... #.... #...# .###.',
  d: '....# ....# .##.# #..## #...# #...# .####',
  e: '..... ..... .###. #...# ##### #.... .###.',
  f: '..##. .#..# .#... ###.. .#... .#... .#...',
  g: '..... ..... .#### #...# #...# #...# .#### ....# .###.',
  h: '#.... #.... #.##. ##..# #...# #...# #...#',
  i: '..#.. ..... .##.. ..#.. ..#.. ..#.. .###.',
  j: '...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##..',
  k: '#.... #.... #..#. #.#.. ##... #.#.. #..#.',
  l: '.##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  m: '..... ..... ##.#. #.#.# #.#.# #.#.# #...#',
  n: '..... ..... #.##. ##..# #...# #...# #...#',
  o: '..... ..... .###. #...# #...# #...# .###.',
  p: '..... ..... ####. #...# #...# #...# ####. #.... #....',
  q: '..... ..... .#### #...# #...# #...# .#### ....# ....#',
  r: '..... ..... #.##. ##..# #.... #.... #....',
  s: '..... ..... .###. #.... .###. ....# ####.',
  t: '.#... .#... ###.. .#... .#... .#..# ..##.',
  u: '..... ..... #...# #...# #...# #..## .##.#',
  v: '..... ..... #...# #...# #...# .#.#. ..#..',
  w: '..... ..... #...# #...# #.#.# #.#.# .#.#.',
  x: '..... ..... #...# .#.#. ..#.. .#.#. #...#',
  y: '..... ..... #...# #...# #...# #...# .#### ....# .###.',
  z: '..... ..... ##### ...#. ..#.. .#... #####',
  '.': '.. .. .. .. .. ## ##',
  ',': '.. .. .. .. .. ## ## .# #.',
  ':': '.. ## ## .. ## ## ..',
  '-': '.... .... .... #### .... .... ....',
  '_': '..... ..... ..... ..... ..... ..... ..... #####',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  '=': '..... ..... ##### ..... ##### ..... .....',
  '%': '##... ##..# ...#. ..#.. .#... #..## ...##',
  '(': '..# .#. #.. #.. #.. .#. ..#',
  ')': '#.. .#. ..# ..# ..# .#. #..',
  '[': '### #.. #.. #.. #.. #.. ###',
  ']': '### ..# ..# ..# ..# ..# ###',
  '/': '....# ....# ...#. ..#.. .#... #.... #....',
  '<': '...# ..#. .#.. #... .#.. ..#. ...#',
  '>': '#... .#.. ..#. ...# ..#. .#.. #...',
  '*': '..... ..#.. #.#.# .###. #.#.# ..#.. .....',
  '|': '# # # # # # # # #',
  '!': '# # # # # . #',
  "'": '# # . . . . .',
  '#': '.#.#. ##### .#.#. .#.#. .#.#. ##### .#.#.',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
};

/** One glyph: its width in pixels and one bit mask per row (bit 0 = leftmost column). */
export interface Glyph {
  readonly width: number;
  readonly rows: readonly number[];
}

function parseGlyph(ch: string, src: string): Glyph {
  const lines = src.split(' ');
  if (lines.length < 7 || lines.length > GLYPH_ROWS) throw new Error(`font: glyph '${ch}' has ${lines.length} rows`);
  const cols = lines[0].length;
  let left = cols;
  let right = -1;
  for (const line of lines) {
    if (line.length !== cols) throw new Error(`font: glyph '${ch}' has rows of different widths`);
    for (let c = 0; c < cols; c++) {
      if (line[c] === '#') {
        left = Math.min(left, c);
        right = Math.max(right, c);
      }
    }
  }
  if (right < 0) return { width: cols, rows: [] }; // a blank (space) keeps its width
  const rows = lines.map((line) => {
    let bits = 0;
    for (let c = left; c <= right; c++) if (line[c] === '#') bits |= 1 << (c - left);
    return bits;
  });
  return { width: right - left + 1, rows };
}

const GLYPHS = new Map<string, Glyph>(Object.entries(SOURCE).map(([ch, src]) => [ch, parseGlyph(ch, src)]));
const FALLBACK = GLYPHS.get('?')!;

/** The glyph drawn for `ch`: characters the font lacks are drawn as '?'. */
export function glyph(ch: string): Glyph {
  return GLYPHS.get(ch) ?? FALLBACK;
}

/** Whether the font has its own glyph for `ch` (otherwise '?' is drawn). */
export function hasGlyph(ch: string): boolean {
  return GLYPHS.has(ch);
}

/** Width in pixels of `text` drawn at `scale` (one blank column between glyphs). */
export function textWidth(text: string, scale = 1): number {
  let w = 0;
  for (const ch of text) w += glyph(ch).width + 1;
  return Math.max(0, w - 1) * scale;
}

/** Height in pixels of one line of text at `scale`, descenders included. */
export function textHeight(scale = 1): number {
  return GLYPH_ROWS * scale;
}

export interface TextOptions {
  scale?: number;
  /** Rotate 90° counter-clockwise (reads bottom to top), as a y-axis label does. */
  vertical?: boolean;
}

/**
 * Draws `text` with the top-left of its box at (x, y). A vertical label's
 * box is textHeight wide and textWidth tall. Pixels off the canvas are dropped.
 */
export function drawText(canvas: Canvas, text: string, x: number, y: number, color: Rgb, opts: TextOptions = {}): void {
  const s = opts.scale ?? 1;
  if (!Number.isInteger(s) || s < 1) throw new ValueError(`drawText: scale must be a positive integer, got ${s}`);
  const height = opts.vertical ? textWidth(text, s) : 0;
  let pen = 0;
  for (const ch of text) {
    const g = glyph(ch);
    g.rows.forEach((bits, r) => {
      for (let c = 0; c < g.width; c++) {
        if (!(bits & (1 << c))) continue;
        const u = (pen + c) * s; // along the text
        const v = r * s; // across it, from the top of the glyph
        if (opts.vertical) canvas.fillRect(x + v, y + height - u - s, s, s, color);
        else canvas.fillRect(x + u, y + v, s, s, color);
      }
    });
    pen += g.width + 1;
  }
}
