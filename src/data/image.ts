import { ValueError } from '../core/errors.js';

/**
 * Turning an arbitrary picture of a digit (a canvas drawing, a PNG, a photo)
 * into what a model trained on MNIST expects, by redoing what MNIST did to
 * its digits: bright ink on black, the ink's box scaled to fit 20×20 with its
 * aspect ratio kept, placed in 28×28 so that its centre of mass is in the
 * middle. Browser-safe: no node: imports.
 */

/** A picture: RGBA bytes (ImageData.data, readPng's rgba) or one gray value per pixel. */
export interface DigitImage {
  readonly width: number;
  readonly height: number;
  /** 4 bytes per pixel; transparent pixels count as white paper, as they show on a page. */
  readonly rgba?: Uint8Array | Uint8ClampedArray;
  /** One value per pixel: 0..255 in a Uint8Array / Uint8ClampedArray, otherwise numbers in [0, 1]. */
  readonly gray?: ArrayLike<number>;
}

export interface MnistInputOptions {
  /**
   * Whether to turn dark ink on light paper into light on dark. 'auto' (the
   * default) inverts when the border is brighter than the centre, or, if
   * they are alike, when the mean is above 0.5.
   */
  invert?: 'auto' | boolean;
  /** Ink level in (0, 1), relative to the darkest stroke, that counts toward the digit's box. Default 0.2. */
  threshold?: number;
}

export const MNIST_SIDE = 28;
/** MNIST fitted each digit's box into 20×20, leaving a 4-pixel border. */
export const MNIST_BOX = 20;
/** Below this contrast (after removing the background) the picture counts as blank. */
const MIN_CONTRAST = 0.1;
const MAX_SIDE = 16384;
/**
 * At most 4096×4096 pixels: a 12 MP photo fits, and the float planes made
 * from it (gray, ink, a crop) stay under ~200 MB; a bigger picture is
 * refused rather than ask for gigabytes. readPng applies the same cap.
 */
export const MAX_PIXELS = 4096 * 4096;

/**
 * A 28×28 row-major Float32Array in [0, 1], ink bright on black, ready for a
 * model trained on MNIST pixels / 255. A blank picture gives all zeros (and
 * blankImageNotice says so).
 */
export function toMnistInput(image: DigitImage, opts: MnistInputOptions = {}): Float32Array {
  const { width: w, height: h } = image;
  const threshold = opts.threshold ?? 0.2;
  const { ink, contrast } = inkOf(image, opts);
  if (contrast < MIN_CONTRAST) return new Float32Array(MNIST_SIDE * MNIST_SIDE);
  const box = inkBox(ink, w, h, threshold)!; // the peak is 1 after normalising, so some pixel passes
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  const crop = new Float32Array(bw * bh);
  for (let y = 0; y < bh; y++) crop.set(ink.subarray((box.y0 + y) * w + box.x0, (box.y0 + y) * w + box.x1), y * bw);
  const scale = MNIST_BOX / Math.max(bw, bh);
  const nw = Math.max(1, Math.min(MNIST_BOX, Math.round(bw * scale)));
  const nh = Math.max(1, Math.min(MNIST_BOX, Math.round(bh * scale)));
  const patch = resize(crop, bw, bh, nw, nh);
  // MNIST's strokes were thick enough to keep full intensity at 20×20; a thin
  // pen shrunk tenfold would not, so the strongest pixel is brought back to 1.
  const peak = patch.reduce((m, v) => Math.max(m, v), 0);
  if (peak > 0) for (let i = 0; i < patch.length; i++) patch[i] /= peak;
  return placeByMass(patch, nw, nh);
}

/**
 * Null when the picture holds a digit; otherwise a notice that it is blank
 * (every pixel the same gray, or ink too faint to tell from the paper), so
 * toMnistInput gives all zeros and a model's prediction for it means nothing.
 * `name` (a file name) goes in front of the message.
 */
export function blankImageNotice(image: DigitImage, name = 'the image', opts: MnistInputOptions = {}): string | null {
  const { contrast, gray } = inkOf(image, opts);
  if (contrast >= MIN_CONTRAST) return null;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of gray) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const what =
    hi === lo
      ? `every pixel has the same gray level (${lo.toFixed(2)} on 0..1)`
      : `its strongest mark differs from the paper by ${(contrast * 100).toFixed(0)}% of full scale, under the ${MIN_CONTRAST * 100}% a stroke needs`;
  return `${name} is blank: ${what}, so there is no digit to centre; the prediction for it means nothing`;
}

