// Each first-layer unit's weights, one per input pixel, drawn as an image:
// blue where a lit pixel pushes the unit down, red where it pushes it up.
import { $ } from './dom.js';

const MAX_UNITS = 48;
const COLUMNS = 12;
const GAP = 2;

export function showWeights(kernel: Float32Array, units: number, side: number): void {
  const canvas = $<HTMLCanvasElement>('weights');
  const shown = Math.min(units, MAX_UNITS);
  const cols = Math.min(shown, COLUMNS);
  const rows = Math.ceil(shown / cols);
  const tile = side + GAP;
  canvas.hidden = false;
  canvas.width = cols * tile - GAP;
  canvas.height = rows * tile - GAP;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(canvas.width, canvas.height);
  img.data.fill(255);
  for (let u = 0; u < shown; u++) {
    // Each unit on its own scale, the pattern mattering more than the magnitude:
    // ±2.5 root-mean-squares spans the colours, so one outlier cannot wash out the rest.
    let sq = 0;
    for (let p = 0; p < side * side; p++) sq += kernel[p * units + u] ** 2;
    const max = 2.5 * Math.sqrt(sq / (side * side)) || 1;
    const x0 = (u % cols) * tile;
    const y0 = Math.floor(u / cols) * tile;
    for (let p = 0; p < side * side; p++) {
      const v = Math.max(-1, Math.min(1, kernel[p * units + u] / max));
      const at = 4 * ((y0 + Math.floor(p / side)) * canvas.width + x0 + (p % side));
      const t = Math.abs(v);
      // White at zero, towards #d62728 (positive) or #1f77b4 (negative).
      const [r, g, b] = v >= 0 ? [214, 39, 40] : [31, 119, 180];
      img.data[at] = Math.round(255 + (r - 255) * t);
      img.data[at + 1] = Math.round(255 + (g - 255) * t);
      img.data[at + 2] = Math.round(255 + (b - 255) * t);
    }
  }
  ctx.putImageData(img, 0, 0);
  $('weights-note').textContent = `${shown} of ${units} first-layer units; each tile is one unit's ${side * side} weights (red: ink there excites the unit, blue: inhibits it), on its own scale.`;
}
