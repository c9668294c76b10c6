import { describe, expect, it } from 'vitest';
import { validateDataset } from '../../src/data/dataset.js';
import { loadBuiltinMnist, loadBuiltinMnistAll } from '../../src/data/mnist.js';

// Images per digit in the `mnist` 1.1.0 package (its digits/<d>.json files).
const PER_DIGIT = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

function perClass(y: ArrayLike<number>): number[] {
  const c = new Array(10).fill(0);
  for (let i = 0; i < y.length; i++) c[y[i]]++;
  return c;
}

describe('loadBuiltinMnist', () => {
  const t0 = performance.now();
  const { train, test } = loadBuiltinMnist();
  const loadMs = performance.now() - t0;

  it('loads 8,000 / 2,000 well-formed digits quickly', () => {
    expect([train.xShape, train.yShape, test.xShape, test.yShape]).toEqual([[8000, 28, 28, 1], [8000], [2000, 28, 28, 1], [2000]]);
    expect([train.classes, test.classes]).toEqual([10, 10]);
    expect(train.y).toBeInstanceOf(Int32Array);
    validateDataset(train, 'mnist train');
    validateDataset(test, 'mnist test');
    expect(loadMs, `load took ${loadMs.toFixed(0)} ms`).toBeLessThan(2000);
  });

  it('keeps pixels in [0, 1] with real ink (not all zeros)', () => {
    for (const ds of [train, test]) {
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < ds.x.length; i++) {
        min = Math.min(min, ds.x[i]);
        max = Math.max(max, ds.x[i]);
      }
      expect([min, max]).toEqual([0, 1]);
    }
  });

  it('is stratified: each digit splits 80 / 20 to within one image', () => {
    const tr = perClass(train.y);
    const te = perClass(test.y);
    PER_DIGIT.forEach((n, d) => {
      expect(tr[d] + te[d]).toBe(n);
      expect(Math.abs(te[d] - n * 0.2)).toBeLessThan(1);
    });
    // Shuffled, not grouped by digit.
    expect(new Set(Array.from(train.y.subarray(0, 20))).size).toBeGreaterThan(3);
  });

  it('is deterministic and keeps each image with its label', () => {
    const again = loadBuiltinMnist();
    expect(again.test.y).toEqual(test.y);
    expect(again.train.x.subarray(0, 784 * 5)).toEqual(train.x.subarray(0, 784 * 5));
    // Every test image is an image of its digit in the unsplit set.
    const all = loadBuiltinMnistAll();
    const start = [0];
    PER_DIGIT.forEach((n, d) => start.push(start[d] + n));
    // A position-weighted pixel sum identifies an image (cheaper than comparing 784 values against 10,000).
    const key = (x: Float32Array, i: number) => {
      let h = 0;
      for (let j = 0; j < 784; j++) h += x[i * 784 + j] * (j + 1) * (j % 7 + 1);
      return h;
    };
    const byDigit = Array.from({ length: 10 }, (_, d) => new Set(Array.from({ length: PER_DIGIT[d] }, (_, j) => key(all.x, start[d] + j))));
    for (let i = 0; i < test.y.length; i++) expect(byDigit[test.y[i]].has(key(test.x, i))).toBe(true);
  });
});
