// Small seeded data sets for the experiment tests.
import { Random } from '../../src/core/random.js';
import type { Dataset } from '../../src/data/dataset.js';

/** y = 2x + 1 + N(0, 0.1²), x uniform in [0, 1]: the course's linear regression. */
export function line(n: number, seed: number): Dataset {
  const r = new Random(seed);
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = r.uniform(0, 1);
    y[i] = 2 * x[i] + 1 + r.normal(0, 0.1);
  }
  return { x, xShape: [n, 1], y, yShape: [n, 1] };
}

/**
 * Three Gaussian blobs in 2-D around (0, 50), (3, 50), (0, 53), σ 0.7 (the
 * offset of 50 makes standardising matter), with `sizes[c]` samples of class
 * c, interleaved at random.
 */
export function blobs(sizes: number[], seed: number): Dataset {
  const r = new Random(seed);
  const labels = r.shuffle(Int32Array.from(sizes.flatMap((s, c) => Array<number>(s).fill(c))));
  const n = labels.length;
  const x = new Float32Array(n * 2);
  const centres = [[0, 0], [3, 0], [0, 3]];
  for (let i = 0; i < n; i++) {
    const [cx, cy] = centres[labels[i]];
    x[i * 2] = r.normal(cx, 0.7);
    x[i * 2 + 1] = 50 + r.normal(cy, 0.7);
  }
  return { x, xShape: [n, 2], y: labels, yShape: [n], classes: 3 };
}
