import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import type { Pool2dAttrs } from '../../src/ops/pool.js';
import {
  avgPool2d,
  avgPool2dBackward,
  globalAvgPool2d,
  globalAvgPool2dBackward,
  maxPool2d,
  maxPool2dBackward,
  poolGeometry,
} from '../../src/ops/pool.js';
import { f32 } from '../../src/core/shape.js';
import { backends } from '../helpers/backends.js';
import { expectClose, FD_TOL, numericGradient, randn, reference, rng, runOn, tensor } from '../helpers/check.js';
import type { HostTensor, Tolerance } from '../helpers/check.js';
import type { Kernel } from '../../src/ops/kernel.js';

// Tables of kernels with different attributes.
type AnyKernel = Kernel<any>;

const U = 2 ** -24; // float32 unit roundoff
const gamma = (h: number) => (h * U) / (1 - h * U);
const EXACT: Tolerance = { atol: 0, rtol: 0, why: 'max and routing are exact: the GPU must match bit for bit' };

const abs = (t: HostTensor): HostTensor => ({ info: t.info, data: t.data.map(Math.abs) as Float32Array });

/** Windows that can contain one input element, per axis ⌈pool/stride⌉. */
function overlap({ poolSize: [ph, pw], strides: [sh, sw] = [ph, pw] }: Pool2dAttrs): number {
  return Math.ceil(ph / sh) * Math.ceil(pw / sw);
}

/**
 * A sum of k float32 terms in order errs by at most γ_{k−1}·Σ|terms| (Higham
 * 4.4); WGSL's f32 division by the (exact) count adds 2.5 ulp ≤ 5u. So
 * |error| ≤ γ_{k+5}·Σ|terms|, where Σ|terms| is the same op run on |inputs|
 * in float64. Per element, so a wrong window (an O(1) error) still fails.
 */
function sumTolerance(terms: number, absRef: Float64Array, what: string): Tolerance {
  return { atol: absRef.map((a) => gamma(terms + 5) * a), rtol: 0, why: `${what}: γ_${terms + 5}·Σ|terms|, ${terms} f32 additions and one division` };
}

type Case = readonly [shape: number[], attrs: Pool2dAttrs];

// 1×1 images, odd sizes, 'valid' dropping the last row and column, 'same' padding bottom/right or (pool 4) 1 top and 2 bottom,
// overlapping windows, a pool as large as the input, stride > pool (rows in no window), 1, 3 and prime channel counts.
const CASES: Case[] = [
  [[1, 1, 1, 1], { poolSize: [1, 1] }],
  [[2, 1, 1, 3], { poolSize: [2, 2], padding: 'same' }],
  [[1, 7, 7, 1], { poolSize: [2, 2] }],
  [[2, 7, 7, 3], { poolSize: [2, 2], padding: 'same' }],
  [[3, 13, 13, 5], { poolSize: [3, 3], strides: [2, 2] }],
  [[1, 13, 13, 7], { poolSize: [3, 3], strides: [2, 2], padding: 'same' }],
  [[2, 6, 7, 13], { poolSize: [4, 4], strides: [1, 1], padding: 'same' }],
  [[2, 7, 5, 3], { poolSize: [7, 5] }],
  [[1, 9, 11, 2], { poolSize: [3, 2], strides: [1, 3], padding: 'same' }],
  [[1, 8, 8, 1], { poolSize: [2, 2], strides: [3, 3] }],
  [[64, 26, 26, 32], { poolSize: [2, 2] }],
  [[64, 26, 26, 32], { poolSize: [3, 3], strides: [2, 2], padding: 'same' }],
];
const label = ([shape, a]: Case) => `x [${shape}] pool [${a.poolSize}] strides [${a.strides ?? a.poolSize}] ${a.padding ?? 'valid'}`;
const named = CASES.map((c) => [label(c), c] as const);

/** Small integers: ties in almost every window, and every sum of dy exact, so routing must match bit for bit. */
function integers(seed: number, shape: number[], levels: number): HostTensor {
  const r = rng(seed);
  return tensor(shape, Array.from({ length: shape.reduce((a, b) => a * b) }, () => r.int(levels)));
}

