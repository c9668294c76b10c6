import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { accumulate } from '../../src/ops/elementwise.js';
import { broadcastScalar, reduceGradAttrs, reduceMean, reduceSum, reduceSumInto } from '../../src/ops/reduce.js';
import type { ReduceOp } from '../../src/ops/reduce.js';
import { backends } from '../helpers/backends.js';
import { expectClose, FD_TOL, numericGradient, randn, reference, rng, runOn, tensor } from '../helpers/check.js';
import type { HostTensor, Tolerance } from '../helpers/check.js';

const U = 2 ** -24; // float32 unit roundoff
const gamma = (h: number) => (h * U) / (1 - h * U);
const KERNELS = { sum: reduceSum, mean: reduceMean };

/**
 * reduce_sum adds ⌈n/256⌉ strided elements in order in each of 256
 * invocations (⌈n/256⌉−1 roundings), then adds the 256 partials pairwise
 * (8 more): every element goes through at most h = ⌈n/256⌉+7 roundings, so
 * |error| ≤ γ_h·Σ|x| (Higham, eq. 4.4 for any summation tree of height h).
 * The mean multiplies by 1/n rounded to f32: two more correctly rounded
 * operations, at most (2u+u²)(1+γ_h)·Σ|x|/n < 3u·Σ|x|/n on top.
 */
function reduceTolerance(op: ReduceOp, x: HostTensor): Tolerance {
  const n = x.data.length;
  let abs = 0;
  for (const v of x.data) abs += Math.abs(v);
  const h = Math.ceil(n / 256) + 7;
  if (op === 'sum') return { atol: gamma(h) * abs, rtol: 0, why: `γ_${h}·Σ|x| bound of a summation tree of height ${h}` };
  return { atol: ((gamma(h) + 3 * U) * abs) / n, rtol: 0, why: `(γ_${h} + 3u)·Σ|x|/n: summation tree of height ${h}, then ·fl(1/n)` };
}

/** Nonzero integers: every partial sum is an integer below 2^24, so float32 sums them exactly, and a skipped or doubled element always shows. */
function integers(seed: number, shape: number[]): HostTensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(shape, Array.from({ length: n }, () => (1 + r.int(7)) * (r.next() < 0.5 ? -1 : 1)));
}

// 1, primes, around the workgroup size of 256, a batch of 60000, a rank-3 tensor and a large one.
const SHAPES: number[][] = [[1], [7], [13], [255], [256], [257], [1000], [60000], [3, 7, 13], [1 << 21]];
const OPS: ReduceOp[] = ['sum', 'mean'];