/** Gray levels, and the ink with the paper at 0 and, when there is contrast, the strongest stroke at 1. */
function inkOf(image: DigitImage, opts: MnistInputOptions): { gray: Float32Array; ink: Float32Array; contrast: number } {
  const threshold = opts.threshold ?? 0.2;
  if (!(threshold > 0 && threshold < 1)) throw new ValueError(`toMnistInput: threshold must be in (0, 1), got ${threshold}`);
  const invert = opts.invert ?? 'auto';
  if (invert !== 'auto' && typeof invert !== 'boolean') throw new ValueError(`toMnistInput: invert must be 'auto', true or false, got ${String(invert)}`);
  const { width: w, height: h } = image;
  const gray = toGray(image);
  const flip = invert === 'auto' ? paperIsLight(gray, w, h) : invert;
  const ink = flip ? gray.map((v) => 1 - v) : gray.slice();
  return { gray, ink, contrast: normaliseInk(ink, w, h) };
}

/** Luminance in [0, 1] per pixel (ITU-R 601 weights, as PIL's 'L'), alpha blended over white. */
export function toGray(image: DigitImage): Float32Array {
  const { width: w, height: h, rgba, gray } = image;
  for (const [name, v] of [['width', w], ['height', h]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_SIDE) throw new ValueError(`toMnistInput: ${name} must be an integer in 1..${MAX_SIDE}, got ${v}`);
  }
  if ((rgba === undefined) === (gray === undefined)) throw new ValueError('toMnistInput: give exactly one of rgba or gray');
  const n = w * h;
  if (n > MAX_PIXELS) throw new ValueError(`toMnistInput: a ${w}×${h} image has ${n} pixels, more than the ${MAX_PIXELS} (4096×4096) this takes; scale it down first`);
  const out = new Float32Array(n);
  if (rgba !== undefined) {
    if (!(rgba instanceof Uint8Array || rgba instanceof Uint8ClampedArray)) throw new ValueError('toMnistInput: rgba must be a Uint8Array or Uint8ClampedArray');
    if (rgba.length !== n * 4) throw new ValueError(`toMnistInput: a ${w}×${h} RGBA image needs ${n * 4} bytes, got ${rgba.length}`);
    for (let i = 0; i < n; i++) {
      const lum = (0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255;
      const a = rgba[4 * i + 3] / 255;
      out[i] = lum * a + (1 - a);
    }
    return out;
  }
  if (gray!.length !== n) throw new ValueError(`toMnistInput: a ${w}×${h} gray image needs ${n} values, got ${gray!.length}`);
  const bytes = gray instanceof Uint8Array || gray instanceof Uint8ClampedArray;
  for (let i = 0; i < n; i++) {
    const v = bytes ? gray![i] / 255 : gray![i];
    if (!(v >= 0 && v <= 1)) {
      throw new ValueError(
        `toMnistInput: gray value at index ${i} (row ${Math.floor(i / w)}, column ${i % w}) is ${gray![i]}, expected a number in [0, 1] ` +
          '(pass 0..255 data as a Uint8Array)',
      );
    }
    out[i] = v;
  }
  return out;
}

/** Dark ink on light paper? The border is paper; the centre holds the ink. */
function paperIsLight(g: Float32Array, w: number, h: number): boolean {
  let border = 0;
  let nb = 0;
  let centre = 0;
  let nc = 0;
  let all = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = g[y * w + x];
      all += v;
      if (x === 0 || y === 0 || x === w - 1 || y === h - 1) {
        border += v;
        nb++;
      }
      if (x >= w / 4 && x < (3 * w) / 4 && y >= h / 4 && y < (3 * h) / 4) {
        centre += v;
        nc++;
      }
    }
  }
  const diff = border / nb - (nc > 0 ? centre / nc : border / nb);
  return Math.abs(diff) > 0.01 ? diff > 0 : all / (w * h) > 0.5;
}

/**
 * Makes the paper 0 and the strongest ink 1, in place: subtracts the
 * border's median (grey paper, a photo's shadow), then stretches unless
 * too little contrast is left to hold a digit. Returns the contrast: the
 * strongest ink above the paper, before stretching.
 */
