import { describe, expect, it } from 'vitest';
import { centerOfMass, resize, toMnistInput } from '../../src/data/image.js';
import { Random } from '../../src/core/random.js';

/** An RGBA picture filled with `paper`, with the rectangles in `ink`. */
function picture(w: number, h: number, paper: number, ink: number, rects: [number, number, number, number][]): Uint8Array {
  const rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) rgba.set([paper, paper, paper, 255], i * 4);
  for (const [x0, y0, rw, rh] of rects) {
    for (let y = y0; y < y0 + rh; y++) for (let x = x0; x < x0 + rw; x++) rgba.set([ink, ink, ink, 255], (y * w + x) * 4);
  }
  return rgba;
}

/** Box of the pixels above `level` in a 28×28 output: [x0, y0, x1, y1), exclusive ends. */
function box(img: Float32Array, level = 0.01): [number, number, number, number] {
  let [x0, y0, x1, y1] = [28, 28, 0, 0];
  img.forEach((v, i) => {
    if (v <= level) return;
    const x = i % 28;
    const y = Math.floor(i / 28);
    [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x + 1), Math.max(y1, y + 1)];
  });
  return [x0, y0, x1, y1];
}

/**
 * An MNIST-like "0": an elliptical ring centred at (cx, cy) with radii rx, ry,
 * drawn 8× supersampled so that its edges are anti-aliased, as MNIST's were.
 */
function mnistZero(cx: number, cy: number, rx: number, ry: number): Float32Array {
  const ss = 8;
  const out = new Float32Array(28 * 28);
  for (let y = 0; y < 28 * ss; y++) {
    for (let x = 0; x < 28 * ss; x++) {
      const u = ((x + 0.5) / ss - cx) / rx;
      const v = ((y + 0.5) / ss - cy) / ry;
      const r = Math.hypot(u, v);
      if (r <= 1 && r >= 0.7) out[Math.floor(y / ss) * 28 + Math.floor(x / ss)] += 1 / (ss * ss);
    }
  }
  return out;
}