describe.each(backends)('pooling on %s', (name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  it.each(named)('maxPool2d and its backward, %s', async (_l, [shape, attrs]) => {
    const r = rng(shape.reduce((a, b) => a * 31 + b));
    const x = randn(r, shape);
    const [y] = await runOn(be, maxPool2d, [x], attrs);
    const [yRef] = reference(maxPool2d, [x], attrs);
    expectClose(y, yRef, EXACT, 'maxPool2d');
    const yT = tensor([...maxPool2d.outputs([x.info], attrs)[0].shape], yRef);
    const dy = randn(r, [...yT.info.shape]);
    const [dx] = await runOn(be, maxPool2dBackward, [x, yT, dy], attrs);
    const absRef = reference(maxPool2dBackward, [x, yT, abs(dy)], attrs)[0];
    const k = overlap(attrs);
    const tol: Tolerance = k === 1 ? EXACT : { atol: absRef.map((a) => gamma(k - 1) * a), rtol: 0, why: `γ_${k - 1}·Σ|dy|: up to ${k} windows add up` };
    expectClose(dx, reference(maxPool2dBackward, [x, yT, dy], attrs)[0], tol, 'maxPool2dBackward');
  });

  it.each(named)('maxPool2d with ties (integers 0..2), %s', async (_l, [shape, attrs]) => {
    const x = integers(shape.length + shape[1] * 7, shape, 3);
    const [y] = await runOn(be, maxPool2d, [x], attrs);
    const [yRef] = reference(maxPool2d, [x], attrs);
    expectClose(y, yRef, EXACT, 'maxPool2d');
    const yT = tensor([...maxPool2d.outputs([x.info], attrs)[0].shape], yRef);
    const dy = integers(5, [...yT.info.shape], 1000);
    const [dx] = await runOn(be, maxPool2dBackward, [x, yT, dy], attrs);
    expectClose(dx, reference(maxPool2dBackward, [x, yT, dy], attrs)[0], EXACT, 'maxPool2dBackward (integer dy: exact sums)');
  });

  it.each(named)('avgPool2d and its backward, %s', async (_l, [shape, attrs]) => {
    const r = rng(shape.reduce((a, b) => a * 17 + b));
    const x = randn(r, shape);
    const [y] = await runOn(be, avgPool2d, [x], attrs);
    const [ph, pw] = attrs.poolSize;
    expectClose(y, reference(avgPool2d, [x], attrs)[0], sumTolerance(ph * pw, reference(avgPool2d, [abs(x)], attrs)[0], 'window mean'), 'avgPool2d');
    const battrs = { ...attrs, inputSize: [shape[1], shape[2]] as const };
    const dy = randn(r, [...avgPool2d.outputs([x.info], attrs)[0].shape]);
    const [dx] = await runOn(be, avgPool2dBackward, [dy], battrs);
    const tol = sumTolerance(overlap(attrs), reference(avgPool2dBackward, [abs(dy)], battrs)[0], 'Σ dy/count');
    expectClose(dx, reference(avgPool2dBackward, [dy], battrs)[0], tol, 'avgPool2dBackward');
  });

  const GLOBAL = [[1, 1, 1, 1], [1, 7, 7, 3], [3, 13, 13, 5], [2, 1, 9, 13], [64, 26, 26, 32]];
  it.each(GLOBAL)('globalAvgPool2d and its backward, x [%i, %i, %i, %i]', async (...shape) => {
    const r = rng(shape.reduce((a, b) => a * 13 + b));
    const x = randn(r, shape);
    const [y] = await runOn(be, globalAvgPool2d, [x], {});
    const hw = shape[1] * shape[2];
    expectClose(y, reference(globalAvgPool2d, [x], {})[0], sumTolerance(hw, reference(globalAvgPool2d, [abs(x)], {})[0], 'image mean'), 'globalAvgPool2d');
    const attrs = { inputSize: [shape[1], shape[2]] as const };
    const dy = randn(r, [shape[0], shape[3]]);
    const [dx] = await runOn(be, globalAvgPool2dBackward, [dy], attrs);
    const tol: Tolerance = { atol: 0, rtol: 5 * U, why: 'one WGSL f32 division dy/(h·w): 2.5 ulp ≤ 5u' };
    expectClose(dx, reference(globalAvgPool2dBackward, [dy], attrs)[0], tol, 'globalAvgPool2dBackward');
  });

  // More than 65535 workgroups of 256: the dispatch folds into 2-D, for each of the four entry points (the global
  // ops launch avg_pool and avg_pool_backward). Pool 1 keeps it cheap; integers keep it exact. GPU only: 10 s on the CPU.
  it.runIf(name === 'webgpu')('folds large launches into a 2-D grid (16,785,409 elements)', async () => {
    const shape = [1, 4097, 4097, 1];
    const attrs: Pool2dAttrs = { poolSize: [1, 1] };
    const x = integers(1, shape, 100);
    const exact = { ...EXACT, why: 'pool 1 on integers: every result is exact' };
    const launches: [AnyKernel, HostTensor[], object][] = [
      [maxPool2d, [x], attrs],
      [avgPool2d, [x], attrs],
      [maxPool2dBackward, [x, x, x], attrs],
      [avgPool2dBackward, [x], { ...attrs, inputSize: [4097, 4097] }],
    ];
    for (const [kernel, inputs, a] of launches) {
      const [got] = await runOn(be, kernel, inputs, a);
      expectClose(got, x.data, exact, kernel.name);
    }
  });

  it('refuses bad ranks, attributes and sizes by name', () => {
    const x = be.allocate([1, 3, 3, 2]);
    const run = (k: AnyKernel, a: unknown, ins = [x], out = [1, 1, 1, 2]) => () => be.run(k, ins, [be.allocate(out)], a);
    expect(run(maxPool2d, { poolSize: [2, 2] }, [be.allocate([3, 3, 2])])).toThrow(/maxPool2d: x must be f32\[batch, height, width, channels\] \(NHWC\), got f32\[3, 3, 2\]/);
    expect(run(avgPool2d, { poolSize: [4, 2] })).toThrow(/avgPool2d: poolSize \[4, 2\] does not fit in x f32\[1, 3, 3, 2\] with padding 'valid' \(the output would be 0×1\); use padding 'same'/);
    expect(run(maxPool2d, { poolSize: [0, 2] })).toThrow(/maxPool2d: poolSize must be two positive integers \[rows, cols\], got \[0,2\]/);
    expect(run(maxPool2d, { poolSize: [2, 2], strides: [1.5, 1] })).toThrow(/maxPool2d: strides must be two positive integers/);
    expect(run(maxPool2d, { poolSize: [2, 2], strides: [-1, 1] })).toThrow(/maxPool2d: strides must be two positive integers/);
    expect(run(maxPool2d, { poolSize: [2, 2], padding: 'SAME' })).toThrow(/maxPool2d: padding must be 'valid' or 'same', got "SAME"/);
    expect(run(maxPool2d, { poolSize: [2, 2] }, [x], [1, 2, 2, 2])).toThrow(/maxPool2d: output 0 must be f32\[1, 1, 1, 2\], got f32\[1, 2, 2, 2\]/);
    const y = be.allocate([1, 1, 1, 2]);
    expect(run(maxPool2dBackward, { poolSize: [2, 2] }, [x, be.allocate([1, 2, 2, 2]), y], [1, 3, 3, 2])).toThrow(
      /maxPool2dBackward: y must be maxPool2d\(x\), f32\[1, 1, 1, 2\], got f32\[1, 2, 2, 2\]/,
    );
    expect(run(maxPool2dBackward, { poolSize: [2, 2] }, [x, y, be.allocate([1, 1, 2, 2])], [1, 3, 3, 2])).toThrow(
      /maxPool2dBackward: dy must be f32\[1, 1, 1, 2\], the shape of the pooled output, got f32\[1, 1, 2, 2\]/,
    );
    expect(run(avgPool2dBackward, { poolSize: [2, 2], inputSize: [5, 5] }, [y], [1, 5, 5, 2])).toThrow(/avgPool2dBackward: dy must be f32\[1, 2, 2, 2\]/);
    expect(run(avgPool2dBackward, { poolSize: [2, 2] }, [y], [1, 3, 3, 2])).toThrow(/avgPool2dBackward: inputSize must be two positive integers/);
    expect(run(globalAvgPool2d, {}, [be.allocate([3, 2])], [3, 2])).toThrow(/globalAvgPool2d: x must be f32\[batch, height, width, channels\]/);
    expect(run(globalAvgPool2dBackward, { inputSize: [3, 3] }, [y], [1, 3, 3, 2])).toThrow(/globalAvgPool2dBackward: dy must be f32\[batch, channels\], got f32\[1, 1, 1, 2\]/);
  });
});

