import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { initialize, orthogonal } from '../../src/nn/initializers.js';

/* Keras' Orthogonal: the recurrent kernels' default. */

/** The Gram matrix of the rows (rowsFirst) or the columns of a [rows, cols] matrix. */
function gram(m: Float32Array, rows: number, cols: number, ofRows: boolean): number[][] {
  const [n, len] = ofRows ? [rows, cols] : [cols, rows];
  const at = (i: number, k: number) => (ofRows ? m[i * cols + k] : m[k * cols + i]);
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => {
    let s = 0;
    for (let k = 0; k < len; k++) s += at(i, k) * at(j, k);
    return s;
  }));
}

describe('orthogonal', () => {
  it.each([
    [4, 16, true],
    [16, 4, false],
    [7, 7, true],
    [1, 3, true],
    [64, 256, true],
  ] as const)('[%i, %i]: the %s are orthonormal', (rows, cols, ofRows) => {
    const m = orthogonal(rows, cols, new Random(3));
    const g = gram(m, rows, cols, ofRows);
    // float32 storage of float64 Gram–Schmidt: each entry of the Gram matrix within a few float32 ulps × the length.
    g.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - (i === j ? 1 : 0)), `(${i}, ${j})`).toBeLessThan(1e-5)));
  });

  it('is what initialize gives for the name, seeded, and differs between seeds', () => {
    expect(initialize('orthogonal', 12, 3, 4, new Random(1))).toEqual(orthogonal(3, 4, new Random(1)));
    expect(orthogonal(3, 4, new Random(1))).not.toEqual(orthogonal(3, 4, new Random(2)));
  });
});
