import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShapeError, ValueError } from '../../src/core/errors.js';
import { Random } from '../../src/core/random.js';
import type { Dataset } from '../../src/data/dataset.js';
import { describeFeature, gatherRows, shuffleDataset, take, validateDataset } from '../../src/data/dataset.js';

/** n samples of 3 features; sample i is [i, 10i, 100i] with label i % 3. */
function toy(n = 5): Dataset {
  const x = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) x.set([i, 10 * i, 100 * i], 3 * i);
  return { x, xShape: [n, 3], y: Int32Array.from({ length: n }, (_, i) => i % 3), yShape: [n], classes: 3, classNames: ['a', 'b', 'c'] };
}

describe('validateDataset', () => {
  it('accepts a well-formed classification and regression set', () => {
    expect(() => validateDataset(toy())).not.toThrow();
    const reg: Dataset = { x: new Float32Array(4), xShape: [2, 2], y: Float32Array.of(0.5, -1, 2, 3), yShape: [2, 2] };
    expect(() => validateDataset(reg)).not.toThrow();
    const oneHot: Dataset = { x: new Float32Array(2), xShape: [2, 1], y: Float32Array.of(1, 0, 0, 1), yShape: [2, 2], classes: 2 };
    expect(() => validateDataset(oneHot)).not.toThrow();
  });

  it('names the sample and feature of a NaN or Inf', () => {
    const ds = toy();
    ds.x[2 * 3 + 1] = NaN;
    expect(() => validateDataset(ds, 'train')).toThrow(new ValueError('train: x of sample 2, feature 1 is NaN (values must be finite)'));
    const img: Dataset = { x: new Float32Array(2 * 2 * 3), xShape: [2, 2, 3], y: new Int32Array(2), yShape: [2] };
    img.x[6 + 5] = -Infinity; // sample 1, flat feature 5 = row 1, column 2
    expect(() => validateDataset(img)).toThrow('dataset: x of sample 1, feature 5 (at [1, 2]) is -Infinity');
    const reg: Dataset = { x: new Float32Array(4), xShape: [2, 2], y: Float32Array.of(0, 1, Infinity, 3), yShape: [2, 2] };
    expect(() => validateDataset(reg, 'r')).toThrow('r: y of sample 1, target 0 is Infinity');
  });

  it('refuses ragged sizes, bad labels and empty sets', () => {
    const ds = toy();
    expect(() => validateDataset({ ...ds, x: new Float32Array(14) })).toThrow(new ShapeError('dataset: x holds 14 values but xShape [5, 3] needs 15'));
    expect(() => validateDataset({ ...ds, y: new Int32Array(4), yShape: [4] })).toThrow('x has 5 samples but y has 4');
    expect(() => validateDataset({ ...ds, yShape: [5, 1] })).toThrow('Int32Array class labels need yShape [n], got [5, 1]');
    expect(() => validateDataset({ ...ds, y: Int32Array.of(0, 1, 2, 3, 0) })).toThrow(new ValueError('dataset: label of sample 3 is 3 (labels must lie in [0, 3))'));
    expect(() => validateDataset({ ...ds, y: Int32Array.of(0, -1, 0, 0, 0), classes: undefined, classNames: undefined })).toThrow('label of sample 1 is -1 (labels must be >= 0)');
    expect(() => validateDataset({ ...ds, classNames: ['a'] })).toThrow('1 class names for 3 classes');
    expect(() => validateDataset({ x: new Float32Array(0), xShape: [0, 3], y: new Int32Array(0), yShape: [0] }, 'test')).toThrow('test: empty set');
    expect(() => validateDataset({ ...ds, xShape: [5, 1.5] as number[] })).toThrow('bad dimension 1.5');
    expect(() => validateDataset({ ...ds, y: new Float32Array(5) })).toThrow('classes is 3 but y is Float32Array [5]');
  });
});

describe('take / shuffleDataset / gatherRows', () => {
  it('takes rows in the given order, repeats allowed, and keeps class info', () => {
    const t = take(toy(), [4, 0, 4]);
    expect(Array.from(t.x)).toEqual([4, 40, 400, 0, 0, 0, 4, 40, 400]);
    expect(t.xShape).toEqual([3, 3]);
    expect(Array.from(t.y)).toEqual([1, 0, 1]);
    expect(t.y).toBeInstanceOf(Int32Array);
    expect([t.classes, t.classNames]).toEqual([3, ['a', 'b', 'c']]);
  });

  it('refuses out-of-range, fractional and no indices', () => {
    expect(() => take(toy(), [0, 5])).toThrow(new ValueError('take: index 5 at position 1 is outside [0, 5)'));
    expect(() => take(toy(), [0.5])).toThrow('index 0.5 at position 0');
    expect(() => take(toy(), [])).toThrow('no indices');
  });

  it('shuffles deterministically from a seed, keeping x and y together', () => {
    const ds = toy(50);
    const a = shuffleDataset(ds, 7);
    const b = shuffleDataset(ds, new Random(7));
    const c = shuffleDataset(ds, 8);
    expect(Array.from(a.x)).toEqual(Array.from(b.x));
    expect(Array.from(a.x)).not.toEqual(Array.from(c.x));
    expect(Array.from(a.x)).not.toEqual(Array.from(ds.x));
    const firsts = Array.from({ length: 50 }, (_, i) => a.x[3 * i]);
    expect([...firsts].sort((p, q) => p - q)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    firsts.forEach((v, i) => expect(a.y[i]).toBe(v % 3));
  });

  it('gathers rows into a given buffer and refuses one too small', () => {
    const out = new Float32Array(6);
    expect(Array.from(gatherRows(Float32Array.of(0, 1, 2, 3, 4, 5), 2, [2, 0], out))).toEqual([4, 5, 0, 1, 0, 0]);
    expect(() => gatherRows(new Float32Array(6), 2, [0, 1], new Float32Array(3))).toThrow('out holds 3 values, 2 rows of 2 need 4');
  });

  it('describes features of multi-dimensional samples by coordinates', () => {
    expect(describeFeature([9, 4], 3)).toBe('feature 3');
    expect(describeFeature([9, 2, 3, 4], 23)).toBe('feature 23 (at [1, 2, 3])');
  });
});

describe('browser safety', () => {
  // Node-only modules: the readers of files. Everything else may reach the browser.
  const NODE_ONLY = new Set(['idx.ts', 'csv.ts', 'mnist.ts', 'node.ts']);
  const dir = join(import.meta.dirname, '../../src/data');
  it.each(readdirSync(dir).filter((f) => !NODE_ONLY.has(f)))('%s imports no node: module', (file) => {
    const src = readFileSync(join(dir, file), 'utf8');
    expect(src).not.toMatch(/from '(node:|fs|path|zlib)/);
    for (const m of src.matchAll(/from '\.\/([\w-]+)\.js'/g)) expect(NODE_ONLY.has(`${m[1]}.ts`), `${file} imports ${m[1]}`).toBe(false);
  });
});
