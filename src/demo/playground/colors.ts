// The Playground's colour scale: orange for −1, near-white for 0, blue for +1,
// in 30 shades (its heatmap.ts quantizes so), and its grid over [−6, 6]².
// Pure.

const ORANGE = [0xf5, 0x93, 0x22];
const WHITE = [0xe8, 0xea, 0xeb];
const BLUE = [0x08, 0x77, 0xbd];
export const SHADES = 30;

/** The colour of t in [0, 1] (0 orange, ½ white, 1 blue), linear in RGB as d3's scale. */
function mix(t: number): [number, number, number] {
  const [a, b, u] = t < 0.5 ? [ORANGE, WHITE, t * 2] : [WHITE, BLUE, (t - 0.5) * 2];
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * u)) as [number, number, number];
}

/** The 31 shades, from −1 to +1. */
const PALETTE = Array.from({ length: SHADES + 1 }, (_, i) => mix(i / SHADES));

/** The shade of a value: −1 or below orange, 0 white, +1 or above blue; NaN grey. discretize snaps to the sign first, as the Playground does. */
export function shade(value: number, discretize = false): readonly [number, number, number] {
  if (Number.isNaN(value)) return [0x99, 0x99, 0x99];
  const v = discretize ? (value >= 0 ? 1 : -1) : Math.max(-1, Math.min(1, value));
  // d3's quantize over [−1, 1] into 31 bins.
  const bin = Math.min(SHADES, Math.floor(((v + 1) / 2) * (SHADES + 1)));
  return PALETTE[bin];
}

export const css = (value: number, discretize = false) => `rgb(${shade(value, discretize).join(',')})`;

/** Paints values (row-major, side × side) into RGBA pixels at the given alpha. */
export function paint(values: ArrayLike<number>, side: number, discretize: boolean, alpha = 255, into = new Uint8ClampedArray(side * side * 4)): Uint8ClampedArray {
  for (let i = 0; i < side * side; i++) {
    const [r, g, b] = shade(values[i], discretize);
    into[4 * i] = r;
    into[4 * i + 1] = g;
    into[4 * i + 2] = b;
    into[4 * i + 3] = alpha;
  }
  return into;
}

export const DOMAIN = 6;

/**
 * A side × side grid over [−6, 6]², row-major from the top: pixel (r, c) is
 * the point (−6 + 12c/(side−1), 6 − 12r/(side−1)), as the Playground samples
 * its heatmap. x, y interleaved, the layout the model takes.
 */
export function gridPoints(side: number): Float32Array {
  const out = new Float32Array(side * side * 2);
  const at = (i: number) => -DOMAIN + (2 * DOMAIN * i) / (side - 1);
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) {
      out[2 * (r * side + c)] = at(c);
      out[2 * (r * side + c) + 1] = -at(r);
    }
  }
  return out;
}

/** Where a point lands on a square canvas of `size` pixels showing [−6, 6]². */
export const toCanvas = (x: number, y: number, size: number): [number, number] => [((x + DOMAIN) / (2 * DOMAIN)) * size, ((DOMAIN - y) / (2 * DOMAIN)) * size];

/** The Playground's link width: 1 to 10 pixels for |w| from 0 to 5. */
export const linkWidth = (w: number) => 1 + (9 * Math.min(5, Math.abs(w))) / 5;
