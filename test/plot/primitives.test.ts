import { describe, expect, it } from 'vitest';
import { Canvas, type Rgb } from '../../src/plot/canvas.js';
import { drawText, glyph, hasGlyph, textHeight, textWidth } from '../../src/plot/font.js';
import { strokeRuns } from '../../src/plot/stroke.js';
import { chooseAxis, formatTicks, niceStep, paddedRange, ticksIn } from '../../src/plot/ticks.js';

const BLACK: Rgb = [0, 0, 0];

describe('Canvas, strokes and text', () => {
  it('never writes outside the image, however far off the drawing goes', () => {
    const w = 40;
    const h = 30;
    const guard = 64;
    const backing = new Uint8Array(guard + w * h * 4 + guard).fill(0xa5);
    const canvas = new Canvas(w, h, backing.subarray(guard, guard + w * h * 4));
    canvas.fill([255, 255, 255]);
    canvas.fillRect(-10, -10, 100, 100, [1, 2, 3]);
    canvas.blend(-1, 0, BLACK, 1);
    canvas.blend(w, h - 1, BLACK, 1);
    drawText(canvas, 'edge 0.5', -7, -3, BLACK, { scale: 3 });
    drawText(canvas, 'edge 0.5', w - 5, h - 4, BLACK, { scale: 2, vertical: true });
    const all = { x: 0, y: 0, w, h };
    strokeRuns(canvas, all, [[[-1e6, -50], [1e6, 80]], [[w + 5, h + 5]], [[-3, 15]]], [9, 9, 9], { width: 2, dotRadius: 4 });
    for (let i = 0; i < guard; i++) {
      expect(backing[i]).toBe(0xa5);
      expect(backing[backing.length - 1 - i]).toBe(0xa5);
    }
    expect(canvas.pixel(0, 0)[3]).toBe(255);
  });

  it('refuses a buffer of the wrong size and a bad size', () => {
    expect(() => new Canvas(4, 4, new Uint8Array(63))).toThrow(/a 4×4 RGBA image needs 64 bytes, got 63/);
    expect(() => new Canvas(0, 4)).toThrow(/width must be an integer in 1..16384, got 0/);
    expect(() => new Canvas(3, 2.5)).toThrow(/height must be an integer/);
  });

  it('draws a 2-px horizontal line crisply and a dashed one with gaps that follow the length', () => {
    const c = new Canvas(60, 10);
    c.fill([255, 255, 255]);
    strokeRuns(c, { x: 0, y: 0, w: 60, h: 10 }, [[[0, 3], [30, 3], [60, 3]]], [200, 0, 0], { width: 2, dash: [7, 5], dotRadius: 3 });
    const row = (y: number) => Array.from({ length: 60 }, (_, x) => c.pixel(x, y)[1] === 0);
    expect(row(3)).toEqual(row(2)); // rows 2 and 3 are the line: y = 3 is the boundary between them
    expect(row(1).some(Boolean) || row(4).some(Boolean)).toBe(false);
    // 7 on, 5 off, continuing across the joint at x = 30 (30 mod 12 = 6: still on).
    const on = row(2).map((b, x) => (b ? x : -1)).filter((x) => x >= 0);
    expect(on.slice(0, 7)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(row(2)[8]).toBe(false);
    expect(row(2)[12]).toBe(true);
    expect(row(2)[30]).toBe(true);
    expect(row(2)[32]).toBe(false);
  });

  it('renders glyphs at integer scale, proportional widths, vertical text rotated', () => {
    for (const ch of '0123456789.-_:%()e+=, ABCXYZabcxyz') expect(hasGlyph(ch), ch).toBe(true);
    expect(hasGlyph('λ')).toBe(false);
    expect(glyph('λ')).toBe(glyph('?'));
    expect(textWidth('0')).toBe(5);
    expect(textWidth('00', 2)).toBe(22); // 5 + 1 + 5, doubled
    expect(textWidth('1.')).toBeLessThan(textWidth('00'));
    expect(textHeight(3)).toBe(27);
    const c = new Canvas(20, 20);
    c.fill([255, 255, 255]);
    drawText(c, '1', 2, 2, BLACK, { scale: 2 });
    // '1' is 3 columns wide: its foot ('###') on row 6 covers x 2..7, y 14..15 at scale 2.
    for (let x = 2; x < 8; x++) expect(c.pixel(x, 15)).toEqual([0, 0, 0, 255]);
    expect(c.pixel(8, 15)).toEqual([255, 255, 255, 255]);
    const v = new Canvas(20, 20);
    v.fill([255, 255, 255]);
    drawText(v, '-', 0, 0, BLACK, { vertical: true });
    // '-' is 4 wide on row 3; turned counter-clockwise it is a column at x = 3, y 0..3.
    for (let y = 0; y < 4; y++) expect(v.pixel(3, y)).toEqual([0, 0, 0, 255]);
    expect(v.pixel(3, 4)).toEqual([255, 255, 255, 255]);
    expect(() => drawText(v, 'x', 0, 0, BLACK, { scale: 0 })).toThrow(/scale must be a positive integer, got 0/);
  });
});

describe('ticks', () => {
  it('picks 1-2-5 steps and exact tick values', () => {
    expect([0.13, 0.2, 0.21, 3, 7, 1, 1e-7 * 3].map(niceStep)).toEqual([0.2, 0.2, 0.5, 5, 10, 1, 5e-7]);
    expect(ticksIn(0, 1, 0.1)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    expect(ticksIn(-0.25, 0.25, 0.1)).toEqual([-0.2, -0.1, 0, 0.1, 0.2]);
    expect(Object.is(ticksIn(-1, 1, 1)[1], -0)).toBe(false);
  });

  it('formats labels with the decimals the step needs, or as exponents', () => {
    expect(formatTicks([0, 0.5, 1], 0.5)).toEqual(['0.0', '0.5', '1.0']);
    expect(formatTicks([10, 20], 10)).toEqual(['10', '20']);
    expect(formatTicks([-0.02, 0, 0.02], 0.02)).toEqual(['-0.02', '0.00', '0.02']);
    expect(formatTicks([0, 5e-5, 1e-4, 1.5e-4], 5e-5)).toEqual(['0', '5e-5', '1e-4', '1.5e-4']);
    expect(formatTicks([-2e7, 0, 2e7], 2e7)).toEqual(['-2e7', '0', '2e7']);
    expect(formatTicks([1e6, 1.5e6], 5e5)).toEqual(['1e6', '1.5e6']);
  });

  it('pads ranges by 5%, widens constant ones, and defaults an empty one', () => {
    expect(paddedRange(0, 10)).toEqual([-0.5, 10.5]);
    expect(paddedRange(2, 2)).toEqual([1.9, 2.1]);
    expect(paddedRange(0, 0)).toEqual([-1, 1]);
    const [lo, hi] = paddedRange(0.3, 0.1 + 0.2); // equal up to float noise: constant
    expect(lo).toBeCloseTo(0.285, 12);
    expect(hi).toBeCloseTo(0.315, 12);
    expect(paddedRange(Infinity, -Infinity)).toEqual([0, 1]);
  });

  it('spaces ticks for their labels and keeps integer axes whole', () => {
    const wide = chooseAxis(0, 100, 800, () => 20, () => 50, false);
    expect(wide.step).toBe(10);
    const narrow = chooseAxis(0, 100, 100, () => 20, () => 50, false);
    expect(narrow.step).toBe(50);
    const epochs = chooseAxis(0.9, 3.1, 600, () => 10, () => 30, true);
    expect(epochs.ticks).toEqual([1, 2, 3]);
    // Too short for a comfortable pair: falls back to two ticks whose labels still fit.
    const short = chooseAxis(0.45, 0.55, 60, () => 12, () => 40, false);
    expect(short.ticks.length).toBeGreaterThanOrEqual(2);
    expect(() => chooseAxis(1, 1, 100, () => 1, () => 1, false)).toThrow(/lo < hi/);
    // A span far below the values' precision still ends (no endless loop).
    expect(chooseAxis(1e15, 1e15 + 0.5, 300, () => 10, () => 30, false).ticks.length).toBeLessThan(100);
  });
});
