// Drawing the next token from a model's prediction: what `webgrad generate`
// and the demo's GPT page both do, one character at a time. Browser-safe.
import type { Random } from '../core/random.js';

/** A class drawn from probabilities p sharpened by 1/temperature (0: the likeliest). */
export function sampleToken(p: ArrayLike<number>, temperature: number, r: Random): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
  if (temperature === 0) return best;
  // p^(1/T), scaled by the largest first so that a small T cannot overflow or underflow to all zeros.
  const w = Array.from(p, (v) => (v > 0 ? Math.exp((Math.log(v) - Math.log(p[best])) / temperature) : 0));
  let u = r.next() * w.reduce((a, b) => a + b, 0);
  for (let i = 0; i < w.length; i++) {
    u -= w[i];
    if (u < 0) return i;
  }
  return best;
}