describe.each(backends)('reductions on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  for (const op of OPS) {
    it.each(SHAPES.map((s) => [s]))(`reduce ${op}: random values, shape %j`, async (shape) => {
      const r = rng(shape.reduce((a, b) => a * 31 + b, 5));
      for (const [lo, hi] of [[-1, 1], [0, 100]]) {
        const x = randn(r, shape, lo, hi);
        const [got] = await runOn(be, KERNELS[op], [x], {});
        const [want] = reference(KERNELS[op], [x], {});
        expectClose(got, want, reduceTolerance(op, x), `reduce ${op} [${shape}] in [${lo}, ${hi}]`);
      }
    });

    it.each([[1], [257], [60000], [1 << 21]])(`reduce ${op}: integers summed exactly, n=%i`, async (n) => {
      const x = integers(n, [n]);
      const [got] = await runOn(be, KERNELS[op], [x], {});
      let s = 0;
      for (const v of x.data) s += v;
      // The sum is exact; the mean is fl(s · fl(1/n)), two correctly rounded operations.
      if (op === 'sum') expect(got[0]).toBe(s);
      else expectClose(got, [s / n], { atol: 0, rtol: 2 * U + U * U, why: 'exact integer sum times fl(1/n): two roundings' }, 'mean');
    });
  }

  // reduceSumInto is reduceSum then accumulate in one launch: the same sum, rounded, scaled and added the same way.
  it.each([[1], [7], [257], [60000]])('reduceSumInto adds α·Σx to its accumulator, as reduceSum then accumulate, n=%i', async (n) => {
    const r = rng(n + 3);
    const x = randn(r, [n], -1, 1);
    const start = tensor([1], [12.375]);
    for (const alpha of [1, 0.5, -3]) {
      const [got] = await runOn(be, reduceSumInto, [x], { alpha }, [start]);
      const [sum] = await runOn(be, reduceSum, [x], {});
      const [want] = await runOn(be, accumulate, [tensor([1], sum)], { alpha }, [start]);
      // The same operations in the same order; a compiler may contract the multiply-add in one shader and not the other.
      expectClose(got, want, { atol: 0, rtol: 2 * U, why: 'same f32 operations, at most one contraction apart' }, `α=${alpha}`);
      const [ref] = reference(reduceSumInto, [x], { alpha }, [start]);
      expectClose(got, ref, { atol: Math.abs(alpha) * (reduceTolerance('sum', x).atol as number) + 2 * U * 20, rtol: 2 * U, why: 'the sum\'s bound, scaled, and two roundings' }, `α=${alpha} reference`);
    }
  });

  // 1, primes, a partial workgroup, and more than 65535 workgroups of 256 (2-D dispatch).
  it.each([[[1], 1], [[7], -2.5], [[13, 7], 1 / 91], [[257], 0.1], [[60000], 1 / 60000], [[65536, 257], 3]])(
    'broadcastScalar to %j, scale %d',
    async (shape, scale) => {
      const g = tensor([1], [-1.7]);
      const [got] = await runOn(be, broadcastScalar, [g], { shape, scale });
      const [want] = reference(broadcastScalar, [g], { shape, scale });
      // scale is rounded to f32 when packed, then one f32 multiply: two roundings.
      expectClose(got, want, { atol: 0, rtol: 2 * U + U * U, why: 'fl(fl(scale)·g): two roundings' }, `broadcast ${shape}`);
      expect(got.every((v) => v === got[0])).toBe(true);
    },
  );

  it('refuses non-f32 inputs, a g that is not [1], bad shapes and non-finite scales', () => {
    const xi = be.allocate([4], 'i32');
    const one = be.allocate([1]);
    expect(() => be.run(reduceSum, [xi], [be.allocate([1])], {})).toThrow(/reduceSum: x must be f32, got i32\[4\]/);
    expect(() => be.run(reduceMean, [be.allocate([4])], [be.allocate([4])], {})).toThrow(/reduceMean: output 0 must be f32\[1\], got f32\[4\]/);
    expect(() => be.run(broadcastScalar, [be.allocate([2])], [be.allocate([2])], { shape: [2], scale: 1 })).toThrow(
      /broadcastScalar: g must be f32\[1\], got f32\[2\]/,
    );
    expect(() => be.run(broadcastScalar, [one], [be.allocate([3])], { shape: [2], scale: 1 })).toThrow(/output 0 must be f32\[2\], got f32\[3\]/);
    expect(() => be.run(broadcastScalar, [one], [be.allocate([1])], { shape: [0], scale: 1 })).toThrow(/broadcastScalar: empty tensor \[0\]/);
    expect(() => be.run(broadcastScalar, [one], [be.allocate([2])], { shape: [2], scale: Infinity })).toThrow(/scale must be a finite number, got Infinity/);
    expect(() => be.run(reduceSumInto, [be.allocate([3])], [be.allocate([1])], { alpha: NaN })).toThrow(/reduceSumInto: alpha must be a finite number, got NaN/);
    // More than one workgroup sums right on llvmpipe: refused, not summed wrongly.
    expect(() => reduceSum.outputs([{ shape: [4097, 1024], dtype: 'f32' }], {})).toThrow(/reduceSum: at most 4,194,304 values in one launch, got f32\[4097, 1024\]/);
  });
});

describe('reduction gradients (CPU reference vs finite differences)', () => {
  // L = g·reduce(x): dL/dx = broadcastScalar(g) with reduceGradAttrs.
  it.each([[[1]], [[7]], [[3, 5]]])('d(g·reduce(x))/dx for shape %j', (shape) => {
    const r = rng(11);
    const x = randn(r, shape);
    const g = tensor([1], [0.75]);
    for (const op of OPS) {
      const loss = (v: Float64Array) => reference(KERNELS[op], [{ info: x.info, data: v as never }], {})[0][0] * g.data[0];
      const [dx] = reference(broadcastScalar, [g], reduceGradAttrs(op, shape));
      expectClose(dx, numericGradient(loss, Float64Array.from(x.data)), FD_TOL, `d${op}/dx`);
    }
  });
});
