import { describe, expect, it } from 'vitest';
import { ValueError } from '../../src/core/errors.js';
import { Random } from '../../src/core/random.js';
import { batchCount, batches } from '../../src/data/batch.js';

const all = (g: Iterable<Int32Array>) => Array.from(g, (b) => Array.from(b));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('batches', () => {
  it('yields in-order batches and keeps the last partial one', () => {
    expect(all(batches(7, 3))).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(all(batches(6, 3))).toEqual([[0, 1, 2], [3, 4, 5]]);
    expect(batchCount(7, 3)).toBe(3);
  });

  it('accepts batch size 1, n, and more than n (one batch)', () => {
    expect(all(batches(3, 1))).toEqual([[0], [1], [2]]);
    expect(all(batches(3, 3))).toEqual([[0, 1, 2]]);
    expect(all(batches(3, 100))).toEqual([[0, 1, 2]]);
    expect(batchCount(3, 100)).toBe(1);
  });

  it('shuffles every sample exactly once, deterministic per seed, new order each epoch with one rng', () => {
    const a = all(batches(50, 8, { shuffle: true, seed: 3 }));
    expect(a.map((b) => b.length)).toEqual([8, 8, 8, 8, 8, 8, 2]);
    expect(a.flat().sort((p, q) => p - q)).toEqual(range(50));
    expect(a.flat()).not.toEqual(range(50));
    expect(all(batches(50, 8, { shuffle: true, seed: 3 }))).toEqual(a);
    const rng = new Random(1);
    const e1 = all(batches(50, 50, { shuffle: true, rng }))[0];
    const e2 = all(batches(50, 50, { shuffle: true, rng }))[0];
    expect(e1).not.toEqual(e2);
    expect([...e2].sort((p, q) => p - q)).toEqual(range(50));
  });

  it('refuses bad sizes when called, not when first iterated', () => {
    expect(() => batches(0, 4)).toThrow(new ValueError('batches: need a positive number of samples, got 0'));
    expect(() => batches(10, 0)).toThrow(new ValueError('batches: batchSize must be a positive integer, got 0'));
    expect(() => batches(10, 2.5)).toThrow('got 2.5');
    expect(() => batchCount(10, -1)).toThrow('got -1');
  });
});
