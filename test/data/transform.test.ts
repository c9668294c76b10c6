import { describe, expect, it } from 'vitest';
import { ShapeError, ValueError } from '../../src/core/errors.js';
import { minMaxScaler, minMaxScalerFrom, oneHot, standardScaler, standardScalerFrom } from '../../src/data/transform.js';

const f32 = (...v: number[]) => Float32Array.from(v);
const round = (a: Float32Array) => Array.from(a, (v) => Math.round(v * 1e6) / 1e6);

describe('oneHot', () => {
  it('puts a single 1 per row at the label', () => {
    expect(Array.from(oneHot([2, 0, 1], 3))).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);
    expect(Array.from(oneHot(Int32Array.of(0), 1))).toEqual([1]);
  });
  it('names the index of a bad label', () => {
    expect(() => oneHot([0, 3], 3)).toThrow(new ValueError('oneHot: label 3 at index 1 is outside [0, 3)'));
    expect(() => oneHot([0, -1], 3)).toThrow('label -1 at index 1');
    expect(() => oneHot([1.5], 3)).toThrow('label 1.5 at index 0');
    expect(() => oneHot([0], 0)).toThrow('classes must be a positive integer, got 0');
  });
});

describe('minMaxScaler', () => {
  // 3 samples × 2 features; feature 1 is constant.
  const train = { x: f32(1, 5, 3, 5, 2, 5), xShape: [3, 2] };

  it('maps the training min and max onto exactly 0 and 1, a constant feature onto 0', () => {
    const s = minMaxScaler(train);
    expect(s.params).toEqual({ min: [1, 5], max: [3, 5], range: [0, 1] });
    expect(Array.from(s.transform(train.x))).toEqual([0, 0, 1, 0, 0.5, 0]);
  });

  it('applies the training statistics to other data (no refit)', () => {
    const s = minMaxScaler(train);
    expect(Array.from(s.transform(f32(5, 7, -1, 5)))).toEqual([2, 2, -1, 0]);
    const test = { x: f32(2, 6), xShape: [1, 2], y: Int32Array.of(1), yShape: [1] };
    const out = s.transformDataset(test);
    expect(Array.from(out.x)).toEqual([0.5, 1]);
    expect(out.y).toBe(test.y);
    expect(Array.from(test.x)).toEqual([2, 6]); // the input is not modified
  });

  it('takes another target range and round-trips its params through JSON', () => {
    const s = minMaxScaler(train, [-1, 1]);
    expect(Array.from(s.transform(train.x))).toEqual([-1, -1, 1, -1, 0, -1]);
    const again = minMaxScalerFrom(JSON.parse(JSON.stringify(s.params)));
    expect(Array.from(again.transform(f32(2.5, 1)))).toEqual(Array.from(s.transform(f32(2.5, 1))));
  });

  it('refuses non-finite values, a wrong feature count and a bad range', () => {
    expect(() => minMaxScaler({ x: f32(1, NaN), xShape: [1, 2] })).toThrow(new ValueError('minMaxScaler: x of sample 0, feature 1 is NaN (values must be finite)'));
    const s = minMaxScaler(train);
    expect(() => s.transform(f32(1, 2, 3))).toThrow(new ShapeError('minMaxScaler.transform: x holds 3 values, not a positive whole number of samples of 2 features'));
    expect(() => s.transform(f32(0, 0, Infinity, 0))).toThrow('x of sample 1, feature 0 is Infinity');
    expect(() => s.transformDataset({ x: f32(1, 2, 3), xShape: [1, 3] })).toThrow('fitted on 2 features, got xShape [1, 3] with 3');
    expect(() => minMaxScaler(train, [1, 1])).toThrow('lo < hi');
    expect(() => minMaxScaler({ x: f32(1, 2, 3), xShape: [2, 2] })).toThrow('xShape [2, 2] does not describe x of 3 values');
  });
});

describe('standardScaler', () => {
  it('gives zero mean and unit (population) std per feature, std 1 for a constant feature', () => {
    const train = { x: f32(1, 7, 2, 7, 3, 7, 4, 7), xShape: [4, 2] };
    const s = standardScaler(train);
    // feature 0: mean 2.5, population variance 1.25
    expect(s.params.mean).toEqual([2.5, 7]);
    expect(s.params.std[0]).toBeCloseTo(Math.sqrt(1.25), 14);
    expect(s.params.std[1]).toBe(1);
    const z = s.transform(train.x);
    const sd = Math.sqrt(1.25);
    expect(round(z)).toEqual(round(f32(-1.5 / sd, 0, -0.5 / sd, 0, 0.5 / sd, 0, 1.5 / sd, 0)));
    expect(z.every(Number.isFinite)).toBe(true);
  });

  it('fits on train only: test statistics do not leak in', () => {
    const s = standardScaler({ x: f32(0, 2), xShape: [2, 1] }); // mean 1, std 1
    expect(Array.from(s.transform(f32(101, -99)))).toEqual([100, -100]);
    expect(s.params).toEqual({ mean: [1], std: [1] });
  });

  it('keeps precision for large offsets (two-pass variance)', () => {
    const s = standardScaler({ x: f32(1e6 + 1, 1e6 + 3), xShape: [2, 1] });
    expect(s.params).toEqual({ mean: [1e6 + 2], std: [1] });
  });

  it('handles image-shaped features and rebuilds from params', () => {
    const x = f32(0, 1, 2, 3, 4, 5, 6, 7);
    const s = standardScaler({ x, xShape: [2, 2, 2] });
    expect(s.params.mean).toEqual([2, 3, 4, 5]);
    expect(s.params.std).toEqual([2, 2, 2, 2]);
    expect(Array.from(standardScalerFrom(s.params).transform(x))).toEqual([-1, -1, -1, -1, 1, 1, 1, 1]);
    expect(() => standardScalerFrom({ mean: [0], std: [0] })).toThrow('feature 0 has mean 0 and std 0 (std must be positive and finite)');
    expect(() => standardScaler({ x: f32(1, 2, Infinity, 4), xShape: [1, 2, 2] })).toThrow('x of sample 0, feature 2 (at [1, 0]) is Infinity');
  });
});