function normaliseInk(ink: Float32Array, w: number, h: number): number {
  const ring: number[] = [];
  for (let x = 0; x < w; x++) ring.push(ink[x], ink[(h - 1) * w + x]);
  for (let y = 1; y < h - 1; y++) ring.push(ink[y * w], ink[y * w + w - 1]);
  ring.sort((a, b) => a - b);
  const paper = ring[Math.floor(ring.length / 2)];
  let peak = 0;
  for (let i = 0; i < ink.length; i++) {
    ink[i] = Math.max(0, ink[i] - paper);
    peak = Math.max(peak, ink[i]);
  }
  if (peak < MIN_CONTRAST) return peak;
  for (let i = 0; i < ink.length; i++) ink[i] /= peak;
  return peak;
}

interface Box {
  x0: number;
  y0: number;
  /** Exclusive. */
  x1: number;
  y1: number;
}

function inkBox(ink: Float32Array, w: number, h: number, threshold: number): Box | null {
  let x0 = w;
  let y0 = h;
  let x1 = 0;
  let y1 = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (ink[y * w + x] < threshold) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x + 1);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y + 1);
    }
  }
  return x1 > x0 ? { x0, y0, x1, y1 } : null;
}

/**
 * Resamples a w×h image to nw×nh, one axis at a time: each output pixel
 * averages the source area it covers when shrinking (so thin strokes fade
 * rather than vanish), and interpolates bilinearly when enlarging.
 */
export function resize(src: Float32Array, w: number, h: number, nw: number, nh: number): Float32Array {
  const rows = new Float32Array(nw * h);
  const wx = weights(w, nw);
  for (let y = 0; y < h; y++) apply(wx, src, y * w, 1, rows, y * nw, 1);
  const out = new Float32Array(nw * nh);
  const wy = weights(h, nh);
  for (let x = 0; x < nw; x++) apply(wy, rows, x, nw, out, x, nw);
  return out;
}

/** Per output index, the source indices and their weights (summing to 1). */
type Taps = { idx: number[]; wt: number[] }[];

function weights(n: number, m: number): Taps {
  const taps: Taps = [];
  const ratio = n / m;
  for (let j = 0; j < m; j++) {
    const idx: number[] = [];
    const wt: number[] = [];
    if (m < n) {
      const lo = j * ratio;
      const hi = (j + 1) * ratio;
      for (let i = Math.floor(lo); i < Math.min(n, Math.ceil(hi)); i++) {
        const overlap = Math.min(hi, i + 1) - Math.max(lo, i);
        if (overlap > 0) {
          idx.push(i);
          wt.push(overlap / ratio);
        }
      }
    } else {
      // Pixel centres line up: output j's centre maps to source coordinate c.
      const c = Math.min(n - 1, Math.max(0, (j + 0.5) * ratio - 0.5));
      const i0 = Math.floor(c);
      const f = c - i0;
      idx.push(i0, Math.min(n - 1, i0 + 1));
      wt.push(1 - f, f);
    }
    taps.push({ idx, wt });
  }
  return taps;
}

function apply(taps: Taps, src: Float32Array, s0: number, sStride: number, dst: Float32Array, d0: number, dStride: number): void {
  taps.forEach(({ idx, wt }, j) => {
    let acc = 0;
    for (let k = 0; k < idx.length; k++) acc += wt[k] * src[s0 + idx[k] * sStride];
    dst[d0 + j * dStride] = Math.min(1, Math.max(0, acc));
  });
}

/** Centre of mass in continuous coordinates: pixel (x, y) covers [x, x+1) × [y, y+1). */
export function centerOfMass(pixels: ArrayLike<number>, w: number, h: number): { x: number; y: number; mass: number } {
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = pixels[y * w + x];
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  return mass > 0 ? { x: mx / mass, y: my / mass, mass } : { x: w / 2, y: h / 2, mass: 0 };
}

/**
 * Places the patch in 28×28 so that its centre of mass lands on (14, 14),
 * the middle of the field, shifting by whole pixels and keeping every pixel
 * of the patch inside.
 */
function placeByMass(patch: Float32Array, pw: number, ph: number): Float32Array {
  const com = centerOfMass(patch, pw, ph);
  const mid = MNIST_SIDE / 2;
  const ox = Math.min(MNIST_SIDE - pw, Math.max(0, Math.round(mid - com.x)));
  const oy = Math.min(MNIST_SIDE - ph, Math.max(0, Math.round(mid - com.y)));
  const out = new Float32Array(MNIST_SIDE * MNIST_SIDE);
  for (let y = 0; y < ph; y++) out.set(patch.subarray(y * pw, (y + 1) * pw), (oy + y) * MNIST_SIDE + ox);
  return out;
}