describe('pooling CPU reference, by hand', () => {
  const row = (v: number[], h = 1) => tensor([1, h, v.length / h, 1], v);
  const pool = (k: Kernel<Pool2dAttrs>, x: HostTensor, attrs: Pool2dAttrs) => Array.from(reference(k, [x], attrs)[0]);

  it("computes TensorFlow's output size and padding split", () => {
    const geo = (h: number, p: number, s: number, padding: 'valid' | 'same') =>
      poolGeometry('t', f32([1, h, 1, 1]), { poolSize: [p, 1], strides: [s, 1], padding });
    expect([geo(7, 2, 2, 'valid').oh, geo(7, 2, 2, 'same').oh, geo(13, 3, 2, 'valid').oh, geo(13, 3, 2, 'same').oh]).toEqual([3, 4, 6, 7]);
    // 'same' pads max((oh − 1)·s + p − h, 0): 1 → 0 top; 3 → 1 top (2 bottom); 2 → 1; stride > pool: 0.
    expect([geo(7, 2, 2, 'same').top, geo(5, 4, 1, 'same').top, geo(13, 3, 2, 'same').top, geo(8, 2, 3, 'same').top]).toEqual([0, 1, 1, 0]);
  });

  it("pools 'same' with the smaller half of the padding first, over the real elements only", () => {
    // [1 2 3 4 5], pool 4 stride 1: 3 padded, 1 left and 2 right. Windows {1,2,3} {1..4} {2..5} {3,4,5} {4,5}.
    const attrs: Pool2dAttrs = { poolSize: [1, 4], strides: [1, 1], padding: 'same' };
    expect(pool(avgPool2d, row([1, 2, 3, 4, 5]), attrs)).toEqual([2, 2.5, 3.5, 4, 4.5]);
    expect(pool(maxPool2d, row([1, 2, 3, 4, 5]), attrs)).toEqual([3, 4, 5, 5, 5]);
    // The same along rows.
    const rows: Pool2dAttrs = { poolSize: [4, 1], strides: [1, 1], padding: 'same' };
    expect(pool(avgPool2d, row([1, 2, 3, 4, 5], 5), rows)).toEqual([2, 2.5, 3.5, 4, 4.5]);
    // 3×3, pool 2 stride 2: 1 padded row at the bottom, 1 column at the right; means over 4, 2, 2 and 1 elements.
    const x = row([1, 2, 3, 4, 5, 6, 7, 8, 9], 3);
    expect(pool(maxPool2d, x, { poolSize: [2, 2], padding: 'same' })).toEqual([5, 6, 8, 9]);
    expect(pool(avgPool2d, x, { poolSize: [2, 2], padding: 'same' })).toEqual([3, 4.5, 7.5, 9]);
    expect(pool(avgPool2d, x, { poolSize: [2, 2] })).toEqual([3]);
    expect(pool(avgPool2d, x, { poolSize: [3, 3], strides: [1, 1], padding: 'same' })).toEqual([3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7]);
  });

  it('keeps channels and batch apart (NHWC)', () => {
    // Two images 2×2 of 2 channels: channel 1 is −channel 0, image 1 is image 0 + 10.
    const x = tensor([2, 2, 2, 2], [1, -1, 4, -4, 2, -2, 3, -3, 11, -11, 14, -14, 12, -12, 13, -13]);
    expect(pool(maxPool2d, x, { poolSize: [2, 2] })).toEqual([4, -1, 14, -11]);
    expect(Array.from(reference(globalAvgPool2d, [x], {})[0])).toEqual([2.5, -2.5, 12.5, -12.5]);
  });

  it('gives a tied window its whole gradient at the first max in row-major order', () => {
    const back = (v: number[], h: number, attrs: Pool2dAttrs, dy: number[]) => {
      const x = row(v, h);
      const y = tensor([...maxPool2d.outputs([x.info], attrs)[0].shape], reference(maxPool2d, [x], attrs)[0]);
      return Array.from(reference(maxPool2dBackward, [x, y, tensor([...y.info.shape], dy)], attrs)[0]);
    };
    expect(back([3, 1, 3, 3], 2, { poolSize: [2, 2] }, [1])).toEqual([1, 0, 0, 0]);
    expect(back([1, 3, 3, 0], 2, { poolSize: [2, 2] }, [1])).toEqual([0, 1, 0, 0]);
    expect(back([0, 0, 0, 0], 2, { poolSize: [2, 2] }, [5])).toEqual([5, 0, 0, 0]);
    // 'same' at the right edge: the window is {x2, x3} (then padding); the tie goes to x2.
    expect(back([0, 1, 7, 7], 1, { poolSize: [1, 2], padding: 'same' }, [2, 3])).toEqual([0, 2, 3, 0]);
    // Overlapping windows that share one max add up: 9 is the max of all four 2×2 windows of a 3×3.
    expect(back([1, 2, 3, 4, 9, 5, 6, 7, 8], 3, { poolSize: [2, 2], strides: [1, 1] }, [1, 10, 100, 1000])).toEqual([0, 0, 0, 0, 1111, 0, 0, 0, 0]);
    // Overlapping windows with ties: windows {3,3,3,3} and {3,3,3,3} share x1 and x4; the first max is x0 in one, x1 in the other.
    expect(back([3, 3, 3, 3, 3, 3], 2, { poolSize: [2, 2], strides: [1, 1] }, [1, 10])).toEqual([1, 10, 0, 0, 0, 0]);
  });

  it('spreads the average gradient over the real elements of each window', () => {
    const dx = reference(avgPool2dBackward, [tensor([1, 1, 2, 1], [6, 4])], { poolSize: [1, 3], strides: [1, 2], padding: 'same', inputSize: [1, 3] })[0];
    // 'same', w 3, pool 3 stride 2: 2 windows, padding 2 split 1|1: {x0, x1} and {x1, x2}, each mean over 2.
    expect(Array.from(dx)).toEqual([3, 5, 2]);
    expect(Array.from(reference(globalAvgPool2dBackward, [tensor([1, 2], [4, -8])], { inputSize: [2, 1] })[0])).toEqual([2, -4, 2, -4]);
  });
});

