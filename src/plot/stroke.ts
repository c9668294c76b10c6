import type { Canvas, Rect, Rgb } from './canvas.js';

export interface StrokeOptions {
  /** Line width in pixels. */
  width: number;
  /** [on, off] lengths in pixels along the line; solid when absent. */
  dash?: readonly [number, number];
  /** Radius of the dot drawn for a run of a single point. */
  dotRadius: number;
}

/**
 * Draws connected runs of points (pixel coordinates, x right, y down) inside
 * `clip`, anti-aliased. Each pixel's coverage is its distance to the nearest
 * segment, and the maximum over all segments is blended once: joints are not
 * painted twice, so a line has the same weight everywhere. Dashes follow the
 * length along the run, so they continue smoothly across segments.
 */
export function strokeRuns(
  canvas: Canvas,
  clip: Rect,
  runs: readonly (readonly [number, number])[][],
  color: Rgb,
  opts: StrokeOptions,
): void {
  const cover = new Float32Array(clip.w * clip.h);
  for (const run of runs) {
    if (run.length === 1) {
      coverSegment(cover, clip, run[0], run[0], opts.dotRadius, 0, undefined);
      continue;
    }
    let along = 0;
    for (let i = 1; i < run.length; i++) {
      coverSegment(cover, clip, run[i - 1], run[i], opts.width / 2, along, opts.dash);
      along += Math.hypot(run[i][0] - run[i - 1][0], run[i][1] - run[i - 1][1]);
    }
  }
  for (let y = 0; y < clip.h; y++) {
    for (let x = 0; x < clip.w; x++) {
      const c = cover[y * clip.w + x];
      if (c > 0) canvas.blend(clip.x + x, clip.y + y, color, c);
    }
  }
}

function coverSegment(
  cover: Float32Array,
  clip: Rect,
  a: readonly [number, number],
  b: readonly [number, number],
  half: number,
  along: number,
  dash: readonly [number, number] | undefined,
): void {
  const reach = half + 1;
  // Bounding box of the segment, widened by the line's reach, in clip coordinates.
  const x0 = Math.max(0, Math.floor(Math.min(a[0], b[0]) - reach - clip.x));
  const x1 = Math.min(clip.w - 1, Math.ceil(Math.max(a[0], b[0]) + reach - clip.x));
  const y0 = Math.max(0, Math.floor(Math.min(a[1], b[1]) - reach - clip.y));
  const y1 = Math.min(clip.h - 1, Math.ceil(Math.max(a[1], b[1]) + reach - clip.y));
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const len = Math.sqrt(len2);
  for (let y = y0; y <= y1; y++) {
    const py = clip.y + y + 0.5;
    for (let x = x0; x <= x1; x++) {
      const px = clip.x + x + 0.5;
      const t = len2 > 0 ? Math.min(1, Math.max(0, ((px - a[0]) * dx + (py - a[1]) * dy) / len2)) : 0;
      const dist = Math.hypot(px - a[0] - t * dx, py - a[1] - t * dy);
      const c = Math.min(1, half + 0.5 - dist);
      if (c <= 0) continue;
      if (dash) {
        const phase = (along + t * len) % (dash[0] + dash[1]);
        if (phase > dash[0]) continue;
      }
      const i = y * clip.w + x;
      if (c > cover[i]) cover[i] = c;
    }
  }
}
