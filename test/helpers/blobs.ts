import { Random } from '../../src/core/random.js';

/**
 * Three Gaussian blobs in 4-D, means 2 apart on their own axis (distance 2.83),
 * σ 0.6: a pair is confused with probability Φ(−2.36) ≈ 0.9%, so the best
 * possible accuracy is about 98%; a trained MLP must pass 90%. Sample i is of
 * class i mod 3. The model tests' data (Sequential and functional).
 */
export function blobs(n: number, seed: number) {
  const r = new Random(seed);
  const x = new Float32Array(n * 4);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 3;
    for (let j = 0; j < 4; j++) x[i * 4 + j] = r.normal(j === y[i] ? 2 : 0, 0.6);
  }
  return { x: { data: x, shape: [n, 4] }, y: { data: y, shape: [n] } };
}