describe('pooling gradients (CPU reference vs finite differences)', () => {
  /** Distinct values at least 0.1 apart, shuffled: no ties, so max is differentiable at eps = 1e-6. */
  function distinct(seed: number, shape: number[]): HostTensor {
    const r = rng(seed);
    const v = Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => 0.1 * i - 1);
    for (let i = v.length - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [v[i], v[j]] = [v[j], v[i]];
    }
    return tensor(shape, v);
  }

  /** d/dx of Σ forward(x) ⊙ G, numerically, against the backward kernel's output. */
  function check(forward: AnyKernel, x: HostTensor, attrs: object, backward: (g: HostTensor) => Float64Array) {
    const gShape = [...forward.outputs([x.info], attrs)[0].shape];
    const g = randn(rng(7), gShape);
    const loss = (v: Float64Array) => {
      const [y] = reference(forward, [{ info: x.info, data: v as never }], attrs);
      return y.reduce((s, yi, i) => s + yi * g.data[i], 0);
    };
    expectClose(backward(g), numericGradient(loss, Float64Array.from(x.data)), FD_TOL, `d/dx of ${forward.name}`);
  }

  const SMALL: Case[] = [
    [[1, 3, 3, 1], { poolSize: [2, 2], padding: 'same' }],
    [[2, 5, 4, 3], { poolSize: [3, 3], strides: [2, 2], padding: 'same' }],
    [[1, 5, 5, 2], { poolSize: [3, 3], strides: [1, 1] }],
    [[1, 4, 6, 1], { poolSize: [4, 4], strides: [1, 1], padding: 'same' }],
    [[1, 7, 7, 1], { poolSize: [2, 2], strides: [3, 3] }],
    [[1, 3, 2, 2], { poolSize: [3, 2] }],
  ];
  it.each(SMALL.map((c) => [label(c), c] as const))('maxPool2d and avgPool2d, %s', (_l, [shape, attrs]) => {
    const x = distinct(shape[1] * 10 + shape[2], shape);
    const y = tensor([...maxPool2d.outputs([x.info], attrs)[0].shape], reference(maxPool2d, [x], attrs)[0]);
    check(maxPool2d, x, attrs, (g) => reference(maxPool2dBackward, [x, y, g], attrs)[0]);
    check(avgPool2d, x, attrs, (g) => reference(avgPool2dBackward, [g], { ...attrs, inputSize: [shape[1], shape[2]] })[0]);
  });

  it.each([[1, 1, 1, 1], [2, 3, 4, 3], [1, 5, 1, 2]])('globalAvgPool2d, x [%i, %i, %i, %i]', (...shape) => {
    const x = distinct(3, shape);
    check(globalAvgPool2d, x, {}, (g) => reference(globalAvgPool2dBackward, [g], { inputSize: [shape[1], shape[2]] })[0]);
  });
});