describe('toMnistInput', () => {
  it('centres an off-centre dark "1" on light paper by its mass, its box fitted to 20×20', () => {
    // A 6×40 bar at x 70..75, y 8..47 of a 100×60 picture.
    const out = toMnistInput({ width: 100, height: 60, rgba: picture(100, 60, 245, 20, [[70, 8, 6, 40]]) });
    expect(out).toBeInstanceOf(Float32Array);
    expect(out.length).toBe(784);
    expect(out.every((v) => v >= 0 && v <= 1)).toBe(true);
    const [x0, y0, x1, y1] = box(out);
    expect(y1 - y0).toBe(20); // the long side fills the 20-pixel box
    expect(x1 - x0).toBe(3); // 6 × (20 / 40), aspect kept
    const com = centerOfMass(out, 28, 28);
    expect(Math.abs(com.x - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(com.y - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.max(...out)).toBeCloseTo(1, 6);
    expect(out[0]).toBe(0); // the paper is black
  });

  it('inverts automatically: light-on-dark and dark-on-light give the same digit', () => {
    const rects: [number, number, number, number][] = [[10, 10, 25, 5], [30, 10, 5, 30]]; // a "7"
    const dark = toMnistInput({ width: 50, height: 50, rgba: picture(50, 50, 255, 0, rects) });
    const light = toMnistInput({ width: 50, height: 50, rgba: picture(50, 50, 0, 255, rects) });
    expect(Math.max(...dark)).toBeCloseTo(1, 6);
    expect([...light]).toEqual([...dark]);
    expect([...toMnistInput({ width: 50, height: 50, rgba: picture(50, 50, 255, 0, rects) }, { invert: true })]).toEqual([...dark]);
    expect([...toMnistInput({ width: 50, height: 50, rgba: picture(50, 50, 0, 255, rects) }, { invert: false })]).toEqual([...dark]);
    // Forcing the wrong way makes the paper the "ink": nothing is left on it.
    const wrong = toMnistInput({ width: 50, height: 50, rgba: picture(50, 50, 255, 0, rects) }, { invert: false });
    expect(wrong.every((v) => v === 0)).toBe(true);
  });

  it('judges paper by the border, not the mean, for a bold digit that darkens most of the picture', () => {
    // A bold square "0": 880 of 1600 pixels are ink, so the mean (0.45) alone would say "dark paper".
    const rects: [number, number, number, number][] = [[4, 4, 32, 10], [4, 26, 32, 10], [4, 14, 10, 12], [26, 14, 10, 12]];
    const out = toMnistInput({ width: 40, height: 40, rgba: picture(40, 40, 255, 0, rects) });
    expect(out[14 * 28 + 14]).toBe(0); // the hole
    expect(out[14 * 28 + 5]).toBeCloseTo(1, 6); // the left stroke
    expect(out[0]).toBe(0);
  });

  it('reads transparent pixels as white paper (a canvas with only ink strokes)', () => {
    const rgba = new Uint8Array(40 * 40 * 4); // transparent black everywhere
    for (let y = 5; y < 35; y++) for (let x = 18; x < 22; x++) rgba.set([0, 0, 0, 255], (y * 40 + x) * 4);
    const out = toMnistInput({ width: 40, height: 40, rgba });
    const [, y0, , y1] = box(out);
    expect(y1 - y0).toBe(20);
    expect(out[0]).toBe(0);
  });

  it('returns all zeros for a blank picture, without NaN', () => {
    for (const paper of [0, 128, 255]) {
      const out = toMnistInput({ width: 30, height: 20, rgba: picture(30, 20, paper, paper, []) });
      expect(out.every((v) => v === 0), `paper ${paper}`).toBe(true);
    }
    const rng = new Random(3);
    const noise = Float32Array.from({ length: 64 * 64 }, () => 0.5 + rng.uniform(-0.03, 0.03));
    expect(toMnistInput({ width: 64, height: 64, gray: noise }).every((v) => v === 0)).toBe(true);
    expect(toMnistInput({ width: 1, height: 1, gray: [1] }).every((v) => v === 0)).toBe(true);
  });

  it('leaves an already-MNIST digit nearly as it was', () => {
    // Fringes a fraction of a pixel off the grid, and one 19 px tall and off-centre by 0.4 px.
    for (const [cx, cy, rx, ry, tol] of [[13.7, 14.2, 6.8, 9.7, 0.01], [14.4, 13.6, 7.3, 9.4, 0.1]]) {
      const zero = mnistZero(cx, cy, rx, ry);
      const before = centerOfMass(zero, 28, 28);
      const out = toMnistInput({ width: 28, height: 28, gray: zero });
      const after = centerOfMass(out, 28, 28);
      expect(Math.hypot(after.x - before.x, after.y - before.y), `centre of ring at (${cx}, ${cy})`).toBeLessThan(1);
      expect(Math.hypot(after.x - 14, after.y - 14)).toBeLessThanOrEqual(Math.SQRT1_2);
      const [x0, y0, x1, y1] = box(out);
      expect([x1 - x0 <= 20, y1 - y0 <= 20]).toEqual([true, true]);
      const meanAbs = out.reduce((s, v, i) => s + Math.abs(v - zero[i]), 0) / 784;
      expect(meanAbs, `mean |after - before| for the ring at (${cx}, ${cy})`).toBeLessThan(tol);
      // The same digit as bytes, with the 0..255 scale MNIST files use.
      const bytes = Uint8Array.from(zero, (v) => Math.round(v * 255));
      const fromBytes = toMnistInput({ width: 28, height: 28, gray: bytes });
      expect(Math.max(...fromBytes.map((v, i) => Math.abs(v - out[i])))).toBeLessThan(0.02);
    }
  });

  it('enlarges a small digit bilinearly to fill the 20-pixel box', () => {
    const gray = new Float32Array(28 * 28);
    for (let y = 3; y < 11; y++) for (let x = 2; x < 4; x++) gray[y * 28 + x] = 1; // 2×8 in a corner
    const out = toMnistInput({ width: 28, height: 28, gray });
    const [x0, y0, x1, y1] = box(out);
    expect(y1 - y0).toBe(20);
    expect(x1 - x0).toBe(5);
    const com = centerOfMass(out, 28, 28);
    expect(Math.abs(com.x - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(com.y - 14)).toBeLessThanOrEqual(0.5);
  });

  it('keeps the box inside the field when the mass is far from the box centre', () => {
    // An "L": a heavy 20-wide foot and a thin stem pull the mass low; the shift is clamped.
    const gray = new Float32Array(60 * 60);
    for (let y = 10; y < 50; y++) gray[y * 60 + 10] = 1;
    for (let y = 44; y < 50; y++) for (let x = 10; x < 50; x++) gray[y * 60 + x] = 1;
    const out = toMnistInput({ width: 60, height: 60, gray });
    const [x0, y0, x1, y1] = box(out);
    expect([x1 - x0, y1 - y0]).toEqual([20, 20]);
    expect(x0).toBeGreaterThanOrEqual(0);
    expect(y1).toBeLessThanOrEqual(28);
  });

  it('refuses malformed input, naming the problem', () => {
    expect(() => toMnistInput({ width: 2, height: 2 })).toThrow(/give exactly one of rgba or gray/);
    expect(() => toMnistInput({ width: 2, height: 2, gray: [0, 0, 0, 0], rgba: new Uint8Array(16) })).toThrow(/exactly one/);
    expect(() => toMnistInput({ width: 2, height: 2, rgba: new Uint8Array(15) })).toThrow(/a 2×2 RGBA image needs 16 bytes, got 15/);
    expect(() => toMnistInput({ width: 3, height: 2, gray: [0, 0, 0, 0, 0] })).toThrow(/a 3×2 gray image needs 6 values, got 5/);
    expect(() => toMnistInput({ width: 3, height: 2, gray: [0, 0, 0, 0, 255, 0] })).toThrow(
      /gray value at index 4 \(row 1, column 1\) is 255, expected a number in \[0, 1\] \(pass 0..255 data as a Uint8Array\)/,
    );
    expect(() => toMnistInput({ width: 2, height: 1, gray: [0, NaN] })).toThrow(/index 1 .* is NaN/);
    expect(() => toMnistInput({ width: 0, height: 2, gray: [] })).toThrow(/width must be an integer in 1..16384, got 0/);
    expect(() => toMnistInput({ width: 1, height: 1, gray: [0] }, { threshold: 1 })).toThrow(/threshold must be in \(0, 1\), got 1/);
    expect(() => toMnistInput({ width: 1, height: 1, gray: [0] }, { invert: 'yes' as never })).toThrow(/invert must be 'auto', true or false/);
  });
});

describe('resize', () => {
  it('area-averages when shrinking and interpolates when enlarging, keeping the mean', () => {
    const src = Float32Array.from([0, 1, 1, 0, 0, 0, 1, 1]); // 4×2
    expect([...resize(src, 4, 2, 2, 1)]).toEqual([0.25, 0.75]);
    expect([...resize(src, 4, 2, 4, 2)]).toEqual([...src]);
    const up = resize(Float32Array.from([0, 1]), 2, 1, 4, 1);
    expect([...up]).toEqual([0, 0.25, 0.75, 1]);
    const odd = resize(Float32Array.from([1, 0, 0, 1, 0, 0, 1]), 7, 1, 3, 1); // non-integer ratio 7/3
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(odd)).toBeCloseTo(3 / 7, 6);
  });
});
