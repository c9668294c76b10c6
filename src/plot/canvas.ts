import { ValueError } from '../core/errors.js';

/** An 8-bit colour, each channel 0..255. */
export type Rgb = readonly [number, number, number];

/** Pixels row by row from the top-left, 4 bytes (R, G, B, A) each. */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8Array;
}

/** A pixel rectangle: columns x..x+w-1, rows y..y+h-1. */
export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** Larger than any chart or photo we expect, small enough that a typo cannot ask for gigabytes. */
export const MAX_SIDE = 16384;

/** Throws unless `image` is a well-formed RGBA image; `where` names the caller in the message. */
export function checkRgbaImage(image: RgbaImage, where: string): void {
  const { width, height, rgba } = image;
  checkSize(width, height, where);
  if (!(rgba instanceof Uint8Array)) throw new ValueError(`${where}: rgba must be a Uint8Array, got ${typeof rgba}`);
  if (rgba.length !== width * height * 4) {
    throw new ValueError(`${where}: a ${width}×${height} RGBA image needs ${width * height * 4} bytes, got ${rgba.length}`);
  }
}

export function checkSize(width: number, height: number, where: string): void {
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_SIDE) {
      throw new ValueError(`${where}: ${name} must be an integer in 1..${MAX_SIDE}, got ${v}`);
    }
  }
}

/**
 * An opaque RGBA raster with clipped drawing: every write outside the
 * image is dropped, so callers may draw partly off-canvas without checks.
 */
export class Canvas implements RgbaImage {
  readonly rgba: Uint8Array;

  /** `rgba`, if given, is drawn into in place and must hold exactly width·height·4 bytes. */
  constructor(
    readonly width: number,
    readonly height: number,
    rgba?: Uint8Array,
  ) {
    checkSize(width, height, 'Canvas');
    this.rgba = rgba ?? new Uint8Array(width * height * 4);
    checkRgbaImage(this, 'Canvas');
  }

  fill(color: Rgb): void {
    this.fillRect(0, 0, this.width, this.height, color);
  }

  /** Mixes `color` into pixel (x, y) with weight `alpha` in [0, 1]; integer coordinates. */
  blend(x: number, y: number, color: Rgb, alpha: number): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || !(alpha > 0)) return;
    const a = Math.min(alpha, 1);
    const i = (y * this.width + x) * 4;
    const p = this.rgba;
    for (let c = 0; c < 3; c++) p[i + c] = Math.round(p[i + c] + (color[c] - p[i + c]) * a);
    p[i + 3] = 255;
  }

  /** Fills the integer rectangle, clipped to the canvas. */
  fillRect(x: number, y: number, w: number, h: number, color: Rgb): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    const p = this.rgba;
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) {
        const i = (yy * this.width + xx) * 4;
        p[i] = color[0];
        p[i + 1] = color[1];
        p[i + 2] = color[2];
        p[i + 3] = 255;
      }
    }
  }

  /** The colour at (x, y), for tests and inspection. */
  pixel(x: number, y: number): [number, number, number, number] {
    const i = (y * this.width + x) * 4;
    return [this.rgba[i], this.rgba[i + 1], this.rgba[i + 2], this.rgba[i + 3]];
  }
}
