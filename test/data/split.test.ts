import { describe, expect, it } from 'vitest';
import { ValueError } from '../../src/core/errors.js';
import type { Dataset } from '../../src/data/dataset.js';
import { trainTestSplit, trainTestSplitIndices, validationSplit, validationSplitAt } from '../../src/data/split.js';

import { counts, labelsOf, range, sorted } from '../helpers/labels.js';

/** Sample i: x = [i], label i % 3. */
function ds(n: number): Dataset {
  return { x: Float32Array.from(range(n)), xShape: [n, 1], y: Int32Array.from(range(n), (i) => i % 3), yShape: [n], classes: 3 };
}

describe('trainTestSplit', () => {
  it('splits round(n*fraction) test samples, disjoint and covering, same for the same seed', () => {
    const s = trainTestSplitIndices(10, 0.25, { seed: 3 });
    expect([s.train.length, s.test.length]).toEqual([7, 3]); // round(2.5) = 3
    expect(sorted([...s.train, ...s.test])).toEqual(range(10));
    expect(trainTestSplitIndices(10, 0.25, { seed: 3 })).toEqual(s);
    expect(Array.from(trainTestSplitIndices(10, 0.25, { seed: 4 }).test)).not.toEqual(Array.from(s.test));
  });

  it('stratifies: each class within one sample of its share, and the parts are mixed', () => {
    const sizes = [50, 30, 13, 7];
    const y = labelsOf(sizes);
    const s = trainTestSplitIndices(y, 0.3, { seed: 5, stratify: true });
    expect(s.test.length).toBe(30);
    expect(sorted([...s.train, ...s.test])).toEqual(range(100));
    const c = counts(y, s.test);
    sizes.forEach((size, k) => expect(Math.abs((c.get(k) ?? 0) - size * 0.3)).toBeLessThan(1));
    // Not sorted by label: the test part starts with more than one class.
    expect(new Set(Array.from(s.test.slice(0, 10), (i) => y[i])).size).toBeGreaterThan(1);
  });

  it('splits a dataset, keeping rows with their labels', () => {
    const { train, test } = trainTestSplit(ds(20), 0.2, { seed: 9, stratify: true });
    expect([train.xShape, test.xShape]).toEqual([[16, 1], [4, 1]]);
    for (const part of [train, test]) for (let i = 0; i < part.y.length; i++) expect(part.y[i]).toBe(part.x[i] % 3);
    expect(sorted([...train.x, ...test.x])).toEqual(range(20));
  });

  it('refuses fractions that leave a part empty or are out of range', () => {
    expect(() => trainTestSplitIndices(10, 0.01)).toThrow(new ValueError('trainTestSplit: testFraction 0.01 of 10 samples gives 0 test and 10 train samples; both parts need at least one'));
    expect(() => trainTestSplitIndices(10, 0.99)).toThrow('gives 10 test and 0 train');
    expect(() => trainTestSplitIndices(10, 1)).toThrow('fraction must lie strictly between 0 and 1, got 1');
    expect(() => trainTestSplitIndices(10, 0.5, { stratify: true })).toThrow('stratify needs the class labels');
    expect(() => trainTestSplitIndices([0, 1, -1, 0], 0.5, { stratify: true })).toThrow('label -1 at index 2 is not a class index');
    const reg: Dataset = { x: new Float32Array(4), xShape: [4, 1], y: new Float32Array(4), yShape: [4] };
    expect(() => trainTestSplit(reg, 0.5, { stratify: true })).toThrow('stratify needs Int32Array class labels');
  });
});

describe('validationSplit', () => {
  it('takes the last fraction, unshuffled, as Keras does', () => {
    const { train, validation } = validationSplit(ds(10), 0.25);
    // Keras: split_at = floor(10 * 0.75) = 7
    expect(Array.from(train.x)).toEqual(range(7));
    expect(Array.from(validation.x)).toEqual([7, 8, 9]);
    expect(Array.from(validation.y)).toEqual([1, 2, 0]);
    expect(validationSplitAt(100, 0.1)).toBe(90);
    expect(validationSplitAt(3, 0.5)).toBe(1);
  });
  it('refuses a split with an empty part', () => {
    expect(() => validationSplit(ds(5), 0.9)).toThrow(new ValueError('validationSplit: fraction 0.9 of 5 samples leaves 0 for training and 5 for validation; both need at least one'));
    expect(() => validationSplit(ds(5), 1e-17)).toThrow('leaves 5 for training and 0 for validation');
    expect(validationSplit(ds(5), 0.01).validation.xShape).toEqual([1, 1]); // floor(4.95) = 4
    expect(() => validationSplitAt(5, 0)).toThrow('strictly between 0 and 1, got 0');
  });
});
