import { Random } from '../../src/core/random.js';

export const sorted = (a: ArrayLike<number>) => Array.from(a).sort((p, q) => p - q);
export const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** How many of the samples `idx` fall in each class. */
export function counts(labels: ArrayLike<number>, idx: ArrayLike<number>): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < idx.length; i++) m.set(labels[idx[i]], (m.get(labels[idx[i]]) ?? 0) + 1);
  return m;
}

/** Imbalanced labels: class c has sizes[c] samples, interleaved at random. */
export function labelsOf(sizes: number[], seed = 1): Int32Array {
  const y = Int32Array.from(sizes.flatMap((s, c) => Array(s).fill(c)));
  return new Random(seed).shuffle(y);
}
