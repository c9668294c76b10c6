// Which link of the network diagram is under the pointer. The links are
// drawn on one canvas (network.ts), so there is no element to hover: each is
// the cubic Bézier from (x0, y0) to (x1, y1) with both control points at the
// middle x, flattened here into short segments and measured against.
// Pure: the page and the unit tests share it.

export interface Curve {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Segments per curve: a link is at most a few hundred pixels long, so each is a few pixels, well under the tolerance's curvature error. */
const SEGMENTS = 24;

/** The point at t on the link's curve. */
export function curvePoint(c: Curve, t: number): [number, number] {
  const mid = (c.x0 + c.x1) / 2;
  const u = 1 - t;
  const [b0, b1, b2, b3] = [u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t];
  return [b0 * c.x0 + (b1 + b2) * mid + b3 * c.x1, (b0 + b1) * c.y0 + (b2 + b3) * c.y1];
}

function segmentDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len = dx * dx + dy * dy;
  const t = len === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** The index of the curve nearest (x, y) within `tolerance` pixels, or -1. */
export function curveAt(curves: readonly Curve[], x: number, y: number, tolerance: number): number {
  let best = -1;
  let bestDistance = tolerance;
  curves.forEach((c, i) => {
    // The curve stays inside the box of its ends: most links are skipped here.
    if (x < Math.min(c.x0, c.x1) - tolerance || x > Math.max(c.x0, c.x1) + tolerance) return;
    if (y < Math.min(c.y0, c.y1) - tolerance || y > Math.max(c.y0, c.y1) + tolerance) return;
    let [ax, ay] = curvePoint(c, 0);
    for (let s = 1; s <= SEGMENTS; s++) {
      const [bx, by] = curvePoint(c, s / SEGMENTS);
      const d = segmentDistance(x, y, ax, ay, bx, by);
      if (d <= bestDistance) [best, bestDistance] = [i, d];
      [ax, ay] = [bx, by];
    }
  });
  return best;
}
